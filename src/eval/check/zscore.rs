//! Posterior z-scores and contraction per parameter (Schad, Betancourt and Vasishth 2021; BayesFlow's
//! diagnostic plot): how far the posterior mean is from the truth in posterior standard deviations,
//! and how much narrower the posterior is than the prior.

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// Every pair's z-score and contraction, [N, P] each.
pub struct PairScores {
    /// (posterior mean − truth) / posterior standard deviation.
    pub z: Tensor,
    /// 1 − posterior variance / prior variance.
    pub contraction: Tensor,
}

/// z-scores and contractions of draws [N, L, P] of pairs with true parameters `truth` [N, P]; the
/// prior's variance is that of the truths.
pub fn pair_scores(draws: &Tensor, truth: &Tensor) -> PairScores {
    let (draws, truth) = (draws.to_kind(Kind::Double), truth.to_kind(Kind::Double));
    let mean = draws.mean_dim(1, false, Kind::Double);
    let variance = draws.var_dim(1, true, false).clamp_min(1e-300);
    let prior_variance = truth.var_dim(0, true, true).clamp_min(1e-300);
    PairScores { z: (mean - truth) / variance.sqrt(), contraction: -(variance / prior_variance) + 1.0 }
}

/// One parameter's summary of its z-scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZScoreSummary {
    /// Mean z-score (0 when calibrated).
    pub mean_z: f64,
    /// Mean squared z-score (1 when calibrated: E[(mean − θ)² | y] is the posterior variance).
    pub mean_square_z: f64,
    /// Mean contraction (0: the posterior is as wide as the prior; 1: a point).
    pub contraction: f64,
    /// Mean z over its standard error.
    pub bias_score: f64,
    /// (mean z² − 1) over its standard error.
    pub spread_score: f64,
    /// Two-sided p-value of the larger of the two scores (normal tests, Bonferroni over the two).
    pub p_value: f64,
}

/// The summary of each column of `scores`.
pub fn summarise(scores: &PairScores) -> Vec<ZScoreSummary> {
    let rows = scores.z.size()[0] as f64;
    let z = &scores.z;
    let square = z.square();
    let standard_error = |values: &Tensor| values.std_dim(0, true, false).clamp_min(1e-300) / rows.sqrt();
    let bias = z.mean_dim(0, false, Kind::Double) / standard_error(z);
    let spread = (square.mean_dim(0, false, Kind::Double) - 1.0) / standard_error(&square);
    let larger = bias.abs().maximum(&spread.abs());
    let p_values = ((larger / std::f64::consts::SQRT_2).erfc() * 2.0).clamp_max(1.0);
    let column = |tensor: &Tensor| Vec::<f64>::try_from(tensor.to_kind(Kind::Double)).unwrap_or_default();
    let (mean_z, mean_square) = (column(&z.mean_dim(0, false, Kind::Double)), column(&square.mean_dim(0, false, Kind::Double)));
    let contraction = column(&scores.contraction.mean_dim(0, false, Kind::Double));
    let (bias, spread, p_values) = (column(&bias), column(&spread), column(&p_values));
    (0..mean_z.len())
        .map(|j| ZScoreSummary {
            mean_z: mean_z[j],
            mean_square_z: mean_square[j],
            contraction: contraction[j],
            bias_score: bias[j],
            spread_score: spread[j],
            p_value: p_values[j],
        })
        .collect()
}
