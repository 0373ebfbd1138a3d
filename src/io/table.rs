//! Numeric CSV tables with a header row: read with errors that name the row and column, written atomically.

use std::collections::HashSet;
use std::path::Path;

use tch::{Kind, Tensor};

use super::atomic;
use crate::error::{Error, Result};

/// A numeric table read from CSV: column names and row-major values.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Column names, in file order.
    pub names: Vec<String>,
    /// Row-major values.
    pub values: Vec<f64>,
}

impl Table {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.values.len() / self.names.len().max(1)
    }

    /// Position of column `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    /// The named columns, in the given order, as a float tensor of shape [rows, names.len()].
    pub fn select(&self, names: &[String], path: &Path) -> Result<Tensor> {
        let positions = names
            .iter()
            .map(|name| {
                self.position(name)
                    .ok_or_else(|| Error::csv(path, format!("missing column '{name}' (the file has: {})", self.names.join(", "))))
            })
            .collect::<Result<Vec<_>>>()?;
        let all = Tensor::from_slice(&self.values).view([self.rows() as i64, self.names.len() as i64]);
        let index = Tensor::from_slice(&positions.iter().map(|&p| p as i64).collect::<Vec<_>>());
        Ok(all.index_select(1, &index).to_kind(Kind::Float))
    }
}

/// Reads a CSV file whose first row names the columns and whose cells are all finite numbers.
pub fn read_table(path: &Path) -> Result<Table> {
    let file = std::fs::File::open(path).map_err(|source| Error::io(path, source))?;
    read_table_from(file, path)
}

/// Reads the pairs (x, y) of a CSV file that holds the columns `x_names` and `y_names` (and
/// perhaps others).
pub fn read_pairs(path: &Path, x_names: &[String], y_names: &[String]) -> Result<(Tensor, Tensor)> {
    let table = read_table(path)?;
    Ok((table.select(x_names, path)?, table.select(y_names, path)?))
}

/// Reads a CSV table like [`read_table`] from any reader; `path` names it in errors.
pub fn read_table_from(input: impl std::io::Read, path: &Path) -> Result<Table> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).trim(csv::Trim::All).from_reader(input);
    let names = read_header(&mut reader, path)?;
    let mut values = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let line = index + 2;
        let record = record.map_err(|error| record_error(error, line, path))?;
        for (cell, name) in record.iter().zip(&names) {
            values.push(parse_cell::<f64>(cell, line, name, path)?);
        }
    }
    if values.is_empty() {
        return Err(Error::csv(path, "the file has a header but no rows"));
    }
    Ok(Table { names, values })
}

/// The column names of a CSV file: present, none empty, none twice.
pub(crate) fn read_header<R: std::io::Read>(reader: &mut csv::Reader<R>, path: &Path) -> Result<Vec<String>> {
    let names: Vec<String> =
        reader.headers().map_err(|error| Error::csv(path, format!("cannot read the header: {error}")))?.iter().map(str::to_owned).collect();
    if names.is_empty() || names.iter().all(String::is_empty) {
        return Err(Error::csv(path, "the file is empty: expected a header row naming the columns"));
    }
    let mut seen = HashSet::new();
    for name in &names {
        if name.is_empty() {
            return Err(Error::csv(path, "the header has an empty column name"));
        }
        if !seen.insert(name) {
            return Err(Error::csv(path, format!("column '{name}' appears twice in the header")));
        }
    }
    Ok(names)
}

/// The error for a CSV record that could not be read, at file line `line`.
pub(crate) fn record_error(error: csv::Error, line: usize, path: &Path) -> Error {
    match error.kind() {
        csv::ErrorKind::UnequalLengths { len, expected_len, .. } => {
            Error::csv(path, format!("row {line} has {len} cells, the header has {expected_len}"))
        }
        _ => Error::csv(path, format!("row {line}: {error}")),
    }
}

/// The finite number in a CSV cell, or an error naming its row (file line) and column.
pub(crate) fn parse_cell<T: std::str::FromStr + Into<f64> + Copy>(cell: &str, line: usize, name: &str, path: &Path) -> Result<T> {
    let value: T = cell.parse().map_err(|_| Error::csv(path, format!("row {line}, column '{name}': '{cell}' is not a number")))?;
    if !value.into().is_finite() {
        return Err(Error::csv(path, format!("row {line}, column '{name}': {cell} is not a finite number")));
    }
    Ok(value)
}

/// How the cells of one tensor are written.
#[derive(Clone, Copy)]
enum CellFormat {
    Integer,
    Single,
    Double,
}

/// Writes a CSV file atomically: a header, then one row per row of `columns` (each [rows, k] tensors,
/// concatenated side by side). Integer tensors are written as integers, float32 ones with the
/// shortest text that reads back to the same float32.
pub fn write_table(path: &Path, names: &[String], columns: &[&Tensor]) -> Result<()> {
    atomic::write_atomically(path, |writer| write_table_to(writer, path, names, columns))
}

/// Writes a CSV table like [`write_table`] to any writer; `path` names it in errors.
pub fn write_table_to(writer: &mut dyn std::io::Write, path: &Path, names: &[String], columns: &[&Tensor]) -> Result<()> {
    let mut csv = csv::Writer::from_writer(writer);
    csv.write_record(names).map_err(|error| Error::csv(path, error.to_string()))?;
    write_rows(&mut csv, path, names.len(), columns)?;
    csv.flush().map_err(|source| Error::io(path, source))
}

/// Writes one CSV record per row of `columns` (see [`write_table`]).
fn write_rows<W: std::io::Write>(csv: &mut csv::Writer<W>, path: &Path, width_in_all: usize, columns: &[&Tensor]) -> Result<()> {
    let parts: Vec<(Vec<f64>, usize, CellFormat)> = columns
        .iter()
        .map(|tensor| {
            let width = if tensor.dim() == 1 { 1 } else { tensor.size()[1] as usize };
            let format = match tensor.kind() {
                Kind::Float => CellFormat::Single,
                _ if tensor.is_floating_point() => CellFormat::Double,
                _ => CellFormat::Integer,
            };
            let values = Vec::<f64>::try_from(tensor.to_kind(Kind::Double).contiguous().view([-1]))?;
            Ok((values, width, format))
        })
        .collect::<Result<_>>()?;
    let rows = parts.first().map_or(0, |(values, width, _)| values.len() / (*width).max(1));
    let fail = |error: csv::Error| Error::csv(path, error.to_string());
    let mut record = Vec::with_capacity(width_in_all);
    let mut buffer = ryu::Buffer::new();
    for row in 0..rows {
        record.clear();
        for (values, width, format) in &parts {
            for &value in &values[row * width..(row + 1) * width] {
                record.push(match format {
                    CellFormat::Integer => format!("{}", value as i64),
                    CellFormat::Single => buffer.format(value as f32).to_string(),
                    CellFormat::Double => buffer.format(value).to_string(),
                });
            }
        }
        csv.write_record(&record).map_err(fail)?;
    }
    Ok(())
}

/// A CSV file written in parts, so that its rows need not all be in memory at once: it appears at
/// its path, complete, only when [`TableWriter::finish`] is called.
pub struct TableWriter {
    csv: csv::Writer<std::io::BufWriter<std::fs::File>>,
    staged: tempfile::NamedTempFile,
    path: std::path::PathBuf,
    width: usize,
}

impl TableWriter {
    /// Starts the file at `path` (staged beside it) with the header `names`.
    pub fn create(path: &Path, names: &[String]) -> Result<Self> {
        let staged = atomic::temporary_beside(path)?;
        let file = staged.reopen().map_err(|source| Error::io(staged.path(), source))?;
        let mut csv = csv::Writer::from_writer(std::io::BufWriter::new(file));
        csv.write_record(names).map_err(|error| Error::csv(path, error.to_string()))?;
        Ok(TableWriter { csv, staged, path: path.to_path_buf(), width: names.len() })
    }

    /// Appends the rows of `columns` (as in [`write_table`]).
    pub fn write(&mut self, columns: &[&Tensor]) -> Result<()> {
        write_rows(&mut self.csv, &self.path, self.width, columns)
    }

    /// Flushes the rows and moves the file into place.
    pub fn finish(mut self) -> Result<()> {
        self.csv.flush().map_err(|source| Error::io(&self.path, source))?;
        drop(self.csv);
        atomic::commit(self.staged, &self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("table.csv");
        std::fs::write(&path, text).unwrap();
        (folder, path)
    }

    #[test]
    fn reads_selects_and_round_trips() {
        let (_folder, path) = write("a, b,c\n1,2,3\n4,5,6e-1\n");
        let table = read_table(&path).unwrap();
        assert_eq!(table.names, ["a", "b", "c"]);
        let selected = table.select(&["c".into(), "a".into()], &path).unwrap();
        assert_eq!(Vec::<f32>::try_from(selected.view([-1])).unwrap(), [3.0, 1.0, 0.6, 4.0]);
        let out = path.with_file_name("out.csv");
        let obs = Tensor::from_slice(&[0i64, 1]);
        write_table(&out, &["obs".into(), "c".into(), "a".into()], &[&obs, &selected]).unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "obs,c,a\n0,3.0,1.0\n1,0.6,4.0\n");
    }

    #[test]
    fn names_the_fault() {
        let cases = [
            ("", "empty"),
            ("a,b\n", "no rows"),
            ("a,a\n1,2\n", "appears twice"),
            ("a,b\n1,2\n3\n", "row 3 has 1 cells"),
            ("a,b\n1,x\n", "row 2, column 'b': 'x' is not a number"),
            ("a,b\n1,NaN\n", "not a finite number"),
            ("a,b\n1,inf\n", "not a finite number"),
        ];
        for (text, expected) in cases {
            let (_folder, path) = write(text);
            let error = read_table(&path).unwrap_err().to_string();
            assert!(error.contains(expected) && error.contains("table.csv"), "{text:?}: {error}");
        }
        let (_folder, path) = write("a,b\n1,2\n");
        let error = read_table(&path).unwrap().select(&["c".into()], &path).unwrap_err().to_string();
        assert!(error.contains("missing column 'c'"), "{error}");
    }
}
