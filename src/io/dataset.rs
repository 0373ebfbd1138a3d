//! Data sets of numeric columns in CSV or Parquet: one file, a folder of shards, or a glob pattern.
//!
//! Only the selected columns are read, straight into float32 columns, so 10^7 rows of a dozen columns
//! take about half a gigabyte. Parquet shards as written by pyarrow, Spark, Dask or Ray are read
//! through the `parquet` crate's Arrow reader.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, Float32Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use tch::{Kind, Tensor};

use super::atomic;
use super::table::{parse_cell, read_header, record_error, write_table};
use crate::error::{Error, Result};

/// Rows per Parquet row group when writing.
const PARQUET_ROW_GROUP: usize = 1 << 20;

/// The two file formats, told apart by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// Apache Parquet.
    Parquet,
}

impl Format {
    /// The format of `path` by its extension (`.csv`, `.parquet` or `.pq`).
    pub fn of(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "parquet" | "pq" => Some(Format::Parquet),
            _ => None,
        }
    }

    fn of_file(path: &Path) -> Result<Format> {
        Format::of(path)
            .ok_or_else(|| Error::invalid(format!("{}: unknown data format: expected a .csv, .parquet or .pq file", path.display())))
    }
}

/// The files of a data set, in the order their rows are read.
#[derive(Debug, Clone, PartialEq)]
pub struct DataFiles {
    /// What the user gave: a file, a folder or a glob pattern.
    pub spec: String,
    /// The files it names, sorted.
    pub files: Vec<PathBuf>,
}

/// Data files below `folder` (recursively), skipping hidden and `_`-prefixed entries such as Spark's
/// `_SUCCESS` and checksum files.
fn files_below(folder: &Path, found: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(folder).map_err(|source| Error::io(folder, source))?;
    for entry in entries {
        let path = entry.map_err(|source| Error::io(folder, source))?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.starts_with('.') || name.starts_with('_') {
            continue;
        }
        if path.is_dir() {
            files_below(&path, found)?;
        } else if Format::of(&path).is_some() {
            found.push(path);
        }
    }
    Ok(())
}

impl DataFiles {
    /// Resolves a data set given as a file, a folder of shards or a glob pattern (`runs/*.parquet`).
    pub fn resolve(spec: &str) -> Result<DataFiles> {
        let path = Path::new(spec);
        let mut files = Vec::new();
        if spec.contains(['*', '?', '[']) {
            let paths = glob::glob(spec).map_err(|error| Error::invalid(format!("--data '{spec}': {error}")))?;
            for path in paths {
                let path = path.map_err(|error| Error::io(error.path(), std::io::Error::other(error.to_string())))?;
                if path.is_file() {
                    Format::of_file(&path)?;
                    files.push(path);
                }
            }
        } else if path.is_dir() {
            files_below(path, &mut files)?;
        } else {
            std::fs::metadata(path).map_err(|source| Error::io(path, source))?;
            Format::of_file(path)?;
            files.push(path.to_path_buf());
        }
        if files.is_empty() {
            return Err(Error::invalid(format!("--data '{spec}' names no .csv or .parquet file")));
        }
        files.sort();
        Ok(DataFiles { spec: spec.to_string(), files })
    }

    /// The column names of the first file.
    pub fn header(&self) -> Result<Vec<String>> {
        let path = &self.files[0];
        match Format::of_file(path)? {
            Format::Csv => read_header(&mut csv_reader(path)?, path),
            Format::Parquet => {
                let builder = parquet_builder(path)?;
                Ok(builder.schema().fields().iter().map(|field| field.name().clone()).collect())
            }
        }
    }

    /// The named columns of every file, rows of all files in order: float32, [rows, names.len()].
    /// Every cell must be a finite number.
    pub fn read(&self, names: &[String]) -> Result<Tensor> {
        let all = self.read_first(names, usize::MAX)?;
        if all.size()[0] == 0 {
            return Err(Error::invalid(format!("--data '{}' has no rows", self.spec)));
        }
        Ok(all)
    }

    /// The first `limit` rows of [`DataFiles::read`], reading no further than they need.
    pub fn read_first(&self, names: &[String], limit: usize) -> Result<Tensor> {
        let mut columns: Vec<Vec<f32>> = vec![Vec::new(); names.len()];
        let rows = |columns: &[Vec<f32>]| columns.first().map_or(0, Vec::len);
        for path in &self.files {
            if rows(&columns) >= limit {
                break;
            }
            read_chunks(path, names, &mut |chunk| {
                for (column, values) in columns.iter_mut().zip(chunk) {
                    column.extend(values);
                }
                rows(&columns) < limit
            })?;
        }
        let kept = rows(&columns).min(limit);
        columns.iter_mut().for_each(|column| column.truncate(kept));
        Ok(stack_columns(&columns))
    }

    /// Fails, naming the file, unless every file has the named columns.
    pub fn check_columns(&self, names: &[String]) -> Result<()> {
        for path in &self.files {
            let header = match Format::of_file(path)? {
                Format::Csv => read_header(&mut csv_reader(path)?, path)?,
                Format::Parquet => parquet_builder(path)?.schema().fields().iter().map(|field| field.name().clone()).collect(),
            };
            positions(names, &header, path, |path, message| Error::invalid(format!("{}: {message}", path.display())))?;
        }
        Ok(())
    }

    /// The number of rows of each file (Parquet: from its metadata; CSV: by reading its records).
    pub fn row_counts(&self) -> Result<Vec<i64>> {
        self.files
            .iter()
            .map(|path| match Format::of_file(path)? {
                Format::Csv => {
                    let mut reader = csv_reader(path)?;
                    let mut record = csv::ByteRecord::new();
                    let mut rows = 0;
                    while reader.read_byte_record(&mut record).map_err(|error| record_error(error, rows + 2, path))? {
                        rows += 1;
                    }
                    Ok(rows as i64)
                }
                Format::Parquet => Ok(parquet_builder(path)?.metadata().file_metadata().num_rows()),
            })
            .collect()
    }
}

/// Columns of equal length as one float32 tensor, [rows, columns.len()].
pub fn stack_columns(columns: &[Vec<f32>]) -> Tensor {
    let tensors: Vec<Tensor> = columns.iter().map(|column| Tensor::from_slice(column)).collect();
    Tensor::stack(&tensors, 1)
}

/// Rows per chunk of [`read_chunks`] (and per Parquet record batch read).
pub const CHUNK_ROWS: usize = 1 << 16;

/// Reads the named columns of the file at `path` in chunks of at most [`CHUNK_ROWS`] rows, in order,
/// handing each chunk's columns to `each` until it returns false. Every cell must be a finite number.
pub fn read_chunks(path: &Path, names: &[String], each: &mut dyn FnMut(Vec<Vec<f32>>) -> bool) -> Result<()> {
    match Format::of_file(path)? {
        Format::Csv => read_csv_chunks(path, names, each),
        Format::Parquet => read_parquet_chunks(path, names, each),
    }
}

fn csv_reader(path: &Path) -> Result<csv::Reader<File>> {
    let file = File::open(path).map_err(|source| Error::io(path, source))?;
    Ok(csv::ReaderBuilder::new().has_headers(true).trim(csv::Trim::All).from_reader(file))
}

/// Positions of `names` in `header`, or an error (made by `error`) naming the missing one and the file.
fn positions(names: &[String], header: &[String], path: &Path, error: fn(&Path, String) -> Error) -> Result<Vec<usize>> {
    names
        .iter()
        .map(|name| {
            header
                .iter()
                .position(|column| column == name)
                .ok_or_else(|| error(path, format!("missing column '{name}' (the file has: {})", header.join(", "))))
        })
        .collect()
}

fn read_csv_chunks(path: &Path, names: &[String], each: &mut dyn FnMut(Vec<Vec<f32>>) -> bool) -> Result<()> {
    let mut reader = csv_reader(path)?;
    let header = read_header(&mut reader, path)?;
    let positions = positions(names, &header, path, |path, message| Error::csv(path, message))?;
    let mut record = csv::StringRecord::new();
    let mut line = 1;
    let mut columns: Vec<Vec<f32>> = vec![Vec::new(); names.len()];
    loop {
        line += 1;
        let more = reader.read_record(&mut record).map_err(|error| record_error(error, line, path))?;
        let full = columns.first().map_or(0, Vec::len) == CHUNK_ROWS;
        if (!more || full) && columns.first().is_some_and(|column| !column.is_empty()) {
            let chunk = std::mem::replace(&mut columns, vec![Vec::new(); names.len()]);
            if !each(chunk) {
                return Ok(());
            }
        }
        if !more {
            return Ok(());
        }
        for ((&position, name), column) in positions.iter().zip(names).zip(columns.iter_mut()) {
            column.push(parse_cell::<f32>(&record[position], line, name, path)?);
        }
    }
}

fn parquet_builder(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<File>> {
    let file = File::open(path).map_err(|source| Error::io(path, source))?;
    ParquetRecordBatchReaderBuilder::try_new(file).map_err(|error| Error::parquet(path, format!("not a readable Parquet file: {error}")))
}

/// An Arrow column of any numeric type as float32 values, or None for other types.
fn numeric_values(array: &ArrayRef) -> Option<Vec<f32>> {
    macro_rules! convert {
        ($($kind:ty),*) => {
            $(if let Some(values) = array.as_primitive_opt::<$kind>() {
                return Some(values.values().iter().map(|&value| value as f32).collect());
            })*
        };
    }
    convert!(Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type);
    None
}

fn read_parquet_chunks(path: &Path, names: &[String], each: &mut dyn FnMut(Vec<Vec<f32>>) -> bool) -> Result<()> {
    let builder = parquet_builder(path)?;
    let header: Vec<String> = builder.schema().fields().iter().map(|field| field.name().clone()).collect();
    let wanted = positions(names, &header, path, |path, message| Error::parquet(path, message))?;
    let mask = ProjectionMask::roots(builder.parquet_schema(), wanted.iter().copied());
    let reader =
        builder.with_projection(mask).with_batch_size(CHUNK_ROWS).build().map_err(|error| Error::parquet(path, error.to_string()))?;
    let mut row = 0;
    for batch in reader {
        let batch = batch.map_err(|error| Error::parquet(path, format!("cannot read rows after row {row}: {error}")))?;
        let mut columns = Vec::with_capacity(names.len());
        for name in names {
            let array = batch.column_by_name(name).ok_or_else(|| Error::parquet(path, format!("missing column '{name}'")))?;
            if let Some(index) = (0..array.len()).find(|&index| array.is_null(index)) {
                return Err(Error::parquet(path, format!("row {}, column '{name}': the value is missing (null)", row + index + 1)));
            }
            let values = numeric_values(array)
                .ok_or_else(|| Error::parquet(path, format!("column '{name}' holds {}, not numbers", array.data_type())))?;
            if let Some(index) = values.iter().position(|value| !value.is_finite()) {
                return Err(Error::parquet(
                    path,
                    format!("row {}, column '{name}': {} is not a finite number", row + index + 1, values[index]),
                ));
            }
            columns.push(values);
        }
        row += batch.num_rows();
        if !each(columns) {
            return Ok(());
        }
    }
    Ok(())
}

/// Writes the columns of `values` ([rows, names.len()]) as CSV or Parquet (by the extension of
/// `path`), atomically.
pub fn write_columns(path: &Path, names: &[String], values: &Tensor) -> Result<()> {
    match Format::of_file(path)? {
        Format::Csv => write_table(path, names, &[values]),
        Format::Parquet => write_parquet(path, names, values),
    }
}

fn write_parquet(path: &Path, names: &[String], values: &Tensor) -> Result<()> {
    let fail = |error: parquet::errors::ParquetError| Error::parquet(path, error.to_string());
    let fields: Vec<Field> = names.iter().map(|name| Field::new(name, DataType::Float32, false)).collect();
    let schema = Arc::new(Schema::new(fields));
    let properties =
        WriterProperties::builder().set_compression(Compression::SNAPPY).set_max_row_group_row_count(Some(PARQUET_ROW_GROUP)).build();
    let columns: Vec<Vec<f32>> = (0..names.len() as i64)
        .map(|index| Vec::<f32>::try_from(values.select(1, index).to_kind(Kind::Float).contiguous()))
        .collect::<std::result::Result<_, _>>()?;
    let temporary = atomic::temporary_beside(path)?;
    let file = temporary.reopen().map_err(|source| Error::io(path, source))?;
    let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(properties)).map_err(fail)?;
    let rows = columns.first().map_or(0, Vec::len);
    for start in (0..rows).step_by(PARQUET_ROW_GROUP) {
        let end = (start + PARQUET_ROW_GROUP).min(rows);
        let arrays: Vec<ArrayRef> =
            columns.iter().map(|column| Arc::new(Float32Array::from(column[start..end].to_vec())) as ArrayRef).collect();
        let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|error| Error::parquet(path, error.to_string()))?;
        writer.write(&batch).map_err(fail)?;
    }
    writer.close().map_err(fail)?;
    atomic::commit(temporary, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_parquet_shards_read_back_the_same_columns() {
        let folder = tempfile::tempdir().unwrap();
        let names: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        let values = Tensor::arange(30, (Kind::Float, tch::Device::Cpu)).view([10, 3]) / 4.0;
        write_columns(&folder.path().join("part-0.parquet"), &names, &values.narrow(0, 0, 6)).unwrap();
        write_columns(&folder.path().join("part-1.csv"), &names, &values.narrow(0, 6, 4)).unwrap();
        std::fs::write(folder.path().join("_SUCCESS"), "").unwrap();
        let data = DataFiles::resolve(folder.path().to_str().unwrap()).unwrap();
        assert_eq!(data.files.len(), 2);
        assert_eq!(data.header().unwrap(), names);
        let selected = data.read(&["c".into(), "a".into()]).unwrap();
        assert!(selected.equal(&values.index_select(1, &Tensor::from_slice(&[2i64, 0]))));
        let pattern = format!("{}/*.parquet", folder.path().display());
        assert_eq!(DataFiles::resolve(&pattern).unwrap().read(&names).unwrap().size(), [6, 3]);
    }

    #[test]
    fn bad_cells_are_named() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("pairs.parquet");
        let names: Vec<String> = ["a", "b"].map(String::from).to_vec();
        write_columns(&path, &names, &Tensor::from_slice(&[1.0f32, 2.0, f32::NAN, 4.0]).view([2, 2])).unwrap();
        let error = DataFiles::resolve(path.to_str().unwrap()).unwrap().read(&names).unwrap_err().to_string();
        assert!(error.contains("row 2, column 'a': NaN is not a finite number"), "{error}");
        let error = DataFiles::resolve(path.to_str().unwrap()).unwrap().read(&["z".into()]).unwrap_err().to_string();
        assert!(error.contains("missing column 'z'"), "{error}");
        let error = DataFiles::resolve(folder.path().join("*.csv").to_str().unwrap()).unwrap_err().to_string();
        assert!(error.contains("names no .csv or .parquet file"), "{error}");
    }
}
