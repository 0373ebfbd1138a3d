//! Losses: maximum mean discrepancy with inverse multiquadric kernels, and maximum likelihood.

use tch::Tensor;

/// Kernel widths of the paper's training losses.
pub const TRAINING_WIDTHS: [f64; 4] = [0.2, 0.5, 0.9, 1.3];
/// Kernel widths of the posterior-mismatch yardstick (`shared` definitions: 0.05, 0.2, 0.9).
pub const YARDSTICK_WIDTHS: [f64; 3] = [0.05, 0.2, 0.9];

/// Biased MMD² between the rows of `a` and `b` under Σ_h h²/(h² + ‖·‖²), inverse multiquadric
/// kernels summed over the widths h, differentiable in `a` and `b`:
/// mean K(a, a) + mean K(b, b) − 2·mean K(a, b).
///
/// Each block's squared distances D come from one matrix product. The gradient is not left to
/// autograd, which would keep and revisit several kernel matrices per width: with
/// S = Σ_h h²/(h² + D)² (minus the derivative of K in D), the gradient in the rows p of a block
/// K(p, q) is −2·(S·1 ⊙ p − S·q) per entry's share, one matrix product over S; and no slope is
/// computed for a block whose rows are constants (the prior samples of both training losses).
pub fn mmd(a: &Tensor, b: &Tensor, widths: &[f64]) -> Tensor {
    let (n, m) = (a.size()[0] as f64, b.size()[0] as f64);
    let (grad_a, grad_b) = (a.requires_grad(), b.requires_grad());
    let (value, gradients) = tch::no_grad(|| {
        let (a, b) = (a.detach(), b.detach());
        let within_a = Kernel::of(&a, &a, widths, grad_a);
        let within_b = Kernel::of(&b, &b, widths, grad_b);
        let across = Kernel::of(&a, &b, widths, grad_a || grad_b);
        let value = within_a.sum.mean(a.kind()) + within_b.sum.mean(b.kind()) - across.sum.mean(a.kind()) * 2.0;
        let gradient_a = grad_a.then(|| within_a.pull(&a, &a) * (4.0 / (n * n)) - across.pull(&a, &b) * (4.0 / (n * m)));
        let gradient_b = grad_b.then(|| within_b.pull(&b, &b) * (4.0 / (m * m)) - across.transposed().pull(&b, &a) * (4.0 / (n * m)));
        (value, [gradient_a, gradient_b])
    });
    [a, b].into_iter().zip(gradients).fold(value, |value, (rows, gradient)| match gradient {
        Some(gradient) => value + (gradient * (rows - rows.detach())).sum(rows.kind()),
        None => value,
    })
}

/// The kernel matrix of rows p against rows q, summed over the widths, and its slope S.
struct Kernel {
    sum: Tensor,
    slope: Option<Tensor>,
}

impl Kernel {
    fn of(p: &Tensor, q: &Tensor, widths: &[f64], with_slope: bool) -> Kernel {
        let norms = |rows: &Tensor| rows.square().sum_dim_intlist(1, true, rows.kind());
        let squared = (norms(p) + norms(q).transpose(0, 1) - p.matmul(&q.transpose(0, 1)) * 2.0).clamp_min(0.0);
        let h2 = |h: f64| Tensor::full([], h * h, (p.kind(), p.device()));
        let mut sum = Tensor::zeros_like(&squared);
        let mut slope = with_slope.then(|| Tensor::zeros_like(&squared));
        for h in widths {
            let mut inverse = (&squared + h * h).reciprocal_();
            let _ = sum.addcmul_(&inverse, &h2(*h));
            if let Some(slope) = slope.as_mut() {
                let _ = slope.addcmul_(&inverse.square_(), &h2(*h));
            }
        }
        Kernel { sum, slope }
    }

    /// S·q − (S·1) ⊙ p: where the slope pulls each row p_i, toward the rows q_j (one product).
    fn pull(&self, p: &Tensor, q: &Tensor) -> Tensor {
        let slope = self.slope.as_ref().expect("a kernel of differentiable rows has its slope");
        let ones = Tensor::ones([q.size()[0], 1], (q.kind(), q.device()));
        let products = slope.matmul(&Tensor::cat(&[q, &ones], 1));
        let width = q.size()[1];
        products.narrow(1, 0, width) - products.narrow(1, width, 1) * p
    }

    /// K(q, p) of K(p, q).
    fn transposed(&self) -> Kernel {
        Kernel { sum: self.sum.transpose(0, 1), slope: self.slope.as_ref().map(|slope| slope.transpose(0, 1)) }
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
