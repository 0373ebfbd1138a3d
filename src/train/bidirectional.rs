//! The paper's bidirectional training of the INN: L_y, L_z (and the likelihood L_ml) on the forward
//! pass, L_x (and the reconstruction of x) on the inverse pass, gradients of both accumulated into one
//! step. A term of weight zero is not computed (nor its inverse pass).

use tch::{Kind, Reduction, Tensor};

use super::config::LossWeights;
use super::objective::Objective;
use crate::loss::{mmd, negative_log_likelihood};
use crate::model::Model;

/// The paper's INN objective: its MMD losses and the likelihood, each with its weight.
#[derive(Debug, Clone)]
pub struct Bidirectional {
    /// Loss weights.
    pub weights: LossWeights,
    /// Noise on y, and the width of the y outputs' density in L_ml.
    pub y_noise: f64,
    /// Noise in padding columns, and the width of the padding outputs' density in L_ml.
    pub pad_noise: f64,
    /// The noises start this many times wider and shrink to their values by half-way (1: constant).
    pub noise_anneal: f64,
    /// Widths of the MMD kernels.
    pub kernel_widths: Vec<f64>,
}

/// The factor on the noises at `progress` through training: `anneal` at the start, shrinking
/// geometrically to 1 by half-way.
pub fn noise_factor(anneal: f64, progress: f64) -> f64 {
    anneal.powf(1.0 - (2.0 * progress).clamp(0.0, 1.0))
}

/// The factor on L_x at `progress` through training: 2·0.002^(1−progress), capped at 1, as in the
/// paper's code, so the inverse loss does not stall training at the start.
pub fn inverse_ramp(progress: f64) -> f64 {
    (2.0 * 0.002f64.powf(1.0 - progress.clamp(0.0, 1.0))).min(1.0)
}

impl Objective for Bidirectional {
    fn terms(&self) -> &'static [&'static str] {
        &["l_y", "l_z", "l_x", "l_rec", "l_ml"]
    }

    fn backward(&self, model: &Model, x: &Tensor, y: &Tensor, progress: f64) -> Tensor {
        let this = self.with_noises_at(progress);
        let noisy_y = y + Tensor::randn(y.size(), (y.kind(), y.device())) * this.y_noise;
        let forward = this.forward_terms(model, x, &noisy_y);
        backward_if_weighted(&forward.l_y + &forward.l_z + &forward.l_ml);
        let (l_x, l_rec) = this.inverse_terms(model, x, &noisy_y, &forward, inverse_ramp(progress));
        backward_if_weighted(&l_x + &l_rec);
        Tensor::stack(&[forward.l_y, forward.l_z, l_x, l_rec, forward.l_ml], 0).detach()
    }

    fn validation_loss(&self, model: &Model, x: &Tensor, y: &Tensor) -> Tensor {
        tch::no_grad(|| {
            let forward = self.forward_terms(model, x, y);
            let (l_x, l_rec) = self.inverse_terms(model, x, y, &forward, 1.0);
            forward.l_y + forward.l_z + forward.l_ml + l_x + l_rec
        })
    }
}

/// The value of a term of weight zero: 0, on the device of `like`, without a graph.
fn not_computed(like: &Tensor) -> Tensor {
    Tensor::zeros([], (like.kind(), like.device()))
}

/// Mean square of the padding outputs, pushed to zero by L_y; zero when [z, y] fills the network.
fn padding_penalty(pad: &Tensor) -> Tensor {
    match pad.size()[1] {
        0 => not_computed(pad),
        _ => pad.square().mean(Kind::Float),
    }
}

/// Back-propagates a sum of terms unless all of them had weight zero (and so no graph).
fn backward_if_weighted(loss: Tensor) {
    if loss.requires_grad() {
        loss.backward();
    }
}

/// What the forward pass gives the inverse pass.
struct ForwardTerms {
    l_y: Tensor,
    l_z: Tensor,
    l_ml: Tensor,
    /// x padded to the network's width.
    u: Tensor,
    /// The network's z.
    z: Tensor,
}

impl Bidirectional {
    /// The objective with the noises of `progress` through training.
    fn with_noises_at(&self, progress: f64) -> Bidirectional {
        let factor = noise_factor(self.noise_anneal, progress);
        Bidirectional { y_noise: self.y_noise * factor, pad_noise: self.pad_noise * factor, ..self.clone() }
    }

    /// Forward: x → [z, pad, y]; L_y (with the padding pushed to zero), L_z and L_ml.
    fn forward_terms(&self, model: &Model, x: &Tensor, noisy_y: &Tensor) -> ForwardTerms {
        let dims = model.spec.dims;
        let u = dims.pad_x(x, self.pad_noise);
        let (v, log_det) = model.network().forward(&u, None);
        let (z, pad, predicted_y) = dims.split_zy(&v);
        let l_y = match self.weights.y {
            0.0 => not_computed(x),
            weight => (predicted_y.mse_loss(noisy_y, Reduction::Mean) + padding_penalty(&pad)) * weight,
        };
        let l_z = match self.weights.z {
            0.0 => not_computed(x),
            weight => {
                let prior_z = Tensor::randn(z.size(), (z.kind(), z.device()));
                mmd(&Tensor::cat(&[&z, &predicted_y.detach()], 1), &Tensor::cat(&[&prior_z, noisy_y], 1), &self.kernel_widths) * weight
            }
        };
        let l_ml = match self.weights.likelihood {
            0.0 => not_computed(x),
            weight => self.negative_log_likelihood(&z, &pad, &(predicted_y - noisy_y), &log_det) * (weight / dims.total as f64),
        };
        ForwardTerms { l_y, l_z, l_ml, u, z }
    }

    /// Mean negative log-likelihood of the padded rows under the network, whose outputs are modelled
    /// as z ~ N(0, I), padding ~ N(0, pad_noise²) and y ~ N(y_observed, y_noise²).
    fn negative_log_likelihood(&self, z: &Tensor, pad: &Tensor, y_error: &Tensor, log_det: &Tensor) -> Tensor {
        let standard_normal = Tensor::cat(&[z, &(pad / self.pad_noise), &(y_error / self.y_noise)], 1);
        negative_log_likelihood(&standard_normal, log_det)
    }

    /// Inverse: fresh z with the observed y must give samples distributed like the prior of x (L_x,
    /// weighted by `ramp`); the network's own z must give back x (reconstruction). Both go through
    /// the network in one pass.
    fn inverse_terms(&self, model: &Model, x: &Tensor, noisy_y: &Tensor, forward: &ForwardTerms, ramp: f64) -> (Tensor, Tensor) {
        let dims = model.spec.dims;
        let (w_x, w_rec) = (self.weights.x * ramp, self.weights.reconstruction);
        let mut inputs = Vec::new();
        if w_x != 0.0 {
            inputs.push(dims.join_zy(&Tensor::randn(forward.z.size(), (x.kind(), x.device())), noisy_y, self.pad_noise));
        }
        if w_rec != 0.0 {
            inputs.push(dims.join_zy(&forward.z.detach(), noisy_y, self.pad_noise));
        }
        if inputs.is_empty() {
            return (not_computed(x), not_computed(x));
        }
        let rows = x.size()[0];
        let mut outputs = model.network().inverse_rows(&Tensor::cat(&inputs, 0), None).split(rows, 0).into_iter();
        let l_x = match w_x {
            0.0 => not_computed(x),
            weight => mmd(&dims.unpad_x(&outputs.next().expect("one output per input")), x, &self.kernel_widths) * weight,
        };
        let l_rec = match w_rec {
            0.0 => not_computed(x),
            weight => outputs.next().expect("one output per input").mse_loss(&forward.u, Reduction::Mean) * weight,
        };
        (l_x, l_rec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramp_starts_small_and_reaches_one() {
        assert!((inverse_ramp(0.0) - 0.004).abs() < 1e-12);
        assert!(inverse_ramp(0.5) > inverse_ramp(0.25));
        assert_eq!(inverse_ramp(0.95), 1.0);
        assert_eq!(inverse_ramp(1.0), 1.0);
    }

    #[test]
    fn noises_shrink_geometrically_to_their_values_by_half_way() {
        assert!((noise_factor(4.0, 0.0) - 4.0).abs() < 1e-12);
        assert!((noise_factor(4.0, 0.25) - 2.0).abs() < 1e-12);
        assert_eq!(noise_factor(4.0, 0.5), 1.0);
        assert_eq!(noise_factor(4.0, 0.9), 1.0);
        assert_eq!(noise_factor(1.0, 0.1), 1.0);
    }
}
