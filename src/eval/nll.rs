//! A cINN's negative log density of held-out pairs (x, y), in the coordinates of raw x: a yardstick
//! that needs no reference posterior, so that settings can be chosen by it honestly, and that
//! compares models whatever their standardisation.

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use crate::error::{Error, Result};
use crate::model::Model;
use crate::sample::{log_density, model_draws};

/// Model draws per pair that estimate the share of the model's mass inside the prior's box.
pub const BOX_DRAWS: i64 = 1000;
/// Pairs whose draws are made at once.
const PAIRS_AT_ONCE: i64 = 1000;

/// The mean of −log q(x | y) over held-out pairs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldOutNll {
    /// Pairs measured.
    pub pairs: i64,
    /// Mean negative log density (nats), lower is better.
    pub mean: f64,
    /// Standard error of the mean.
    pub standard_error: f64,
    /// Mean over the pairs of the share of the model's mass inside the prior's box (1 without box).
    pub mass_inside: f64,
}

/// −log q(x | y) of the raw pairs (`x`, `y`), averaged. A model that keeps its samples inside the
/// prior's box has its density renormalised to the box, with the share of its mass inside estimated
/// from [`BOX_DRAWS`] draws for each y.
pub fn held_out_nll(model: &Model, x: &Tensor, y: &Tensor) -> Result<HeldOutNll> {
    let pairs = x.size()[0];
    if pairs < 2 {
        return Err(Error::invalid(format!("the held-out loss needs at least two pairs, not {pairs}")));
    }
    let log_q = log_density(model, x, y)?.to_kind(Kind::Double);
    let inside = match &model.spec.x_bounds {
        Some(bounds) => {
            let mut shares = Vec::new();
            let y = y.to_device(model.device());
            for start in (0..pairs).step_by(PAIRS_AT_ONCE as usize) {
                let rows = y.narrow(0, start, PAIRS_AT_ONCE.min(pairs - start));
                let (draws, _) = model_draws(model, &rows, BOX_DRAWS)?;
                let inside = bounds.contains(&draws).to_kind(Kind::Double).view([-1, BOX_DRAWS]);
                shares.push(inside.mean_dim(1, false, Kind::Double));
            }
            Tensor::cat(&shares, 0)
        }
        None => log_q.ones_like(),
    };
    // A pair inside the box whose model put none of its draws there counts as one draw inside.
    let inside = inside.clamp_min(1.0 / BOX_DRAWS as f64);
    let nll = -(log_q - inside.log());
    let mean = nll.mean(Kind::Double).double_value(&[]);
    let standard_error = nll.std(true).double_value(&[]) / (pairs as f64).sqrt();
    if !mean.is_finite() {
        return Err(Error::invalid("the model gives some held-out pair no finite density"));
    }
    Ok(HeldOutNll { pairs, mean, standard_error, mass_inside: inside.mean(Kind::Double).double_value(&[]) })
}
