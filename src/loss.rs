//! Losses: maximum mean discrepancy with inverse multiquadric kernels, and maximum likelihood.

use tch::Tensor;

/// Kernel widths of the paper's training losses.
pub const TRAINING_WIDTHS: [f64; 4] = [0.2, 0.5, 0.9, 1.3];
/// Kernel widths of the posterior-mismatch yardstick (`shared` definitions: 0.05, 0.2, 0.9).
pub const YARDSTICK_WIDTHS: [f64; 3] = [0.05, 0.2, 0.9];

/// Biased MMD² between the rows of `a` and `b` under Σ_h h²/(h² + ‖·‖²), inverse multiquadric
/// kernels summed over the widths h, differentiable in `a` and `b`.
///
/// All pairwise squared distances D come from one matrix product over the stacked rows r, and the
/// kernel matrix K = Σ_h h²/(h² + D) enters as wᵀ·K·w with w = (1/n, …, −1/m, …), which is MMD²
/// without slicing K into blocks. The gradient is not left to autograd, which would keep and revisit
/// several n×n matrices per width: with S = Σ_h h²/(h² + D)², the derivative of wᵀ·K·w is
/// −w_i·w_j·S_ij in D_ij, and so 4·w ⊙ (S·(w ⊙ r) − (S·w) ⊙ r) in the rows — two passes over S by
/// one matrix product. The result carries that gradient into `a` and `b`.
pub fn mmd(a: &Tensor, b: &Tensor, widths: &[f64]) -> Tensor {
    let (n, m) = (a.size()[0], b.size()[0]);
    let rows = Tensor::cat(&[a, b], 0);
    let options = (rows.kind(), rows.device());
    let weights = Tensor::cat(&[Tensor::full([n], 1.0 / n as f64, options), Tensor::full([m], -1.0 / m as f64, options)], 0);
    let differentiable = rows.requires_grad();
    let (value, gradient) = tch::no_grad(|| {
        let rows = rows.detach();
        let norms = rows.square().sum_dim_intlist(1, true, rows.kind());
        let squared = (&norms + norms.transpose(0, 1) - rows.matmul(&rows.transpose(0, 1)) * 2.0).clamp_min(0.0);
        let h2 = |h: f64| Tensor::full([], h * h, options);
        let mut kernel = Tensor::zeros_like(&squared);
        let mut slope = differentiable.then(|| Tensor::zeros_like(&squared));
        for h in widths {
            let mut inverse = (&squared + h * h).reciprocal_();
            let _ = kernel.addcmul_(&inverse, &h2(*h));
            if let Some(slope) = slope.as_mut() {
                let _ = slope.addcmul_(&inverse.square_(), &h2(*h));
            }
        }
        let value = kernel.mv(&weights).dot(&weights);
        let gradient = slope.map(|slope| {
            let weighted = Tensor::cat(&[&rows * weights.unsqueeze(1), weights.unsqueeze(1)], 1);
            let products = slope.matmul(&weighted);
            let width = rows.size()[1];
            (products.narrow(1, 0, width) - products.narrow(1, width, 1) * &rows) * weights.unsqueeze(1) * 4.0
        });
        (value, gradient)
    });
    match gradient {
        Some(gradient) => value + (gradient * (&rows - rows.detach())).sum(rows.kind()),
        None => value,
    }
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

    /// The same MMD² left to autograd.
    fn mmd_by_autograd(a: &Tensor, b: &Tensor, widths: &[f64]) -> Tensor {
        let rows = Tensor::cat(&[a, b], 0);
        let squared = (rows.unsqueeze(1) - rows.unsqueeze(0)).square().sum_dim_intlist(2, false, rows.kind());
        let (n, m) = (a.size()[0], b.size()[0]);
        let weights = Tensor::cat(
            &[
                Tensor::full([n], 1.0 / n as f64, (rows.kind(), rows.device())),
                Tensor::full([m], -1.0 / m as f64, (rows.kind(), rows.device())),
            ],
            0,
        );
        widths
            .iter()
            .map(|h| ((&squared + h * h).reciprocal() * (h * h)).mv(&weights).dot(&weights))
            .fold(Tensor::from(0.0f64), |sum, term| sum + term)
    }

    #[test]
    fn mmd_gradient_matches_autograd() {
        tch::manual_seed(3);
        let options = (Kind::Double, Device::Cpu);
        let a = (Tensor::randn([30, 3], options) * 0.7).set_requires_grad(true);
        let b = (Tensor::randn([20, 3], options) + 0.4).set_requires_grad(true);
        let ours = mmd(&(&a * 1.0), &(&b * 1.0), &TRAINING_WIDTHS);
        let (ours_a, ours_b) = {
            let gradients = Tensor::run_backward(&[&ours], &[&a, &b], false, false);
            (gradients[0].shallow_clone(), gradients[1].shallow_clone())
        };
        let reference = mmd_by_autograd(&a, &b, &TRAINING_WIDTHS);
        let gradients = Tensor::run_backward(&[&reference], &[&a, &b], false, false);
        assert!((ours.double_value(&[]) - reference.double_value(&[])).abs() < 1e-12);
        for (ours, reference) in [(ours_a, &gradients[0]), (ours_b, &gradients[1])] {
            let error = (&ours - reference).abs().max().double_value(&[]);
            assert!(
                error < 1e-12 * (1.0 + reference.abs().max().double_value(&[])) && reference.abs().max().double_value(&[]) > 1e-4,
                "{error}"
            );
        }
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
