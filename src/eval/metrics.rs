//! The yardstick metrics: posterior mismatch, re-simulation error, calibration, and the mixture's scores.

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use crate::error::Result;
use crate::loss::{mmd, YARDSTICK_WIDTHS};
use crate::problem::gmm::{GaussianMixture, MODE_STD};
use crate::problem::Problem;

/// MMD² (biased, multi-scale inverse multiquadric, widths 0.05, 0.2, 0.9) between two sample sets.
pub fn posterior_mismatch(samples: &Tensor, reference: &Tensor) -> f64 {
    let kind = Kind::Double;
    tch::no_grad(|| mmd(&samples.to_kind(kind), &reference.to_kind(kind), &YARDSTICK_WIDTHS).double_value(&[]))
}

/// Mean of ‖f(x) − y*‖₂ over the samples `x` of one observation `target` ([dim_y] or [1, dim_y]).
pub fn resimulation_error(problem: &dyn Problem, x: &Tensor, target: &Tensor) -> Result<f64> {
    let y = tch::no_grad(|| problem.simulate(x))?;
    let target = target.to_device(y.device()).to_kind(y.kind()).view([1, -1]);
    Ok((y - target).square().sum_dim_intlist(1, false, Kind::Float).sqrt().mean(Kind::Float).double_value(&[]))
}

/// Calibration of posterior marginals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Per x dimension: median over q ∈ {0.01, …, 0.99} of |coverage(q) − q|.
    pub median_abs_error: Vec<f64>,
    /// Per x dimension: coverage(0.68) − 0.68.
    pub error_at_68: Vec<f64>,
}

/// Calibration from posterior samples [pairs, samples, dim_x] of pairs whose true x is `truth`
/// [pairs, dim_x]: the share of true values inside the central q-interval of each marginal, minus q.
pub fn calibration(samples: &Tensor, truth: &Tensor) -> Calibration {
    let kind = Kind::Double;
    // Where the truth falls in each marginal: 0 = below every sample, 1 = above every one.
    let rank = samples.lt_tensor(&truth.unsqueeze(1)).to_kind(kind).mean_dim(1, false, kind);
    let q = Tensor::arange_start_step(1, 100, 1, (kind, samples.device())) / 100.0;
    let inside = (rank - 0.5).abs().unsqueeze(0).le_tensor(&(&q / 2.0).view([-1, 1, 1]));
    let coverage = inside.to_kind(kind).mean_dim(1, false, kind);
    let error = coverage - q.view([-1, 1]);
    let median = error.abs().median_dim(0, false).0;
    let at_68 = error.select(0, 67);
    Calibration {
        median_abs_error: Vec::<f64>::try_from(median).unwrap_or_default(),
        error_at_68: Vec::<f64>::try_from(at_68).unwrap_or_default(),
    }
}

/// How inverse samples for one colour of the mixture fall on its modes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModeScores {
    /// The colour asked for.
    pub colour: i64,
    /// Share of samples within 3σ of a mode of that colour.
    pub precision: f64,
    /// Share of that colour's modes receiving at least 5% of the samples.
    pub recall: f64,
}

/// Precision and recall of samples `x` drawn for `colour`.
pub fn mode_scores(mixture: &GaussianMixture, x: &Tensor, colour: i64) -> ModeScores {
    let device = x.device();
    let x = x.to_kind(Kind::Float);
    let modes = GaussianMixture::nearest_mode(&x);
    let centres = GaussianMixture::centres(device).index_select(0, &modes);
    let near = (&x - centres).square().sum_dim_intlist(1, false, Kind::Float).sqrt().le(3.0 * MODE_STD);
    let mode_colours = mixture.mode_colours(device);
    let right_colour = mode_colours.index_select(0, &modes).eq(colour);
    let hits = near.logical_and(&right_colour);
    let precision = hits.to_kind(Kind::Double).mean(Kind::Double).double_value(&[]);
    let share = modes.masked_select(&hits).bincount::<Tensor>(None, 8).to_kind(Kind::Double) / x.size()[0] as f64;
    let of_colour = mode_colours.eq(colour);
    let covered = share.ge(0.05).logical_and(&of_colour).sum(Kind::Double).double_value(&[]);
    let recall = covered / of_colour.sum(Kind::Double).double_value(&[]).max(1.0);
    ModeScores { colour, precision, recall }
}

#[cfg(test)]
mod tests {
    use tch::Device;

    use super::*;
    use crate::problem::gmm::LabelMap;

    #[test]
    fn calibration_separates_true_from_overconfident_posteriors() {
        // Conjugate Gaussian: x ~ N(0, 1), y = x + N(0, 1) ⇒ x | y ~ N(y/2, 1/2).
        tch::manual_seed(5);
        let options = (Kind::Double, Device::Cpu);
        let x = Tensor::randn([2000, 1], options);
        let y = &x + Tensor::randn([2000, 1], options);
        let draw = |scale: f64| (&y / 2.0).unsqueeze(1) + Tensor::randn([2000, 400, 1], options) * (0.5f64.sqrt() * scale);
        let exact = calibration(&draw(1.0), &x);
        assert!(exact.median_abs_error[0] < 0.02, "{exact:?}");
        assert!(exact.error_at_68[0].abs() < 0.03, "{exact:?}");
        let overconfident = calibration(&draw(0.5), &x);
        assert!(overconfident.median_abs_error[0] > 0.1, "{overconfident:?}");
        assert!(overconfident.error_at_68[0] < -0.2, "{overconfident:?}");
    }

    #[test]
    fn mode_scores_count_the_right_modes() {
        tch::manual_seed(6);
        let mixture = GaussianMixture::new(LabelMap::Some);
        let (x, y) = mixture.sample_joint(20_000, Device::Cpu).unwrap();
        let colour0 = x.index_select(0, &y.argmax(1, false).eq(0).nonzero().view([-1]));
        let scores = mode_scores(&mixture, &colour0, 0);
        assert!(scores.precision > 0.985 && scores.recall == 1.0, "{scores:?}");
        let wrong = mode_scores(&mixture, &colour0, 1);
        assert!(wrong.precision < 0.01 && wrong.recall == 0.0, "{wrong:?}");
        // Samples on only one of colour 0's four modes: precise, but poor recall.
        let one_mode =
            GaussianMixture::centres(Device::Cpu).get(0).unsqueeze(0) + Tensor::randn([1000, 2], (Kind::Float, Device::Cpu)) * 0.1;
        let collapsed = mode_scores(&mixture, &one_mode, 0);
        assert!(collapsed.precision > 0.99 && (collapsed.recall - 0.25).abs() < 1e-9, "{collapsed:?}");
    }

    #[test]
    fn mismatch_is_small_for_the_same_distribution() {
        tch::manual_seed(7);
        let a = Tensor::randn([2000, 2], (Kind::Float, Device::Cpu));
        let b = Tensor::randn([2000, 2], (Kind::Float, Device::Cpu));
        let same = posterior_mismatch(&a, &b);
        let shifted = posterior_mismatch(&a, &(&b + 0.3));
        assert!(same < 0.005 && shifted > 5.0 * same, "{same} {shifted}");
    }
}
