//! Maximum-likelihood training of the conditional INN: x ↦ z given y, loss mean(½‖z‖² − log|det J|),
//! J the Jacobian from standardised x to z.

use tch::Tensor;

use super::objective::Objective;
use crate::loss::negative_log_likelihood;
use crate::model::Model;

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

    fn backward(&self, model: &Model, x: &Tensor, y: &Tensor, _progress: f64) -> Tensor {
        let condition = y + Tensor::randn(y.size(), (y.kind(), y.device())) * self.y_noise;
        let loss = standardised_nll(model, x, &condition);
        loss.backward();
        loss.detach().unsqueeze(0)
    }

    fn validation_loss(&self, model: &Model, x: &Tensor, y: &Tensor) -> Tensor {
        tch::no_grad(|| standardised_nll(model, x, y))
    }
}

/// Mean negative log-likelihood of the network's inputs `x` given `condition`, in the coordinates of
/// standardised x (the model's regression, if any, counted).
fn standardised_nll(model: &Model, x: &Tensor, condition: &Tensor) -> Tensor {
    let (z, log_det) = model.network.forward(x, Some(&model.summarise(condition)));
    negative_log_likelihood(&z, &log_det) - model.standardised_log_det()
}
