//! Per-column standardisation of x and y with statistics of the training set, of the logarithm for
//! columns of positive quantities.

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use super::{finite_single, positive_single, values_like};
use crate::error::{Error, Result};

/// Column means and standard deviations; `apply` maps data to zero mean and unit variance (taking
/// the logarithm first of the columns marked in `log`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standardiser {
    /// Column means (of the logarithm, for a logged column).
    pub mean: Vec<f64>,
    /// Column standard deviations (1 for constant columns).
    pub std: Vec<f64>,
    /// Which columns are logged first; empty when none is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log: Vec<bool>,
}

impl Standardiser {
    /// The identity on `columns` columns.
    pub fn identity(columns: usize) -> Self {
        Standardiser { mean: vec![0.0; columns], std: vec![1.0; columns], log: Vec::new() }
    }

    /// Statistics of the rows of `data`.
    pub fn fit(data: &Tensor) -> Self {
        Standardiser::fit_logged(data, Vec::new())
    }

    /// Statistics of the rows of `data`, of the logarithm of the columns marked in `log` (none when
    /// it is empty or all false). Every value of a logged column must be positive.
    pub fn fit_logged(data: &Tensor, log: Vec<bool>) -> Self {
        let log = if log.iter().any(|&logged| logged) { log } else { Vec::new() };
        let logged = Standardiser { mean: Vec::new(), std: Vec::new(), log };
        let data = logged.take_logs(&data.to_kind(Kind::Double));
        let mean = Vec::<f64>::try_from(data.mean_dim(0, false, Kind::Double)).unwrap_or_default();
        let std = Vec::<f64>::try_from(data.std_dim(0, true, false)).unwrap_or_default();
        let std = std.into_iter().map(|s| if s.is_finite() && s > 1e-12 { s } else { 1.0 }).collect();
        Standardiser { mean, std, ..logged }
    }

    /// Checks that there are as many finite means as positive finite deviations (`what` names the
    /// standardised quantity in the error).
    pub fn validate(&self, what: &str) -> Result<()> {
        let finite = self.mean.iter().all(|&m| finite_single(m));
        let positive = self.std.iter().all(|&s| positive_single(s));
        if self.mean.len() != self.std.len() || !finite || !positive {
            return Err(Error::invalid(format!("the standardisation of {what} needs as many finite means as positive finite deviations")));
        }
        if !self.log.is_empty() && self.log.len() != self.mean.len() {
            return Err(Error::invalid(format!(
                "the standardisation of {what} marks {} columns to log, not {}",
                self.log.len(),
                self.mean.len()
            )));
        }
        Ok(())
    }

    /// Number of columns.
    pub fn columns(&self) -> usize {
        self.mean.len()
    }

    /// (data − mean) / std, of log(data) in the logged columns.
    pub fn apply(&self, data: &Tensor) -> Tensor {
        let (mean, std) = self.tensors(data);
        (self.take_logs(data) - mean) / std
    }

    /// data · std + mean, exponentiated in the logged columns.
    pub fn undo(&self, data: &Tensor) -> Tensor {
        let (mean, std) = self.tensors(data);
        let values = data * std + mean;
        match self.log_mask(&values) {
            Some(mask) => values.exp().where_self(&mask, &values),
            None => values,
        }
    }

    /// log|det| of [`Standardiser::apply`]'s Jacobian at each row of `data`: −Σ log std, less the
    /// logarithms of the logged values (the Jacobian of log). [rows].
    pub fn log_jacobian(&self, data: &Tensor) -> Tensor {
        let constant = -self.std.iter().map(|s| s.ln()).sum::<f64>();
        let rows = Tensor::full([data.size()[0]], constant, (data.kind(), data.device()));
        match self.log_mask(data) {
            Some(mask) => rows - self.take_logs(data).where_self(&mask, &data.zeros_like()).sum_dim_intlist(1, false, data.kind()),
            None => rows,
        }
    }

    /// `data` with the logged columns replaced by their logarithms (of at least the smallest
    /// positive float, so that a stray non-positive value gives a finite number).
    fn take_logs(&self, data: &Tensor) -> Tensor {
        match self.log_mask(data) {
            Some(mask) => data.clamp_min(f64::from(f32::MIN_POSITIVE)).log().where_self(&mask, data),
            None => data.shallow_clone(),
        }
    }

    /// [1, columns] booleans of the logged columns on `like`'s device, if any column is logged.
    fn log_mask(&self, like: &Tensor) -> Option<Tensor> {
        if self.log.is_empty() {
            return None;
        }
        Some(Tensor::from_slice(&self.log).view([1, -1]).to_device(like.device()))
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

    /// Logged columns: their logarithms are standardised, `undo` inverts `apply`, and
    /// `log_jacobian` is the log-determinant of `apply`'s Jacobian, against autograd.
    #[test]
    fn logged_columns_standardise_their_logarithms() {
        let options = (Kind::Double, Device::Cpu);
        let normal = Tensor::randn([2000, 2], options);
        // Column 0 log-normal (log-mean 1, log-sd 0.5), column 1 plain normal (mean 3, sd 2).
        let data = Tensor::stack(&[(normal.select(1, 0) * 0.5 + 1.0).exp(), normal.select(1, 1) * 2.0 + 3.0], 1);
        let scale = Standardiser::fit_logged(&data, vec![true, false]);
        assert!((scale.mean[0] - 1.0).abs() < 0.05 && (scale.std[0] - 0.5).abs() < 0.05, "{scale:?}");
        assert!((scale.mean[1] - 3.0).abs() < 0.2 && (scale.std[1] - 2.0).abs() < 0.2, "{scale:?}");
        scale.validate("x").unwrap();
        assert!(scale.undo(&scale.apply(&data)).allclose(&data, 1e-9, 1e-9, false));

        let rows = data.narrow(0, 0, 5).set_requires_grad(true);
        let standard = scale.apply(&rows);
        // apply is elementwise: its Jacobian is diagonal, each row's entries the gradients of a sum.
        let gradients = Tensor::run_backward(&[standard.sum(Kind::Double)], &[&rows], false, false);
        let expected = gradients[0].abs().log().sum_dim_intlist(1, false, Kind::Double);
        assert!(scale.log_jacobian(&rows.detach()).allclose(&expected, 1e-9, 1e-9, false));
        assert_eq!(Standardiser::fit_logged(&data, vec![false, false]).log, Vec::<bool>::new(), "no column logged: none stored");
    }
}
