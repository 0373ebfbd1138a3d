//! Posterior draws from any tool, in innfer's format (`obs,<x names>`, `obs` the 0-based row of the
//! pair they were drawn for), read beside the pairs (θ*, y) whose truths they should cover.

use std::path::Path;

use tch::{Kind, Tensor};

use super::table::{read_table, Table};
use crate::error::{Error, Result};

/// The column of a posterior file that names each draw's pair.
pub const OBS_COLUMN: &str = "obs";

/// True parameters and the posterior draws of each pair.
pub struct DrawsOfPairs {
    /// The parameters, in column order.
    pub names: Vec<String>,
    /// True parameters [N, P] (the first N rows of the truth file).
    pub truth: Tensor,
    /// Draws [N, L, P].
    pub draws: Tensor,
}

/// The parameters a posterior file holds: its columns but `obs`, ABC's `distance` and re-simulated
/// `<y>_hat` ones.
fn parameters_of(names: &[String]) -> Vec<String> {
    let not_parameters = [OBS_COLUMN, "distance"];
    names.iter().filter(|name| !not_parameters.contains(&name.as_str()) && !name.ends_with("_hat")).cloned().collect()
}

/// Reads the draws at `posterior` and the truths at `truth` (which may hold more columns, y for
/// instance); `parameters` chooses the columns (default: all of the posterior file's). Every pair
/// 0…max(obs) needs the same number of draws.
pub fn read_draws_of_pairs(truth: &Path, posterior: &Path, parameters: Option<&[String]>) -> Result<DrawsOfPairs> {
    let draws_table = read_table(posterior)?;
    let names = chosen_parameters(&draws_table, parameters, posterior)?;
    let obs = draws_table.select(&[OBS_COLUMN.to_string()], posterior)?.to_kind(Kind::Double).view([-1]);
    let whole = obs.ge(0.0).logical_and(&obs.eq_tensor(&obs.round()));
    if let Some(row) = first_false(&whole) {
        let value = obs.double_value(&[row]);
        return Err(Error::csv(posterior, format!("row {}, column '{OBS_COLUMN}': {value} is not a row number (0, 1, …)", row + 2)));
    }
    let obs = obs.to_kind(Kind::Int64);
    let pairs = obs.max().int64_value(&[]) + 1;
    let truth_table = read_table(truth)?;
    let truth_values = truth_table.select(&names, truth)?;
    if truth_table.rows() < pairs as usize {
        return Err(Error::csv(
            truth,
            format!(
                "{} has draws for pair {} (obs {}), but this file has only {} rows",
                posterior.display(),
                pairs,
                pairs - 1,
                truth_table.rows()
            ),
        ));
    }
    let counts = obs.bincount::<Tensor>(None, pairs);
    let first = counts.int64_value(&[0]);
    if let Some(pair) = first_false(&counts.eq(first)) {
        return Err(Error::csv(
            posterior,
            format!("obs {pair} has {} draws, obs 0 has {first}: every pair needs the same number of draws", counts.int64_value(&[pair])),
        ));
    }
    let values = draws_table.select(&names, posterior)?;
    let order = obs.argsort_stable(true, 0, false);
    let draws = values.index_select(0, &order).view([pairs, first, names.len() as i64]);
    Ok(DrawsOfPairs { names, truth: truth_values.narrow(0, 0, pairs), draws })
}

/// The draws of observation `obs` in the draws file at `path`: the parameters (`chosen`, or every
/// column but `obs`, `distance` and `*_hat`) and their values [L, P].
pub fn read_draws_of(path: &Path, chosen: Option<&[String]>, obs: i64) -> Result<(Vec<String>, Tensor)> {
    let table = read_table(path)?;
    let names = chosen_parameters(&table, chosen, path)?;
    let values = table.select(&names, path)?;
    let index = table.select(&[OBS_COLUMN.to_string()], path)?.view([-1]).eq(obs as f64).nonzero().view([-1]);
    if index.size()[0] == 0 {
        return Err(Error::csv(path, format!("no draws of obs {obs}")));
    }
    Ok((names, values.index_select(0, &index)))
}

/// The parameters of a draws file: `chosen`, or its columns but `obs`, `distance` and `*_hat`;
/// it must have `obs`.
fn chosen_parameters(table: &Table, chosen: Option<&[String]>, path: &Path) -> Result<Vec<String>> {
    if table.position(OBS_COLUMN).is_none() {
        return Err(Error::csv(path, format!("missing column '{OBS_COLUMN}' (the 0-based row of the pair or observation of each draw)")));
    }
    let names = match chosen {
        Some(names) => names.to_vec(),
        None => parameters_of(&table.names),
    };
    if names.is_empty() {
        return Err(Error::csv(path, "no parameter columns: expected obs and one column per parameter"));
    }
    Ok(names)
}

/// The index of the first false entry of a boolean vector.
fn first_false(mask: &Tensor) -> Option<i64> {
    let bad = mask.logical_not().nonzero();
    (bad.size()[0] > 0).then(|| bad.int64_value(&[0, 0]))
}
