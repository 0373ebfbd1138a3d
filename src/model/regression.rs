//! The cINN's linear head start: x less its least-squares prediction from y, scaled per column.
//!
//! Fitted on the (standardised) training rows, the map u = (x − [y, 1]·W) / r takes out what a linear
//! regression of x on y explains, so that the coupling blocks model only the residual. A linear-Gaussian
//! problem is then solved before training starts, and the subnets need not learn the linear part from
//! few simulations. The map is affine in x for each y, so its log-determinant is the constant −Σ log r.

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use super::{finite_single, positive_single, values_like};
use crate::error::{Error, Result};

/// Ridge added to the normal equations, relative to the number of rows (keeps collinear y solvable).
const RIDGE: f64 = 1e-6;

/// The coefficients of x on [y, 1] and the residual standard deviation of each x column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearRegression {
    /// One row per column of x: the coefficients of the columns of y, then the intercept.
    pub coefficients: Vec<Vec<f64>>,
    /// Standard deviation of each column's residual (1 where it would vanish).
    pub residual_std: Vec<f64>,
}

impl LinearRegression {
    /// Least squares of the rows of `x` on the rows of `y`.
    pub fn fit(x: &Tensor, y: &Tensor) -> Result<Self> {
        let (x, design) = (x.to_kind(Kind::Double), with_intercept(&y.to_kind(Kind::Double)));
        let rows = design.size()[0];
        let gram = design.transpose(0, 1).matmul(&design);
        let ridge = Tensor::eye(gram.size()[0], (Kind::Double, gram.device())) * (RIDGE * rows as f64);
        let weights = Tensor::linalg_solve(&(gram + ridge), &design.transpose(0, 1).matmul(&x), true);
        let residual = &x - design.matmul(&weights);
        let std = Vec::<f64>::try_from(residual.std_dim(0, true, false))?;
        let coefficients = Vec::<Vec<f64>>::try_from(weights.transpose(0, 1).contiguous())?;
        if coefficients.iter().flatten().any(|c| !c.is_finite()) {
            return Err(Error::invalid("the linear regression of x on y did not give finite coefficients"));
        }
        let residual_std = std.into_iter().map(|s| if s.is_finite() && s > 1e-12 { s } else { 1.0 }).collect();
        Ok(LinearRegression { coefficients, residual_std })
    }

    /// Checks that every column of x has the same number of finite coefficients and a positive
    /// finite residual deviation.
    pub fn validate(&self) -> Result<()> {
        let (x, y) = self.widths();
        let rows_agree = self.coefficients.iter().all(|row| row.len() == y + 1 && row.iter().all(|&c| finite_single(c)));
        let deviations = self.residual_std.len() == x && self.residual_std.iter().all(|&s| positive_single(s));
        if x == 0 || !rows_agree || !deviations {
            return Err(Error::invalid(
                "the linear regression needs one row of finite coefficients and one positive deviation per column of x",
            ));
        }
        Ok(())
    }

    /// Widths of x and y the regression was fitted for.
    pub fn widths(&self) -> (usize, usize) {
        (self.coefficients.len(), self.coefficients.first().map_or(0, |row| row.len().saturating_sub(1)))
    }

    /// The scaled residual of `x` given `y`.
    pub fn apply(&self, x: &Tensor, y: &Tensor) -> Tensor {
        let (weights, std) = self.tensors(x);
        (x - with_intercept(y).matmul(&weights)) / std
    }

    /// The rows of x whose scaled residual given `y` is `u`.
    pub fn undo(&self, u: &Tensor, y: &Tensor) -> Tensor {
        let (weights, std) = self.tensors(u);
        u * std + with_intercept(y).matmul(&weights)
    }

    /// log|det ∂u/∂x| of `apply`, the same for every row.
    pub fn log_det(&self) -> f64 {
        -self.residual_std.iter().map(|s| s.ln()).sum::<f64>()
    }

    /// The coefficients as a [dim_y + 1, dim_x] matrix and the residual scales, like `like`.
    fn tensors(&self, like: &Tensor) -> (Tensor, Tensor) {
        let flat: Vec<f64> = self.coefficients.iter().flatten().copied().collect();
        let weights = values_like(&flat, like).view([self.coefficients.len() as i64, -1]).transpose(0, 1);
        (weights, values_like(&self.residual_std, like))
    }
}

/// The rows of `y` with a column of ones appended.
fn with_intercept(y: &Tensor) -> Tensor {
    Tensor::cat(&[y.shallow_clone(), Tensor::ones([y.size()[0], 1], (y.kind(), y.device()))], 1)
}

#[cfg(test)]
mod tests {
    use tch::Device;

    use super::*;

    #[test]
    fn recovers_a_linear_map_and_the_noise_scale_and_undoes_itself() {
        let options = (Kind::Double, Device::Cpu);
        tch::manual_seed(3);
        let y = Tensor::randn([20_000, 2], options);
        let map = Tensor::from_slice(&[1.0, -2.0, 0.5, 0.0, 3.0, 1.0]).view([2, 3]).to_kind(Kind::Double);
        let noise = Tensor::randn([20_000, 3], options) * Tensor::from_slice(&[0.1, 1.0, 2.0]);
        let x = y.matmul(&map) + 4.0 + noise;
        let regression = LinearRegression::fit(&x, &y).unwrap();
        assert_eq!(regression.widths(), (3, 2));
        for (row, expected) in regression.coefficients.iter().zip([[1.0, 0.0, 4.0], [-2.0, 3.0, 4.0], [0.5, 1.0, 4.0]]) {
            for (got, want) in row.iter().zip(expected) {
                assert!((got - want).abs() < 0.05, "{row:?} vs {expected:?}");
            }
        }
        for (got, want) in regression.residual_std.iter().zip([0.1, 1.0, 2.0]) {
            assert!((got / want - 1.0).abs() < 0.03, "{:?}", regression.residual_std);
        }
        let u = regression.apply(&x, &y);
        let stds = Vec::<f64>::try_from(u.std_dim(0, true, false)).unwrap();
        assert!(stds.iter().all(|s| (s - 1.0).abs() < 1e-6), "{stds:?}");
        assert!(regression.undo(&u, &y).allclose(&x, 1e-9, 1e-9, false));
        let expected_log_det = -(0.1f64.ln() + 2.0f64.ln());
        assert!((regression.log_det() - expected_log_det).abs() < 0.05, "{}", regression.log_det());
    }
}
