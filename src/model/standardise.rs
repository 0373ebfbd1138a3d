//! Per-column standardisation of x and y with statistics of the training set.

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use super::{finite_single, positive_single, values_like};
use crate::error::{Error, Result};

/// Column means and standard deviations; `apply` maps data to zero mean and unit variance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standardiser {
    /// Column means.
    pub mean: Vec<f64>,
    /// Column standard deviations (1 for constant columns).
    pub std: Vec<f64>,
}

impl Standardiser {
    /// The identity on `columns` columns.
    pub fn identity(columns: usize) -> Self {
        Standardiser { mean: vec![0.0; columns], std: vec![1.0; columns] }
    }

    /// Statistics of the rows of `data`.
    pub fn fit(data: &Tensor) -> Self {
        let data = data.to_kind(Kind::Double);
        let mean = Vec::<f64>::try_from(data.mean_dim(0, false, Kind::Double)).unwrap_or_default();
        let std = Vec::<f64>::try_from(data.std_dim(0, true, false)).unwrap_or_default();
        let std = std.into_iter().map(|s| if s.is_finite() && s > 1e-12 { s } else { 1.0 }).collect();
        Standardiser { mean, std }
    }

    /// Checks that there are as many finite means as positive finite deviations (`what` names the
    /// standardised quantity in the error).
    pub fn validate(&self, what: &str) -> Result<()> {
        let finite = self.mean.iter().all(|&m| finite_single(m));
        let positive = self.std.iter().all(|&s| positive_single(s));
        if self.mean.len() != self.std.len() || !finite || !positive {
            return Err(Error::invalid(format!("the standardisation of {what} needs as many finite means as positive finite deviations")));
        }
        Ok(())
    }

    /// Number of columns.
    pub fn columns(&self) -> usize {
        self.mean.len()
    }

    /// (data − mean) / std.
    pub fn apply(&self, data: &Tensor) -> Tensor {
        let (mean, std) = self.tensors(data);
        (data - mean) / std
    }

    /// data · std + mean.
    pub fn undo(&self, data: &Tensor) -> Tensor {
        let (mean, std) = self.tensors(data);
        data * std + mean
    }

    fn tensors(&self, like: &Tensor) -> (Tensor, Tensor) {
        (values_like(&self.mean, like), values_like(&self.std, like))
    }
}

#[cfg(test)]
mod tests {
    use tch::Device;

    use super::*;

    #[test]
    fn standardises_and_undoes() {
        let data = Tensor::randn([1000, 3], (Kind::Double, Device::Cpu)) * Tensor::from_slice(&[2.0, 0.5, 0.0]) + 3.0;
        let scale = Standardiser::fit(&data);
        assert_eq!(scale.std[2], 1.0, "a constant column keeps unit scale");
        let standard = scale.apply(&data);
        let means = Vec::<f64>::try_from(standard.mean_dim(0, false, Kind::Double)).unwrap();
        assert!(means.iter().all(|m| m.abs() < 1e-9), "{means:?}");
        let back = scale.undo(&standard);
        assert!(back.allclose(&data, 1e-12, 1e-12, false));
    }
}
