//! Observations y*: from `--y 1.5,0.0` or from a CSV file with the y columns (or a `label` column
//! for one-hot problems).

use std::path::Path;

use tch::{Kind, Tensor};

use super::table::{read_table, Table};
use crate::error::{Error, Result};

/// Parses one observation given as comma-separated numbers; `names` are the model's y columns.
pub fn parse_observation(text: &str, names: &[String]) -> Result<Tensor> {
    let values = text
        .split(',')
        .map(|part| {
            let part = part.trim();
            match part.parse::<f64>() {
                Ok(value) if value.is_finite() => Ok(value),
                _ => Err(Error::invalid(format!("--y: '{part}' is not a finite number"))),
            }
        })
        .collect::<Result<Vec<f64>>>()?;
    if values.len() != names.len() {
        return Err(Error::invalid(format!(
            "--y has {} values, the model's observations have {} ({})",
            values.len(),
            names.len(),
            names.join(", ")
        )));
    }
    Ok(Tensor::from_slice(&values).to_kind(Kind::Float).view([1, -1]))
}

/// Reads observations from CSV: the columns `names`, or a `label` column whose value (0-based) picks
/// the hot entry of a one-hot y.
pub fn read_observations(path: &Path, names: &[String]) -> Result<Tensor> {
    Ok(read_observations_noting_ignored(path, names)?.0)
}

/// [`read_observations`], and the file's columns that it did not read (besides `obs`, an index).
pub fn read_observations_noting_ignored(path: &Path, names: &[String]) -> Result<(Tensor, Vec<String>)> {
    let table = read_table(path)?;
    let by_name = names.iter().all(|name| table.position(name).is_some());
    let used = |column: &String| column == "obs" || if by_name { names.contains(column) } else { column == "label" };
    let ignored = table.names.iter().filter(|column| !used(column)).cloned().collect();
    Ok((observations_of(&table, path, names)?, ignored))
}

/// The observations in a table read from `path` (see [`read_observations`]).
fn observations_of(table: &Table, path: &Path, names: &[String]) -> Result<Tensor> {
    if names.iter().all(|name| table.position(name).is_some()) {
        return table.select(names, path);
    }
    if table.position("label").is_some() {
        let labels = table.select(&["label".to_string()], path)?.view([-1]);
        let values = Vec::<f32>::try_from(&labels)?;
        let width = names.len() as i64;
        if let Some(row) = values.iter().position(|&v| v.fract() != 0.0 || v < 0.0 || v as i64 >= width) {
            return Err(Error::csv(path, format!("row {}: label {} is not an integer in 0..{}", row + 2, values[row], width - 1)));
        }
        return Ok(labels.to_kind(Kind::Int64).one_hot(width).to_kind(Kind::Float));
    }
    let missing: Vec<&str> = names.iter().filter(|n| table.position(n).is_none()).map(String::as_str).collect();
    Err(Error::csv(path, format!("missing observation column(s) {} (the file has: {})", missing.join(", "), table.names.join(", "))))
}
