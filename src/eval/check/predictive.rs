//! Posterior predictive check: the forward process of the draws against the observation they were
//! drawn for.

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use crate::error::Result;
use crate::problem::Problem;

/// Share of pairs below which a y column fails the check.
pub const INSIDE_AT_LEAST: f64 = 0.9;

/// What the forward process of the draws says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Predictive {
    /// Draws per pair sent through the forward process.
    pub draws_per_pair: i64,
    /// Per y column: share of pairs whose y lies in the central 95% interval of its predictive draws.
    pub inside_95: Vec<f64>,
    /// Mean distance ‖f(θ) − y‖ of the draws.
    pub resimulation_error: f64,
    /// Mean distance of a fresh simulation at the true θ (the process's own noise; 0 if deterministic).
    pub truth_resimulation_error: f64,
    /// Whether every column has at least [`INSIDE_AT_LEAST`] of the pairs inside.
    pub consistent: bool,
}

/// Simulates the first `per_pair` of the draws [N, L, P] of each pair and compares them with the
/// pair's `y` [N, dim_y]; `truth` [N, P] gives the noise floor.
pub fn predictive_check(problem: &dyn Problem, truth: &Tensor, y: &Tensor, draws: &Tensor, per_pair: i64) -> Result<Predictive> {
    let (pairs, available, width) = (draws.size()[0], draws.size()[1], draws.size()[2]);
    let per_pair = per_pair.min(available);
    let chosen = draws.narrow(1, 0, per_pair).reshape([pairs * per_pair, width]).to_kind(Kind::Float);
    let simulated = problem.simulate(&chosen)?.to_kind(Kind::Double);
    let y = y.to_device(simulated.device()).to_kind(Kind::Double);
    let simulated = simulated.view([pairs, per_pair, -1]);
    let quantiles = Tensor::from_slice(&[0.025f64, 0.975]).to_device(simulated.device());
    let bounds = simulated.quantile(&quantiles, 1, false, "linear"); // [2, N, dim_y]
    let inside = y.ge_tensor(&bounds.get(0)).logical_and(&y.le_tensor(&bounds.get(1)));
    let inside_95 = Vec::<f64>::try_from(inside.to_kind(Kind::Double).mean_dim(0, false, Kind::Double))?;
    let distance = |rows: &Tensor, y: &Tensor| {
        (rows - y).square().sum_dim_intlist(-1, false, Kind::Double).sqrt().mean(Kind::Double).double_value(&[])
    };
    let resimulation_error = distance(&simulated, &y.unsqueeze(1));
    let fresh = problem.simulate(&truth.to_kind(Kind::Float))?.to_kind(Kind::Double);
    let truth_resimulation_error = distance(&fresh, &y);
    let consistent = inside_95.iter().all(|&share| share >= INSIDE_AT_LEAST);
    Ok(Predictive { draws_per_pair: per_pair, inside_95, resimulation_error, truth_resimulation_error, consistent })
}
