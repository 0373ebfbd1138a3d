//! Affine coupling blocks (RealNVP form), one-sided or GLOW-style, with optional conditioning.

use std::f64::consts::FRAC_2_PI;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use tch::{nn, Tensor};

use super::subnet::{Activation, Subnet};
use crate::error::{parse_choice, Error, Result};

/// How much of the input one coupling block transforms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CouplingKind {
    /// The seed's form: v1 = u1, v2 = u2 ⊙ exp(s(u1)) + t(u1).
    Affine,
    /// The paper's code (GLOW form): both halves transformed, each by a subnet of the other.
    Glow,
}

impl FromStr for CouplingKind {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        parse_choice(text, "coupling", &["affine", "glow"])
    }
}

/// The largest soft clamp of the log-scales: exp(±clamp) must stay finite in single precision.
pub const MAX_CLAMP: f64 = 50.0;
/// The smallest soft clamp: s/clamp must stay finite in single precision.
pub const MIN_CLAMP: f64 = 0.01;

/// Whether `clamp` lies from [`MIN_CLAMP`] to [`MAX_CLAMP`].
pub fn clamp_in_range(clamp: f64) -> bool {
    (MIN_CLAMP..=MAX_CLAMP).contains(&clamp)
}

/// The shape of every coupling block of a network.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BlockConfig {
    /// One-sided or GLOW form.
    pub coupling: CouplingKind,
    /// Width of the subnets' hidden layers.
    pub hidden: i64,
    /// Number of hidden layers per subnet.
    pub layers: usize,
    /// Non-linearity of the subnets.
    pub activation: Activation,
    /// Soft clamp of the log-scale s: s ← clamp·(2/π)·atan(s/clamp).
    pub clamp: f64,
}

/// One affine coupling block over rows of width `dim`, conditioned on `condition` extra columns.
#[derive(Debug)]
pub struct CouplingBlock {
    split: i64,
    dim: i64,
    clamp: f64,
    /// Computes (s, t) for the second half from the first half.
    second_half: Subnet,
    /// Computes (s, t) for the first half from the transformed second half (GLOW form only).
    first_half: Option<Subnet>,
}

impl CouplingBlock {
    /// Creates a block's variables under `path`; `dim` must be at least 2.
    pub fn new(path: &nn::Path, dim: i64, condition: i64, config: &BlockConfig) -> Self {
        let split = dim / 2;
        let rest = dim - split;
        let subnet = |name: &str, inputs: i64, outputs: i64| {
            Subnet::new(&(path / name), inputs + condition, 2 * outputs, config.hidden, config.layers, config.activation)
        };
        let second_half = subnet("second", split, rest);
        let first_half = (config.coupling == CouplingKind::Glow).then(|| subnet("first", rest, split));
        CouplingBlock { split, dim, clamp: config.clamp, second_half, first_half }
    }

    /// Maps u to v; returns v and log|det ∂v/∂u| per row.
    pub fn forward(&self, u: &Tensor, condition: Option<&Tensor>) -> (Tensor, Tensor) {
        let (u1, u2) = self.halves(u);
        let (s2, t2) = self.scale_shift(&self.second_half, &u1, condition);
        let v2 = &u2 * s2.exp() + t2;
        let mut log_det = s2.sum_dim_intlist(1, false, s2.kind());
        let v1 = match &self.first_half {
            Some(subnet) => {
                let (s1, t1) = self.scale_shift(subnet, &v2, condition);
                log_det += s1.sum_dim_intlist(1, false, s1.kind());
                &u1 * s1.exp() + t1
            }
            None => u1,
        };
        (Tensor::cat(&[v1, v2], 1), log_det)
    }

    /// Maps v back to u; subtracts each row's log|det ∂v/∂u| from `log_det` when one is given
    /// (sampling needs none, and skips its work).
    pub fn inverse(&self, v: &Tensor, condition: Option<&Tensor>, mut log_det: Option<&mut Tensor>) -> Tensor {
        let (v1, v2) = self.halves(v);
        let mut subtract = |s: &Tensor| {
            if let Some(log_det) = log_det.as_deref_mut() {
                *log_det -= s.sum_dim_intlist(1, false, s.kind());
            }
        };
        let u1 = match &self.first_half {
            Some(subnet) => {
                let (s1, t1) = self.scale_shift(subnet, &v2, condition);
                subtract(&s1);
                (&v1 - t1) * (-s1).exp()
            }
            None => v1,
        };
        let (s2, t2) = self.scale_shift(&self.second_half, &u1, condition);
        subtract(&s2);
        let u2 = (&v2 - t2) * (-s2).exp();
        Tensor::cat(&[u1, u2], 1)
    }

    fn halves(&self, rows: &Tensor) -> (Tensor, Tensor) {
        (rows.narrow(1, 0, self.split), rows.narrow(1, self.split, self.dim - self.split))
    }

    /// The soft-clamped log-scale s and the shift t that `subnet` computes from `input` (and the condition).
    fn scale_shift(&self, subnet: &Subnet, input: &Tensor, condition: Option<&Tensor>) -> (Tensor, Tensor) {
        let output = match condition {
            Some(condition) => subnet.forward(&Tensor::cat(&[input, condition], 1)),
            None => subnet.forward(input),
        };
        let width = output.size()[1] / 2;
        let s = output.narrow(1, 0, width);
        let t = output.narrow(1, width, width);
        let s = (s / self.clamp).atan() * (self.clamp * FRAC_2_PI);
        (s, t)
    }
}
