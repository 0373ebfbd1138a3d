//! sbibm's Bernoulli GLM: a neuron's spikes in 100 time bins from a logistic model of a fixed
//! white-noise stimulus, θ = (offset, nine filter taps); the data are its sufficient statistics
//! (`bernoulli_glm`) or the spikes themselves (`bernoulli_glm_raw`).

use tch::{Device, Kind, Tensor};

/// Time bins.
const BINS: i64 = 100;
/// Filter taps (θ less the offset).
const TAPS: i64 = 9;

/// sbibm's stimulus: `numpy.random.RandomState(42).randn(100)` as float32.
#[rustfmt::skip]
const STIMULUS: [f32; BINS as usize] = [
    0.49671414, -0.1382643, 0.64768857, 1.5230298, -0.23415338, -0.23413695, 1.5792128, 0.7674347,
    -0.46947438, 0.54256004, -0.46341768, -0.46572974, 0.24196227, -1.9132802, -1.7249179, -0.5622875,
    -1.0128311, 0.31424734, -0.9080241, -1.4123037, 1.4656488, -0.2257763, 0.0675282, -1.4247482,
    -0.54438275, 0.11092259, -1.1509936, 0.37569803, -0.6006387, -0.29169375, -0.6017066, 1.8522782,
    -0.013497225, -1.0577109, 0.82254493, -1.2208437, 0.2088636, -1.9596701, -1.328186, 0.19686124,
    0.73846656, 0.17136829, -0.115648285, -0.30110368, -1.478522, -0.7198442, -0.46063876, 1.0571222,
    0.3436183, -1.7630402, 0.32408398, -0.38508227, -0.676922, 0.6116763, 1.0309995, 0.93128014,
    -0.83921754, -0.3092124, 0.33126342, 0.9755451, -0.47917423, -0.18565898, -1.1063349, -1.1962066,
    0.8125258, 1.35624, -0.07201012, 1.0035329, 0.361636, -0.6451197, 0.3613956, 1.5380366,
    -0.03582604, 1.5646436, -2.619745, 0.8219025, 0.08704707, -0.29900736, 0.09176078, -1.9875689,
    -0.21967189, 0.35711256, 1.4778941, -0.5182702, -0.8084936, -0.501757, 0.9154021, 0.32875112,
    -0.5297602, 0.51326746, 0.09707755, 0.968645, -0.70205307, -0.32766214, -0.39210814, -1.4635149,
    0.2961203, 0.26105526, 0.005113457, -0.23458713,
];

/// The design matrix [100, 10]: a column of ones, then the stimulus delayed by 0 to 8 bins (zero
/// before it starts).
fn design_matrix(device: Device) -> Tensor {
    let stimulus = Tensor::from_slice(&STIMULUS);
    let delayed =
        (0..TAPS).map(|delay| Tensor::cat(&[Tensor::zeros([delay], (Kind::Float, Device::Cpu)), stimulus.narrow(0, 0, BINS - delay)], 0));
    let columns: Vec<Tensor> = std::iter::once(Tensor::ones([BINS], (Kind::Float, Device::Cpu))).chain(delayed).collect();
    Tensor::stack(&columns, 1).to_device(device)
}

/// A factor A of the prior's covariance (A·Aᵀ = Σ), float64 on the CPU. The prior is N(0, Σ) with
/// precision diag(0.5, FᵀF), F = D² + diag(√(i/9)) and D the first-difference matrix of the taps: a
/// smoothness prior on the filter.
fn prior_factor() -> Tensor {
    let options = (Kind::Double, Device::Cpu);
    let difference = Tensor::eye(TAPS, options) - Tensor::ones([TAPS - 1], options).diag_embed(-1, 0, 1);
    let ramp = (Tensor::arange(TAPS, options) / TAPS as f64).sqrt().diag_embed(0, 0, 1);
    let f = difference.matmul(&difference) + ramp;
    let precision = Tensor::zeros([TAPS + 1, TAPS + 1], options);
    let _ = precision.get(0).get(0).fill_(0.5);
    precision.narrow(0, 1, TAPS).narrow(1, 1, TAPS).copy_(&f.transpose(0, 1).matmul(&f));
    precision.inverse().linalg_cholesky(false)
}

/// `n` draws of the prior, [n, 10] float32 on `device`.
pub fn sample_prior(n: i64, device: Device) -> Tensor {
    let factor = prior_factor().to_kind(Kind::Float).to_device(device);
    Tensor::randn([n, TAPS + 1], (Kind::Float, device)).matmul(&factor.transpose(0, 1))
}

/// Spikes for each row of θ, [n, 100] of 0 and 1; with `raw` false their [`statistics`].
pub fn simulate(theta: &Tensor, raw: bool) -> Tensor {
    let design = design_matrix(theta.device()).to_kind(theta.kind());
    let spikes = theta.matmul(&design.transpose(0, 1)).sigmoid().bernoulli();
    if raw {
        spikes
    } else {
        spikes.matmul(&design)
    }
}

/// The sufficient statistics of spikes ([n, 100]): the design matrix's transpose times them (the
/// spike count and nine sums of the stimulus before the spikes), [n, 10].
pub fn statistics(spikes: &Tensor) -> Tensor {
    spikes.matmul(&design_matrix(spikes.device()).to_kind(spikes.kind()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prior_has_sbibm_s_marginal_spreads() {
        // The prior's standard deviations, from sbibm's precision matrix inverted in numpy.
        let expected = [std::f64::consts::SQRT_2, 1.0, 1.677051, 1.82994, 1.552066, 1.21635, 1.100437, 1.06921, 0.980605, 0.880288];
        let factor = prior_factor();
        let std = Vec::<f64>::try_from(factor.matmul(&factor.transpose(0, 1)).diagonal(0, 0, 1).sqrt()).unwrap();
        for (got, want) in std.iter().zip(expected) {
            assert!((got - want).abs() < 1e-5, "{std:?}");
        }
    }

    #[test]
    fn the_design_matrix_delays_the_stimulus() {
        let design = design_matrix(Device::Cpu);
        assert_eq!(design.size(), [100, 10]);
        assert_eq!(design.get(3).double_value(&[4]), STIMULUS[0] as f64, "bin 3 sees the stimulus 3 bins back");
        assert_eq!(design.get(2).double_value(&[4]), 0.0, "nothing before the stimulus starts");
    }
}
