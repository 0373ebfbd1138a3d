//! Losses: maximum mean discrepancy with inverse multiquadric kernels, and maximum likelihood.

use tch::Tensor;

/// Kernel widths of the paper's training losses.
pub const TRAINING_WIDTHS: [f64; 4] = [0.2, 0.5, 0.9, 1.3];
/// Kernel widths of the posterior-mismatch yardstick (`shared` definitions: 0.05, 0.2, 0.9).
pub const YARDSTICK_WIDTHS: [f64; 3] = [0.05, 0.2, 0.9];

/// Biased MMD² between the rows of `a` and `b` under Σ_h h²/(h² + ‖·‖²), inverse multiquadric
/// kernels summed over the widths h.
///
/// All pairwise distances come from one matrix product over the stacked rows, and each width's kernel
/// matrix K enters as wᵀ·K·w with w = (1/n, …, −1/m, …), which is MMD² without slicing K into blocks.
/// One kernel matrix is alive per width (not one tensor for all widths) so that large batches stay
/// below the allocator's mmap threshold.
pub fn mmd(a: &Tensor, b: &Tensor, widths: &[f64]) -> Tensor {
    let (n, m) = (a.size()[0], b.size()[0]);
    let rows = Tensor::cat(&[a, b], 0);
    let options = (rows.kind(), rows.device());
    let norms = rows.square().sum_dim_intlist(1, true, rows.kind());
    let squared = (&norms + norms.transpose(0, 1) - rows.matmul(&rows.transpose(0, 1)) * 2.0).clamp_min(0.0);
    let weights = Tensor::cat(&[Tensor::full([n], 1.0 / n as f64, options), Tensor::full([m], -1.0 / m as f64, options)], 0);
    let mut total = Tensor::zeros([], options);
    for h in widths {
        let kernel = (&squared + h * h).reciprocal() * (h * h);
        total += kernel.mv(&weights).dot(&weights);
    }
    total
}

/// Mean negative log-likelihood of z under N(0, I), with the log-determinant of the map to z:
/// mean(½‖z‖² − log|det J|), per dimension-free (the constant is dropped).
pub fn negative_log_likelihood(z: &Tensor, log_det: &Tensor) -> Tensor {
    (z.square().sum_dim_intlist(1, false, z.kind()) * 0.5 - log_det).mean(z.kind())
}

#[cfg(test)]
mod tests {
    use tch::{Device, Kind};

    use super::*;

    #[test]
    fn mmd_is_zero_for_identical_sets_and_grows_with_a_shift() {
        tch::manual_seed(0);
        let a = Tensor::randn([400, 3], (Kind::Float, Device::Cpu));
        assert!(mmd(&a, &a, &TRAINING_WIDTHS).double_value(&[]).abs() < 1e-5);
        let b = Tensor::randn([400, 3], (Kind::Float, Device::Cpu));
        let same = mmd(&a, &b, &TRAINING_WIDTHS).double_value(&[]);
        let mut last = same;
        for shift in [0.5, 1.0, 2.0] {
            let shifted = mmd(&a, &(&b + shift), &TRAINING_WIDTHS).double_value(&[]);
            assert!(shifted > last, "shift {shift}: {shifted} ≤ {last}");
            last = shifted;
        }
        assert!(last > 20.0 * same, "{last} vs {same}");
    }

    #[test]
    fn mmd_matches_a_direct_sum() {
        let a = Tensor::from_slice(&[0.0f64, 1.0]).view([2, 1]);
        let b = Tensor::from_slice(&[3.0f64]).view([1, 1]);
        let k = |d2: f64| 1.0 / (1.0 + d2);
        let expected = (2.0 * k(0.0) + 2.0 * k(1.0)) / 4.0 + k(0.0) - 2.0 * (k(9.0) + k(4.0)) / 2.0;
        let got = mmd(&a, &b, &[1.0]).double_value(&[]);
        assert!((got - expected).abs() < 1e-6, "{got} vs {expected}");
    }

    #[test]
    fn likelihood_is_lowest_for_standard_normal_scale() {
        tch::manual_seed(1);
        let z = Tensor::randn([20_000, 2], (Kind::Double, Device::Cpu));
        let zero = Tensor::zeros([20_000], (Kind::Double, Device::Cpu));
        // Scaling z by s adds 2·log s to the log-determinant; the loss is minimal at s = 1.
        let loss = |s: f64| negative_log_likelihood(&(&z * s), &(&zero + 2.0 * s.ln())).double_value(&[]);
        assert!(loss(1.0) < loss(0.8) && loss(1.0) < loss(1.25));
        assert!((loss(1.0) - 1.0).abs() < 0.03);
    }
}
