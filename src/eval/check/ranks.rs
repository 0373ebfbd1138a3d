//! Where the truth falls among posterior draws, as a value in [0, 1] that is exactly uniform when the
//! posterior is calibrated: SBC's rank per parameter, the highest-density level of the cINN, TARP's
//! distance level.

use tch::{Kind, Tensor};

/// (count below + U·(count equal + 1)) / (L + 1) along the draws (dim 1): the rank of `truth` among
/// `draws` with ties broken at random, so that a calibrated posterior gives uniform values even for
/// discrete parameters. `truth` is [N, …] and `draws` [N, L, …].
pub fn randomised_rank(draws: &Tensor, truth: &Tensor) -> Tensor {
    let truth = truth.unsqueeze(1);
    let below = draws.lt_tensor(&truth).sum_dim_intlist(1, false, Kind::Double);
    let equal = draws.eq_tensor(&truth).sum_dim_intlist(1, false, Kind::Double);
    let uniform = below.rand_like();
    (below + uniform * (equal + 1.0)) / (draws.size()[1] + 1) as f64
}

/// SBC: the rank of each true parameter among its draws ([N, P] from truth [N, P], draws [N, L, P]).
pub fn parameter_ranks(draws: &Tensor, truth: &Tensor) -> Tensor {
    randomised_rank(&draws.to_kind(Kind::Double), &truth.to_kind(Kind::Double))
}

/// Central-interval level of each true parameter: 2·|rank − ½|, the smallest central interval of its
/// marginal draws that holds it (uniform when calibrated).
pub fn central_interval_levels(ranks: &Tensor) -> Tensor {
    (ranks - 0.5).abs() * 2.0
}

/// Highest-density level of each truth: the share of draws denser than it, from the model's log
/// density of the truth ([N]) and of the draws ([N, L]). The truth lies in the α-highest-density
/// region when this is below α.
pub fn density_levels(truth_log_density: &Tensor, draws_log_density: &Tensor) -> Tensor {
    let (truth, draws) = (truth_log_density.to_kind(Kind::Double), draws_log_density.to_kind(Kind::Double));
    // Denser draws count as "below" on the negated density.
    randomised_rank(&-draws, &-truth).view([-1, 1])
}

/// TARP (Lemos et al. 2023): for one random reference point per pair, the share of draws closer to it
/// than the truth is, in coordinates where the truths have unit spread. Returns [N, 1].
pub fn tarp_levels(draws: &Tensor, truth: &Tensor) -> Tensor {
    let (draws, truth) = (draws.to_kind(Kind::Double), truth.to_kind(Kind::Double));
    let mean = truth.mean_dim(0, true, Kind::Double);
    let spread = truth.std_dim(0, true, true).clamp_min(1e-12);
    let (draws, truth) = ((draws - mean.unsqueeze(0)) / spread.unsqueeze(0), (truth - &mean) / &spread);
    // References uniform in the box the truths span.
    let (low, high) = (truth.amin(0, true), truth.amax(0, true));
    let reference = &low + truth.rand_like() * (high - &low);
    let to_draws = (draws - reference.unsqueeze(1)).square().sum_dim_intlist(2, false, Kind::Double);
    let to_truth = (truth - reference).square().sum_dim_intlist(1, false, Kind::Double);
    randomised_rank(&to_draws, &to_truth).view([-1, 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_count_the_draws_below_and_break_ties_at_random() {
        let draws = Tensor::from_slice(&[1.0f64, 2.0, 3.0, 4.0]).view([1, 4, 1]);
        let rank = |t: f64| parameter_ranks(&draws, &Tensor::from_slice(&[t]).view([1, 1])).double_value(&[0, 0]);
        // Below all: (0 + U)/5 ∈ [0, 0.2); above all: (4 + U)/5 ∈ [0.8, 1); equal to 2: (1 + 2U)/5.
        assert!(rank(0.0) < 0.2 && rank(5.0) >= 0.8);
        tch::manual_seed(3);
        let tied: Vec<f64> = (0..200).map(|_| rank(2.0)).collect();
        assert!(tied.iter().all(|&r| (0.2..0.6).contains(&r)));
        assert!(tied.iter().any(|&r| r < 0.3) && tied.iter().any(|&r| r > 0.5));
    }

    #[test]
    fn density_levels_rank_by_density_not_by_value() {
        let draws = Tensor::from_slice(&[-1.0f64, -2.0, -3.0, -4.0]).view([1, 4]);
        let level = |t: f64| density_levels(&Tensor::from_slice(&[t]), &draws).double_value(&[0, 0]);
        assert!(level(0.0) < 0.2, "densest truth: inside every region");
        assert!(level(-10.0) >= 0.8, "least dense truth: outside every region but the widest");
    }
}
