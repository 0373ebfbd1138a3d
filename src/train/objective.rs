//! What one training step optimises: a set of named loss terms whose gradients are accumulated.

use tch::Tensor;

use crate::model::Model;

/// A training objective: computes its loss terms on a batch and back-propagates them.
pub trait Objective {
    /// Names of the loss terms, in the order of [`Objective::backward`]'s result.
    fn terms(&self) -> &'static [&'static str];

    /// Computes the losses for standardised rows `x` and `y`, accumulates their gradients into the
    /// model's variables, and returns the detached term values as a 1-D tensor (no host sync).
    /// `progress` runs from 0 to 1 over training (for ramps).
    fn backward(&self, model: &Model, x: &Tensor, y: &Tensor, progress: f64) -> Tensor;

    /// The loss on held-out standardised rows, all terms at full weight, without noise on y and
    /// without gradients: a scalar tensor (no host sync).
    fn validation_loss(&self, model: &Model, x: &Tensor, y: &Tensor) -> Tensor;
}
