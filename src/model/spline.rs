//! Monotone rational-quadratic splines (Durkan et al., "Neural spline flows", 2019): the elementwise
//! map of a spline coupling block. Each value has its own spline of `bins` bins on
//! [−[`SPLINE_BOUND`], [`SPLINE_BOUND`]], with slope 1 at both ends, and is left as it is outside.

use tch::{Kind, Tensor};

/// The spline acts on [−bound, bound]; values outside pass unchanged.
pub const SPLINE_BOUND: f64 = 5.0;
/// The smallest share of the interval a bin may take, along x and along y.
const MIN_BIN: f64 = 1e-3;
/// The smallest slope at an inner knot.
const MIN_SLOPE: f64 = 1e-3;

/// Subnet outputs per transformed value: `bins` widths, `bins` heights and `bins − 1` inner slopes.
pub fn parameters_per_value(bins: i64) -> i64 {
    3 * bins - 1
}

/// Applies the splines (or their inverses) that `parameters` (rows × values·(3·bins − 1), as the
/// subnet returns them) define to `values` (rows × values); returns the result and the elementwise
/// log-derivative of the forward map at each value. Written as few, batched tensor operations: on a
/// CPU each costs microseconds of dispatch whatever its size.
pub fn rational_quadratic(values: &Tensor, parameters: &Tensor, bins: i64, inverse: bool) -> (Tensor, Tensor) {
    let size = values.size();
    let (rows, count) = (size[0], size[1]);
    let parameters = parameters.view([rows, count, parameters_per_value(bins)]);
    // Bin widths and heights together (rows × values × 2 × bins), each axis's summing to 2·bound.
    let raw_sizes = parameters.narrow(2, 0, 2 * bins).view([rows, count, 2, bins]);
    let interval = 2.0 * SPLINE_BOUND;
    let sizes = raw_sizes.softmax(3, raw_sizes.kind()) * (interval * (1.0 - MIN_BIN * bins as f64)) + interval * MIN_BIN;
    let right_edges = sizes.cumsum(3, sizes.kind()) - SPLINE_BOUND;
    let left_edges = &right_edges - &sizes;
    // Slopes at the bins + 1 knots: 1 at both ends; softplus(raw + shift) + MIN_SLOPE inside, which
    // is exactly 1 where the subnet outputs 0, so a fresh block is the identity.
    let shift = (1.0 - MIN_SLOPE).exp_m1().ln();
    let inner = (parameters.narrow(2, 2 * bins, bins - 1) + shift).softplus() + (MIN_SLOPE - 1.0);
    let slopes = inner.constant_pad_nd([1, 1]) + 1.0;
    // One row per bin: its left edges along x and y, its width and height, the slopes at its ends.
    let table = Tensor::cat(
        &[left_edges.transpose(2, 3), sizes.transpose(2, 3), Tensor::stack(&[slopes.narrow(2, 0, bins), slopes.narrow(2, 1, bins)], 3)],
        3,
    );
    // A value outside [−bound, bound] is mapped at the nearest end, where the spline is the
    // identity with slope 1, and keeps its distance from it.
    let clamped = values.clamp(-SPLINE_BOUND, SPLINE_BOUND);
    let axis = if inverse { 1 } else { 0 };
    let inner_knots = right_edges.select(2, axis).narrow(2, 0, bins - 1);
    let bin = clamped.unsqueeze(2).ge_tensor(&inner_knots).sum_dim_intlist(2, true, Kind::Int64);
    let picked = table.gather(2, &bin.unsqueeze(3).expand([rows, count, 1, 6], false), false).view([rows, count, 6]);
    let [x0, y0, width, height, slope0, slope1] = [0, 1, 2, 3, 4, 5].map(|column| picked.select(2, column));
    let gradient = &height / &width;
    let curvature = &slope0 + &slope1 - &gradient * 2.0;

    let theta = if inverse {
        let offset = &clamped - &y0;
        let a = &height * (&gradient - &slope0) + &offset * &curvature;
        let b = &height * &slope0 - &offset * &curvature;
        let c = -&gradient * &offset;
        let root = (b.square() - &a * &c * 4.0).clamp_min(0.0).sqrt();
        &c * 2.0 / (-b - root)
    } else {
        (&clamped - &x0) / &width
    };
    let rest = -&theta + 1.0;
    let spread = &theta * &rest;
    let denominator = &gradient + &curvature * &spread;
    let numerator = gradient.square() * (&slope1 * theta.square() + &gradient * &spread * 2.0 + &slope0 * rest.square());
    let mapped =
        if inverse { &theta * &width + &x0 } else { &y0 + &height * (&gradient * theta.square() + &slope0 * &spread) / &denominator };
    let log_derivative = numerator.log() - denominator.log() * 2.0;
    (mapped + values - clamped, log_derivative)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn fresh_parameters_give_the_identity() {
        let values = Tensor::from_slice(&[-6.0f64, -4.9, -1.0, 0.0, 0.3, 2.5, 4.99, 7.0]).view([2, 4]);
        let parameters = Tensor::zeros([2, 4 * parameters_per_value(6)], (Kind::Double, Device::Cpu));
        for inverse in [false, true] {
            let (mapped, log_derivative) = rational_quadratic(&values, &parameters, 6, inverse);
            assert!(f64::try_from((mapped - &values).abs().max()).unwrap() < 1e-12);
            assert!(f64::try_from(log_derivative.abs().max()).unwrap() < 1e-12);
        }
    }

    #[test]
    fn inverse_undoes_the_spline_and_values_outside_pass() {
        tch::manual_seed(4);
        let values = Tensor::randn([500, 3], (Kind::Double, Device::Cpu)) * 3.0;
        let parameters = Tensor::randn([500, 3 * parameters_per_value(8)], (Kind::Double, Device::Cpu)) * 2.0;
        let (mapped, forward) = rational_quadratic(&values, &parameters, 8, false);
        let (back, inverse) = rational_quadratic(&mapped, &parameters, 8, true);
        assert!(f64::try_from((&back - &values).abs().max()).unwrap() < 1e-9);
        assert!(f64::try_from((&forward - inverse).abs().max()).unwrap() < 1e-9);
        let outside = values.abs().gt(SPLINE_BOUND);
        assert!(i64::try_from(outside.sum(Kind::Int64)).unwrap() > 0, "some values must lie outside");
        let moved = (&mapped - &values).abs().masked_select(&outside);
        assert!(f64::try_from(moved.max()).unwrap() < 1e-12, "values outside must pass unchanged");
        assert!(f64::try_from(forward.abs().mean(Kind::Double)).unwrap() > 0.1, "random parameters must bend");
    }
}
