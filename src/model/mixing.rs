//! What mixes the columns between coupling blocks: a fixed permutation, or a learned invertible
//! linear map in LU form (GLOW's invertible 1×1 convolution, Kingma & Dhariwal 2018).

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use tch::{nn, Tensor};

use super::permutation::Permutation;
use crate::error::{parse_choice, Error, Result};

/// How the columns are mixed after each coupling block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MixingKind {
    /// A fixed random permutation (the paper's).
    #[default]
    Permute,
    /// The fixed permutation after a learned linear map W = L·(U + diag(exp(s))), L unit lower
    /// triangular, U strictly upper triangular; it starts as the identity.
    Linear,
}

impl FromStr for MixingKind {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        parse_choice(text, "mixing", &["permute", "linear"])
    }
}

/// A learned invertible linear map of the columns in LU form; log|det| = Σ s.
#[derive(Debug)]
struct LearnedLinear {
    lower: Tensor,
    upper: Tensor,
    log_scale: Tensor,
}

impl LearnedLinear {
    fn new(path: &nn::Path, dim: i64) -> Self {
        let zeros = |name: &str, shape: &[i64]| path.var(name, shape, nn::Init::Const(0.0));
        LearnedLinear { lower: zeros("lower", &[dim, dim]), upper: zeros("upper", &[dim, dim]), log_scale: zeros("log_scale", &[dim]) }
    }

    /// L (unit lower triangular) and U' = U + diag(exp(s)), with W = L·U'.
    fn factors(&self) -> (Tensor, Tensor) {
        let dim = self.log_scale.size()[0];
        let identity = Tensor::eye(dim, (self.lower.kind(), self.lower.device()));
        let lower = self.lower.tril(-1) + identity;
        let upper = self.upper.triu(1) + self.log_scale.exp().diag_embed(0, -2, -1);
        (lower, upper)
    }

    /// Rows u ↦ W u (each row a column vector), and log|det W|.
    fn forward(&self, rows: &Tensor) -> (Tensor, Tensor) {
        let (lower, upper) = self.factors();
        (rows.matmul(&upper.tr()).matmul(&lower.tr()), self.log_scale.sum(self.log_scale.kind()))
    }

    /// Rows v ↦ W⁻¹ v by two triangular solves, and log|det W|.
    fn inverse(&self, rows: &Tensor) -> (Tensor, Tensor) {
        let (lower, upper) = self.factors();
        // Solve Y·Lᵀ = V, then X·U'ᵀ = Y: X = V·L⁻ᵀ·U'⁻ᵀ, the rows of W⁻¹ v.
        let solved = lower.tr().linalg_solve_triangular(rows, true, false, true);
        let solved = upper.tr().linalg_solve_triangular(&solved, false, false, false);
        (solved, self.log_scale.sum(self.log_scale.kind()))
    }
}

/// The map between two coupling blocks: a permutation, after a learned linear map if chosen.
#[derive(Debug)]
pub struct Mixing {
    linear: Option<LearnedLinear>,
    permutation: Permutation,
}

impl Mixing {
    /// Creates the mixing's variables (if any) under `path`; `permutation` is applied last.
    pub fn new(path: &nn::Path, kind: MixingKind, permutation: Permutation, dim: i64) -> Self {
        let linear = (kind == MixingKind::Linear).then(|| LearnedLinear::new(path, dim));
        Mixing { linear, permutation }
    }

    /// Maps rows forward; adds log|det| to `log_det`.
    pub fn apply(&self, rows: &Tensor, log_det: &mut Tensor) -> Tensor {
        match &self.linear {
            Some(linear) => {
                let (mixed, linear_log_det) = linear.forward(rows);
                *log_det += linear_log_det;
                self.permutation.apply(&mixed)
            }
            None => self.permutation.apply(rows),
        }
    }

    /// Undoes [`Mixing::apply`]; subtracts log|det| from `log_det` when one is given.
    pub fn undo(&self, rows: &Tensor, log_det: Option<&mut Tensor>) -> Tensor {
        let unpermuted = self.permutation.undo(rows);
        match &self.linear {
            Some(linear) => {
                let (unmixed, linear_log_det) = linear.inverse(&unpermuted);
                if let Some(log_det) = log_det {
                    *log_det -= linear_log_det;
                }
                unmixed
            }
            None => unpermuted,
        }
    }
}
