//! Box bounds of x (a prior's support), which a cINN's posterior samples are kept inside.

use serde::{Deserialize, Serialize};
use tch::Tensor;

use super::values_like;
use crate::error::{Error, Result};

/// Per column of x: the interval [low, high] it lies in, or none for an unbounded column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bounds {
    /// One entry per column of x.
    pub columns: Vec<Option<[f64; 2]>>,
}

impl Bounds {
    /// Bounds from per-column intervals; each must have low < high, both finite.
    pub fn new(columns: Vec<Option<[f64; 2]>>) -> Result<Self> {
        let bounds = Bounds { columns };
        bounds.validate()?;
        Ok(bounds)
    }

    /// Checks that each interval has low < high, both finite.
    pub fn validate(&self) -> Result<()> {
        let not_an_interval = |[low, high]: &&[f64; 2]| !(low.is_finite() && high.is_finite() && low < high);
        if let Some([low, high]) = self.columns.iter().flatten().find(not_an_interval) {
            return Err(Error::invalid(format!("bounds [{low}, {high}] are not an interval of finite numbers")));
        }
        Ok(())
    }

    /// The same interval for `width` columns.
    pub fn uniform(width: usize, low: f64, high: f64) -> Result<Self> {
        Bounds::new(vec![Some([low, high]); width])
    }

    /// Number of columns.
    pub fn columns(&self) -> usize {
        self.columns.len()
    }

    /// For each row of `x`: whether it lies inside the box (false for a row with a NaN).
    pub fn contains(&self, x: &Tensor) -> Tensor {
        let limit = |pick: fn(&[f64; 2]) -> f64, unbounded: f64| {
            let values: Vec<f64> = self.columns.iter().map(|column| column.as_ref().map_or(unbounded, pick)).collect();
            values_like(&values, x)
        };
        let (low, high) = (limit(|[low, _]| *low, f64::NEG_INFINITY), limit(|[_, high]| *high, f64::INFINITY));
        x.ge_tensor(&low).logical_and(&x.le_tensor(&high)).all_dim(1, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_rows_inside_the_box_from_rows_outside() {
        let bounds = Bounds::new(vec![Some([-3.0, 3.0]), None, Some([0.0, 1.0])]).unwrap();
        let rows = [
            ([0.0, -50.0, 0.5], true),
            ([-3.0, 1e9, 1.0], true),
            ([3.01, 0.0, 0.5], false),
            ([0.0, 0.0, -1e-6], false),
            ([-4.0, 0.0, 2.0], false),
            ([0.0, f64::NAN, 0.5], false),
        ];
        let flat: Vec<f64> = rows.iter().flat_map(|(row, _)| *row).collect();
        let x = Tensor::from_slice(&flat).view([6, 3]);
        let inside = Vec::<bool>::try_from(bounds.contains(&x)).unwrap();
        assert_eq!(inside, rows.map(|(_, expected)| expected));
    }

    #[test]
    fn refuses_an_empty_interval() {
        let error = Bounds::new(vec![Some([1.0, 1.0])]).unwrap_err().to_string();
        assert!(error.contains("[1, 1]"), "{error}");
        assert!(Bounds::uniform(2, 0.0, f64::INFINITY).is_err());
    }
}
