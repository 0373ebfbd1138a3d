//! The invertible networks: coupling blocks, permutations, padding, the two model kinds, checkpoints.

pub mod bounds;
pub mod checkpoint;
pub mod coupling;
pub mod dims;
pub mod member;
pub mod mixing;
pub mod network;
pub mod permutation;
pub mod regression;
pub mod spline;
pub mod standardise;
pub mod subnet;
pub mod summary;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use tch::{nn, Device, Kind, Tensor};

pub use bounds::Bounds;
pub use coupling::{BlockConfig, CouplingKind, DEFAULT_BINS, MAX_BINS};
pub use dims::Dims;
pub use member::{Member, MAX_MEMBERS};
pub use mixing::MixingKind;
pub use network::{InvertibleNetwork, NetworkSpec};
pub use regression::LinearRegression;
pub use standardise::Standardiser;
pub use subnet::Activation;
pub use summary::{SummaryKind, SummaryNetwork, SummarySpec};

use crate::error::{parse_choice, Error, Result};

/// Whether a stored statistic is a finite number in single precision, the weights' kind.
fn finite_single(value: f64) -> bool {
    (value as f32).is_finite()
}

/// Whether a stored scale is finite and above zero in single precision.
fn positive_single(value: f64) -> bool {
    finite_single(value) && (value as f32) > 0.0
}

/// `values` as a 1-D tensor of the kind and on the device of `like`.
fn values_like(values: &[f64], like: &Tensor) -> Tensor {
    Tensor::from_slice(values).to_kind(like.kind()).to_device(like.device())
}

/// Which of the two models a network is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// The paper's bidirectional INN: x (padded) ↔ [z, y], trained with MMD losses.
    Inn,
    /// A conditional INN: x ↔ z given y, trained by maximum likelihood.
    Cinn,
}

impl FromStr for ModelKind {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        parse_choice(text, "model", &["inn", "cinn"])
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ModelKind::Inn => "inn",
            ModelKind::Cinn => "cinn",
        })
    }
}

/// Everything that defines a model as a function of x and y, apart from its weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// INN or cINN.
    pub kind: ModelKind,
    /// Widths of x, y, z and the network.
    pub dims: Dims,
    /// The invertible network.
    pub network: NetworkSpec,
    /// Standardisation of x (fitted on the training set).
    pub x_scale: Standardiser,
    /// Standardisation of y (fitted on the training set).
    pub y_scale: Standardiser,
    /// A cINN's box bounds of x (the prior's support): samples outside are drawn again.
    #[serde(default)]
    pub x_bounds: Option<Bounds>,
    /// A cINN's linear regression of standardised x on standardised y, whose residual the network
    /// models (fitted on the training set; none: the network models standardised x).
    #[serde(default)]
    pub x_regression: Option<LinearRegression>,
    /// An INN trained by likelihood models its padding and y outputs as Gaussian noise of these
    /// widths; sampling draws them (none: zero padding and the exact y, as the paper samples).
    #[serde(default)]
    pub output_noise: Option<OutputNoise>,
    /// A cINN's summary network, whose output conditions the flow in place of standardised y.
    #[serde(default)]
    pub summary: Option<SummarySpec>,
    /// A cINN's members: more than one makes an ensemble, whose density is the equal-weight mixture
    /// of theirs (each member an invertible network and summary network of this spec).
    #[serde(default = "member::one_member", skip_serializing_if = "is_one_member")]
    pub members: usize,
}

fn is_one_member(members: &usize) -> bool {
    *members == 1
}

/// Standard deviations of an INN's padding and y outputs around zero and the observed y.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OutputNoise {
    /// Around the observed (standardised) y.
    pub y: f64,
    /// Around zero, in the padding columns of [z, pad, y].
    pub pad: f64,
}

impl ModelSpec {
    /// The paper's INN on padded widths `dims`.
    pub fn inn(dims: Dims, blocks: usize, block: BlockConfig, seed: u64) -> Self {
        ModelSpec {
            kind: ModelKind::Inn,
            dims,
            network: NetworkSpec::new(dims.total, 0, blocks, block, seed),
            x_scale: Standardiser::identity(dims.x as usize),
            y_scale: Standardiser::identity(dims.y as usize),
            x_bounds: None,
            x_regression: None,
            output_noise: None,
            summary: None,
            members: 1,
        }
    }

    /// A conditional INN for x of width `x` given y of width `y` (z as wide as x, no padding).
    pub fn cinn(x: i64, y: i64, blocks: usize, block: BlockConfig, seed: u64) -> Result<Self> {
        let dims = Dims::new(x, y, x, x + y)?;
        Ok(ModelSpec {
            kind: ModelKind::Cinn,
            dims,
            network: NetworkSpec::new(x, y, blocks, block, seed),
            x_scale: Standardiser::identity(x as usize),
            y_scale: Standardiser::identity(y as usize),
            x_bounds: None,
            x_regression: None,
            output_noise: None,
            summary: None,
            members: 1,
        })
    }

    /// This cINN with a summary network of y, whose output conditions the flow.
    pub fn with_summary(mut self, summary: SummarySpec) -> Result<Self> {
        self.network.condition = summary.outputs;
        self.summary = Some(summary);
        self.validate()?;
        Ok(self)
    }

    /// Checks the parts against each other.
    pub fn validate(&self) -> Result<()> {
        self.dims.validate()?;
        self.network.validate()?;
        let (width, condition) = match (self.kind, &self.summary) {
            (ModelKind::Inn, None) => (self.dims.total, 0),
            (ModelKind::Cinn, None) => (self.dims.x, self.dims.y),
            (ModelKind::Cinn, Some(summary)) => {
                summary.validate(self.dims.y)?;
                (self.dims.x, summary.outputs)
            }
            (ModelKind::Inn, Some(_)) => {
                return Err(Error::invalid("a summary network conditions the cINN (--model cinn); the paper's INN predicts y itself"))
            }
        };
        if self.network.width != width || self.network.condition != condition {
            return Err(Error::invalid(format!(
                "a {} with widths {:?} needs a network of width {width} and condition {condition}",
                self.kind, self.dims
            )));
        }
        self.x_scale.validate("x")?;
        self.y_scale.validate("y")?;
        if self.x_scale.columns() != self.dims.x as usize || self.y_scale.columns() != self.dims.y as usize {
            return Err(Error::invalid("standardisation statistics do not match the widths of x and y"));
        }
        if let Some(bounds) = &self.x_bounds {
            if self.kind != ModelKind::Cinn {
                return Err(Error::invalid("only a cINN keeps its samples inside bounds"));
            }
            bounds.validate()?;
            if bounds.columns() != self.dims.x as usize {
                return Err(Error::invalid("the bounds do not match the width of x"));
            }
        }
        if let Some(regression) = &self.x_regression {
            if self.kind != ModelKind::Cinn {
                return Err(Error::invalid("only a cINN models x less its linear regression on y"));
            }
            regression.validate()?;
            if regression.widths() != (self.dims.x as usize, self.dims.y as usize) {
                return Err(Error::invalid("the linear regression does not match the widths of x and y"));
            }
        }
        if !(1..=MAX_MEMBERS).contains(&self.members) {
            return Err(Error::invalid(format!("an ensemble has from 1 to {MAX_MEMBERS} members, not {}", self.members)));
        }
        if self.members > 1 && self.kind != ModelKind::Cinn {
            return Err(Error::invalid("an ensemble mixes cINN densities (--model cinn); the paper's INN has no density to mix"));
        }
        if let Some(noise) = self.output_noise {
            if self.kind != ModelKind::Inn {
                return Err(Error::invalid("only an INN has output noises"));
            }
            if ![noise.y, noise.pad].iter().all(|&sigma| finite_single(sigma) && sigma >= 0.0) {
                return Err(Error::invalid(format!("output noises must be finite and at least 0, not {noise:?}")));
            }
        }
        Ok(())
    }
}

/// A model: its spec, its members (one invertible network each) and the variables that hold their
/// weights.
pub struct Model {
    /// What the model is.
    pub spec: ModelSpec,
    /// Its members: one, or the networks of an ensemble (never empty).
    pub members: Vec<Member>,
    /// The trainable weights.
    pub vars: nn::VarStore,
}

impl Model {
    /// A freshly initialised model on `device` (float32).
    pub fn new(spec: ModelSpec, device: Device) -> Result<Self> {
        spec.validate()?;
        let vars = nn::VarStore::new(device);
        // The first member's variables sit at the root, as a single network's always have.
        let members = (0..spec.members)
            .map(|index| match index {
                0 => Member::new(&vars.root(), &spec),
                _ => Member::new(&(vars.root() / format!("member{index}")), &spec),
            })
            .collect::<Result<_>>()?;
        Ok(Model { spec, members, vars })
    }

    /// The first member's network: the paper's INN's only one, and a single cINN's.
    pub fn network(&self) -> &InvertibleNetwork {
        &self.members[0].network
    }

    /// Draws every trainable parameter again as `scale`·N(0, 1), from libtorch's generator (the
    /// official mixture code's initialisation; the blocks then no longer start as the identity).
    pub fn reinitialise(&self, scale: f64) {
        tch::no_grad(|| {
            for mut parameter in self.vars.trainable_variables() {
                let fresh = parameter.randn_like() * scale;
                parameter.copy_(&fresh);
            }
        });
    }

    /// The device the weights live on.
    pub fn device(&self) -> Device {
        self.vars.device()
    }

    /// The floating-point kind of the weights.
    pub fn kind(&self) -> Kind {
        self.vars.root().kind()
    }

    /// Converts the weights to another floating-point kind (float64 for exact tests).
    pub fn set_kind(&mut self, kind: Kind) {
        self.vars.set_kind(kind);
    }

    /// Maps raw rows `x` to the network's input (standardised, padded for the INN).
    pub fn encode_x(&self, x: &Tensor, padding_noise: f64) -> Tensor {
        let x = self.spec.x_scale.apply(x);
        match self.spec.kind {
            ModelKind::Inn => self.spec.dims.pad_x(&x, padding_noise),
            ModelKind::Cinn => x,
        }
    }

    /// Maps raw training rows (x, y) to what the network sees: standardised x (less its regression on
    /// y, for a cINN that has one) and standardised y.
    pub fn standardise(&self, x: &Tensor, y: &Tensor) -> (Tensor, Tensor) {
        let (x, y) = (self.spec.x_scale.apply(x), self.spec.y_scale.apply(y));
        match &self.spec.x_regression {
            Some(regression) => (regression.apply(&x, &y), y),
            None => (x, y),
        }
    }

    /// Maps network inputs back to raw rows of x, given the standardised y of each row.
    pub fn decode_x(&self, u: &Tensor, y: &Tensor) -> Tensor {
        let x = self.spec.dims.unpad_x(u);
        let x = match &self.spec.x_regression {
            Some(regression) => regression.undo(&x, y),
            None => x,
        };
        self.spec.x_scale.undo(&x)
    }

    /// log|det| of the map from standardised x to the network's input, the same for every row.
    pub fn standardised_log_det(&self) -> f64 {
        self.spec.x_regression.as_ref().map_or(0.0, LinearRegression::log_det)
    }

    /// A cINN's log density of network inputs `u` given standardised `y`, per row, less the constant
    /// ½·d·log 2π: the equal-weight mixture of its members'.
    pub fn flow_log_density(&self, u: &Tensor, y: &Tensor) -> Tensor {
        let per_member: Vec<Tensor> = self.members.iter().map(|member| member.log_density(u, y)).collect();
        member::mix_log_densities(&Tensor::stack(&per_member, 0))
    }

    /// A cINN's network inputs for latent rows `z` given standardised `y`: each row through one
    /// member, chosen uniformly (a draw from the mixture, given draws z of N(0, I)).
    pub fn inverse_rows(&self, z: &Tensor, y: &Tensor) -> Tensor {
        let Some(choice) = member::choose_members(self.members.len(), z.size()[0], z) else {
            return self.members[0].inverse_rows(z, y);
        };
        let mut u = z.zeros_like();
        for (index, member) in self.members.iter().enumerate() {
            let rows = choice.eq(index as i64).nonzero().view([-1]);
            if rows.size()[0] > 0 {
                u = u.index_copy(0, &rows, &member.inverse_rows(&z.index_select(0, &rows), &y.index_select(0, &rows)));
            }
        }
        u
    }
}
