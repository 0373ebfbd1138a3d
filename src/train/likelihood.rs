//! Maximum-likelihood training of the conditional INN: x ↦ z given y, loss mean(½‖z‖² − log|det J|),
//! J the Jacobian from standardised x to z.

use tch::Tensor;

use super::objective::Objective;
use crate::loss::negative_log_likelihood;
use crate::model::{Member, Model};

/// The maximum-likelihood objective.
#[derive(Debug, Clone, Copy)]
pub struct MaximumLikelihood {
    /// Noise on (standardised) y, for robustness to noisy observations.
    pub y_noise: f64,
}

impl Objective for MaximumLikelihood {
    fn terms(&self) -> &'static [&'static str] {
        &["nll"]
    }

    /// Each member of an ensemble is trained on its own likelihood (the sum of theirs is
    /// back-propagated); the term logged is their mean.
    fn backward(&self, model: &Model, x: &Tensor, y: &Tensor, _progress: f64) -> Tensor {
        let condition = y + Tensor::randn(y.size(), (y.kind(), y.device())) * self.y_noise;
        let losses: Vec<Tensor> = model.members.iter().map(|member| member_nll(model, member, x, &condition)).collect();
        let loss = Tensor::stack(&losses, 0);
        loss.sum(loss.kind()).backward();
        loss.detach().mean(loss.kind()).unsqueeze(0)
    }

    /// The held-out loss of the model's density: an ensemble's mixture, not its members'.
    fn validation_loss(&self, model: &Model, x: &Tensor, y: &Tensor) -> Tensor {
        tch::no_grad(|| match model.members.as_slice() {
            [member] => member_nll(model, member, x, y),
            _ => -model.flow_log_density(x, y).mean(x.kind()) - model.standardised_log_det(),
        })
    }
}

/// A member's mean negative log-likelihood of the network's inputs `x` given `condition`, in the
/// coordinates of standardised x (the model's regression, if any, counted).
fn member_nll(model: &Model, member: &Member, x: &Tensor, condition: &Tensor) -> Tensor {
    let (z, log_det) = member.forward(x, condition);
    negative_log_likelihood(&z, &log_det) - model.standardised_log_det()
}
