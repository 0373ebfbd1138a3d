//! The members of a model: one invertible network (with its summary network, if any) each. A model
//! holds one; an ensemble holds several, trained side by side on the same batches, whose densities
//! are mixed with equal weights.

use tch::{nn, Kind, Tensor};

use super::network::InvertibleNetwork;
use super::summary::SummaryNetwork;
use super::ModelSpec;
use crate::error::Result;

/// Most members of an ensemble.
pub const MAX_MEMBERS: usize = 32;

/// The members of a model or training configuration that names none: a single network.
pub(crate) fn one_member() -> usize {
    1
}

/// One invertible network of a model and the summary network that conditions it.
pub struct Member {
    /// The invertible network.
    pub network: InvertibleNetwork,
    /// A cINN's summary network of standardised y, if it has one.
    pub summary: Option<SummaryNetwork>,
}

impl Member {
    /// Creates the member's variables under `path` (its summary network under `path / "summary"`).
    pub fn new(path: &nn::Path, spec: &ModelSpec) -> Result<Self> {
        let network = InvertibleNetwork::new(path, &spec.network)?;
        let summary = spec.summary.as_ref().map(|summary| SummaryNetwork::new(&(path / "summary"), summary, spec.dims.y)).transpose()?;
        Ok(Member { network, summary })
    }

    /// What conditions the flow for standardised observations `y`: their summary, when the member
    /// has a summary network, else `y` itself.
    pub fn summarise(&self, y: &Tensor) -> Tensor {
        match &self.summary {
            Some(summary) => summary.forward(y),
            None => y.shallow_clone(),
        }
    }

    /// A cINN member's latent rows z and log|det ∂z/∂u| for network inputs `u` given standardised `y`.
    pub fn forward(&self, u: &Tensor, y: &Tensor) -> (Tensor, Tensor) {
        self.network.forward(u, Some(&self.summarise(y)))
    }

    /// A cINN member's network inputs for latent rows `z` given standardised `y`.
    pub fn inverse_rows(&self, z: &Tensor, y: &Tensor) -> Tensor {
        self.network.inverse_rows(z, Some(&self.summarise(y)))
    }

    /// log N(z; 0, I) + log|det| of network inputs `u` given standardised `y`, less the constant
    /// ½·d·log 2π, per row.
    pub fn log_density(&self, u: &Tensor, y: &Tensor) -> Tensor {
        let (z, log_det) = self.forward(u, y);
        z.square().sum_dim_intlist(1, false, z.kind()) * -0.5 + log_det
    }
}

/// The equal-weight mixture of the members' log densities `[members, n]`: log(mean exp), per row.
pub(crate) fn mix_log_densities(per_member: &Tensor) -> Tensor {
    let members = per_member.size()[0];
    if members == 1 {
        return per_member.select(0, 0);
    }
    per_member.logsumexp([0], false) - (members as f64).ln()
}

/// For each of `rows` rows, the member it is drawn from (uniform); none for a single member, which
/// then draws nothing from the generator.
pub(crate) fn choose_members(members: usize, rows: i64, like: &Tensor) -> Option<Tensor> {
    (members > 1).then(|| Tensor::randint(members as i64, [rows], (Kind::Int64, like.device())))
}
