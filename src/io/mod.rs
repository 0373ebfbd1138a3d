//! Reading and writing files: atomic writes, CSV tables, data sets in CSV or Parquet, column selections.

pub mod atomic;
pub mod columns;
pub mod dataset;
pub mod observations;
pub mod posterior;
pub mod stream;
pub mod table;

/// Parses a count such as 4000, 1e8 or 100_000 (a positive whole number).
pub fn parse_count(text: &str) -> Result<i64, String> {
    let cleaned = text.trim().replace('_', "");
    let value: f64 = cleaned.parse().map_err(|_| format!("'{text}' is not a number"))?;
    if !(value.is_finite() && value >= 1.0 && value.fract() == 0.0 && value < 9.0e18) {
        return Err(format!("'{text}' is not a positive whole number"));
    }
    Ok(value as i64)
}
