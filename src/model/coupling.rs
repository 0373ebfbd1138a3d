//! Coupling blocks: affine (RealNVP form, one-sided or GLOW-style) or rational-quadratic spline,
//! with optional conditioning.

use std::f64::consts::FRAC_2_PI;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use tch::{nn, Tensor};

use super::mixing::MixingKind;
use super::spline::{parameters_per_value, rational_quadratic};
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
    /// GLOW form with a monotone rational-quadratic spline of `bins` bins per value in place of the
    /// affine map (neural spline flows); it bends a density more per block.
    Spline,
}

impl FromStr for CouplingKind {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        parse_choice(text, "coupling", &["affine", "glow", "spline"])
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
    /// Bins of each spline (spline coupling only).
    #[serde(default = "default_bins")]
    pub bins: i64,
    /// What mixes the columns after each block.
    #[serde(default)]
    pub mixing: MixingKind,
}

/// The spline coupling's bins unless set otherwise.
pub const DEFAULT_BINS: i64 = 8;
/// The most bins a spline may have.
pub const MAX_BINS: i64 = 64;

fn default_bins() -> i64 {
    DEFAULT_BINS
}

impl BlockConfig {
    /// GLOW blocks whose subnets have `layers` hidden ReLU layers of width `hidden`, soft clamp 2,
    /// and a fixed permutation after each block: the paper's architecture.
    pub fn glow(hidden: i64, layers: usize) -> Self {
        BlockConfig {
            coupling: CouplingKind::Glow,
            hidden,
            layers,
            activation: Activation::Relu,
            clamp: 2.0,
            bins: DEFAULT_BINS,
            mixing: MixingKind::Permute,
        }
    }
}

/// The elementwise map that a block applies to one half, given parameters computed from the other.
#[derive(Debug, Clone, Copy)]
enum ElementwiseMap {
    /// v = u ⊙ exp(s) + t with a soft-clamped s.
    Affine { clamp: f64 },
    /// A rational-quadratic spline per value.
    Spline { bins: i64 },
}

impl ElementwiseMap {
    /// Subnet outputs per transformed value.
    fn parameters_per_value(self) -> i64 {
        match self {
            ElementwiseMap::Affine { .. } => 2,
            ElementwiseMap::Spline { bins } => parameters_per_value(bins),
        }
    }

    /// Maps `values` with the map that `parameters` define (or inverts it); returns the result and
    /// the elementwise log-derivative of the forward map.
    fn apply(self, values: &Tensor, parameters: &Tensor, inverse: bool) -> (Tensor, Tensor) {
        match self {
            ElementwiseMap::Affine { clamp } => {
                let width = parameters.size()[1] / 2;
                let s = parameters.narrow(1, 0, width);
                let t = parameters.narrow(1, width, width);
                let s = (s / clamp).atan() * (clamp * FRAC_2_PI);
                let mapped = if inverse { (values - t) * (-&s).exp() } else { values * s.exp() + t };
                (mapped, s)
            }
            ElementwiseMap::Spline { bins } => rational_quadratic(values, parameters, bins, inverse),
        }
    }
}

/// One coupling block over rows of width `dim`, conditioned on `condition` extra columns.
#[derive(Debug)]
pub struct CouplingBlock {
    split: i64,
    dim: i64,
    map: ElementwiseMap,
    /// Computes the map's parameters for the second half from the first half.
    second_half: Subnet,
    /// Computes the map's parameters for the first half from the transformed second half (GLOW and
    /// spline forms).
    first_half: Option<Subnet>,
}

impl CouplingBlock {
    /// Creates a block's variables under `path`; `dim` must be at least 2.
    pub fn new(path: &nn::Path, dim: i64, condition: i64, config: &BlockConfig) -> Self {
        let split = dim / 2;
        let rest = dim - split;
        let map = match config.coupling {
            CouplingKind::Spline => ElementwiseMap::Spline { bins: config.bins },
            CouplingKind::Affine | CouplingKind::Glow => ElementwiseMap::Affine { clamp: config.clamp },
        };
        let subnet = |name: &str, inputs: i64, outputs: i64| {
            let parameters = map.parameters_per_value() * outputs;
            Subnet::new(&(path / name), inputs + condition, parameters, config.hidden, config.layers, config.activation)
        };
        let second_half = subnet("second", split, rest);
        let first_half = (config.coupling != CouplingKind::Affine).then(|| subnet("first", rest, split));
        CouplingBlock { split, dim, map, second_half, first_half }
    }

    /// Maps u to v; returns v and log|det ∂v/∂u| per row.
    pub fn forward(&self, u: &Tensor, condition: Option<&Tensor>) -> (Tensor, Tensor) {
        let (u1, u2) = self.halves(u);
        let (v2, log_derivative) = self.transform(&self.second_half, &u2, &u1, condition, false);
        let mut log_det = row_sums(&log_derivative);
        let v1 = match &self.first_half {
            Some(subnet) => {
                let (v1, log_derivative) = self.transform(subnet, &u1, &v2, condition, false);
                log_det += row_sums(&log_derivative);
                v1
            }
            None => u1,
        };
        (Tensor::cat(&[v1, v2], 1), log_det)
    }

    /// Maps v back to u; subtracts each row's log|det ∂v/∂u| from `log_det` when one is given
    /// (sampling needs none, and skips its work).
    pub fn inverse(&self, v: &Tensor, condition: Option<&Tensor>, mut log_det: Option<&mut Tensor>) -> Tensor {
        let (v1, v2) = self.halves(v);
        let mut subtract = |log_derivative: &Tensor| {
            if let Some(log_det) = log_det.as_deref_mut() {
                *log_det -= row_sums(log_derivative);
            }
        };
        let u1 = match &self.first_half {
            Some(subnet) => {
                let (u1, log_derivative) = self.transform(subnet, &v1, &v2, condition, true);
                subtract(&log_derivative);
                u1
            }
            None => v1,
        };
        let (u2, log_derivative) = self.transform(&self.second_half, &v2, &u1, condition, true);
        subtract(&log_derivative);
        Tensor::cat(&[u1, u2], 1)
    }

    fn halves(&self, rows: &Tensor) -> (Tensor, Tensor) {
        (rows.narrow(1, 0, self.split), rows.narrow(1, self.split, self.dim - self.split))
    }

    /// Maps (or inverts) `values` with the map whose parameters `subnet` computes from `input` (and
    /// the condition); returns the result and the elementwise log-derivative of the forward map.
    fn transform(&self, subnet: &Subnet, values: &Tensor, input: &Tensor, condition: Option<&Tensor>, inverse: bool) -> (Tensor, Tensor) {
        let parameters = match condition {
            Some(condition) => subnet.forward(&Tensor::cat(&[input, condition], 1)),
            None => subnet.forward(input),
        };
        self.map.apply(values, &parameters, inverse)
    }
}

fn row_sums(values: &Tensor) -> Tensor {
    values.sum_dim_intlist(1, false, values.kind())
}
