//! The paper's bidirectional training of the INN: L_y and L_z on the forward pass, L_x (and the
//! reconstruction of x) on the inverse pass, gradients of both accumulated into one step.

use tch::{Kind, Reduction, Tensor};

use super::config::LossWeights;
use super::objective::Objective;
use crate::loss::mmd;
use crate::model::Model;

/// The bidirectional MMD objective.
#[derive(Debug, Clone)]
pub struct Bidirectional {
    /// Loss weights.
    pub weights: LossWeights,
    /// Noise on y.
    pub y_noise: f64,
    /// Noise in padding columns.
    pub pad_noise: f64,
    /// Widths of the MMD kernels.
    pub kernel_widths: Vec<f64>,
}

/// The factor on L_x at `progress` through training: 2·0.002^(1−progress), capped at 1, as in the
/// paper's code, so the inverse loss does not stall training at the start.
pub fn inverse_ramp(progress: f64) -> f64 {
    (2.0 * 0.002f64.powf(1.0 - progress.clamp(0.0, 1.0))).min(1.0)
}

impl Objective for Bidirectional {
    fn terms(&self) -> &'static [&'static str] {
        &["l_y", "l_z", "l_x", "l_rec"]
    }

    fn backward(&self, model: &Model, x: &Tensor, y: &Tensor, progress: f64) -> Tensor {
        let dims = model.spec.dims;
        let options = (x.kind(), x.device());
        let noisy_y = y + Tensor::randn(y.size(), options) * self.y_noise;

        // Forward: x → [z, pad, y].
        let u = dims.pad_x(x, self.pad_noise);
        let (v, _) = model.network.forward(&u, None);
        let (z, pad, predicted_y) = dims.split_zy(&v);
        let l_y = (predicted_y.mse_loss(&noisy_y, Reduction::Mean) + pad.square().mean(Kind::Float)) * self.weights.y;
        let prior_z = Tensor::randn(z.size(), options);
        let l_z = mmd(&Tensor::cat(&[&z, &predicted_y.detach()], 1), &Tensor::cat(&[&prior_z, &noisy_y], 1), &self.kernel_widths)
            * self.weights.z;
        (&l_y + &l_z).backward();

        // Inverse: fresh z with the observed y must give samples distributed like the prior of x;
        // the network's own z must give back x.
        let fresh = dims.join_zy(&Tensor::randn(z.size(), options), &noisy_y, self.pad_noise);
        let (u_fresh, _) = model.network.inverse(&fresh, None);
        let l_x = mmd(&dims.unpad_x(&u_fresh), x, &self.kernel_widths) * (self.weights.x * inverse_ramp(progress));
        let own = dims.join_zy(&z.detach(), &noisy_y, self.pad_noise);
        let (u_own, _) = model.network.inverse(&own, None);
        let l_rec = u_own.mse_loss(&u, Reduction::Mean) * self.weights.reconstruction;
        (&l_x + &l_rec).backward();

        Tensor::stack(&[l_y, l_z, l_x, l_rec], 0).detach()
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
}
