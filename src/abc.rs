//! Rejection ABC: prior draws simulated on the device in chunks, kept when their y lies near y*.

use tch::{Device, Kind, Tensor};

use crate::error::{guard, Error, Result};
use crate::problem::Problem;

/// Which draws to keep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Acceptance {
    /// The K nearest draws per observation (quantile ABC).
    Nearest(i64),
    /// Every draw within this Euclidean distance of the observation.
    Within(f64),
}

/// Accepted draws: samples, the observation each belongs to, and their distance to it.
#[derive(Debug)]
pub struct AbcSamples {
    /// Accepted x, grouped by observation, [rows, dim_x].
    pub x: Tensor,
    /// 0-based observation index of each row (int64).
    pub obs: Tensor,
    /// ‖f(x) − y*‖ of each row.
    pub distance: Tensor,
    /// Accepted rows per observation.
    pub accepted: Vec<i64>,
}

/// Prior draws simulated at once.
pub const DEFAULT_CHUNK: i64 = 1 << 20;
/// Most accepted samples held at once (all observations together).
pub const MAX_KEPT: i64 = 100_000_000;

/// Euclidean distances [m, n] between each observation (rows of `targets`) and each row of `y`.
fn distances(targets: &Tensor, y: &Tensor) -> Tensor {
    (targets.unsqueeze(1) - y.unsqueeze(0)).square().sum_dim_intlist(2, false, y.kind()).sqrt()
}

/// Runs rejection ABC for all observations at once over `draws` prior draws, in chunks of `chunk`.
/// `on_chunk(draws done)` is called after each chunk.
pub fn rejection_abc(
    problem: &dyn Problem,
    targets: &Tensor,
    draws: i64,
    acceptance: Acceptance,
    chunk: i64,
    device: Device,
    on_chunk: &mut dyn FnMut(i64),
) -> Result<AbcSamples> {
    if draws < 1 || chunk < 1 {
        return Err(Error::invalid(format!("ABC needs at least one draw, not {draws}")));
    }
    if chunk.saturating_mul(targets.size()[0]) > 1 << 28 {
        return Err(Error::invalid(format!("--chunk {chunk} for {} observations needs too much memory; lower it", targets.size()[0])));
    }
    match acceptance {
        Acceptance::Nearest(k) if k < 1 || k > draws => {
            return Err(Error::invalid(format!("--keep must be between 1 and the number of draws, not {k}")))
        }
        Acceptance::Nearest(k) if k.saturating_mul(targets.size()[0]) > MAX_KEPT => {
            return Err(Error::invalid(format!("--keep {k} for {} observations holds more than {MAX_KEPT} samples", targets.size()[0])))
        }
        Acceptance::Within(eps) if !(eps.is_finite() && eps > 0.0) => {
            return Err(Error::invalid(format!("--eps must be a positive number, not {eps}")))
        }
        _ => {}
    }
    let targets = targets.to_device(device).to_kind(Kind::Float);
    let observations = targets.size()[0];
    let dim_x = problem.dim_x();
    let _guard = tch::no_grad_guard();
    let mut kept = match acceptance {
        Acceptance::Nearest(k) => Kept::Nearest {
            distance: Tensor::full([observations, k], f64::INFINITY, (Kind::Float, device)),
            x: Tensor::zeros([observations, k, dim_x], (Kind::Float, device)),
        },
        Acceptance::Within(eps) => Kept::Within { eps, parts: Vec::new(), rows: 0 },
    };
    let mut done = 0;
    while done < draws {
        let rows = chunk.min(draws - done);
        let what = format!("simulating {rows} draws at once for {observations} observation(s)");
        let (x, distance) = guard(&what, "--chunk", || {
            let x = problem.sample_prior(rows, device);
            let distance = distances(&targets, &problem.simulate(&x)?);
            Ok((x, distance))
        })?;
        kept.add(&x, &distance).map_err(|kept| {
            Error::invalid(format!(
                "--eps keeps more than {MAX_KEPT} draws ({kept} after {} of {draws} draws), more than innfer holds in memory; lower --eps or use --keep K",
                done + rows
            ))
        })?;
        done += rows;
        on_chunk(done);
    }
    kept.finish(observations, dim_x, device)
}

/// What has been accepted so far.
enum Kept {
    /// The k nearest per observation: distances [m, k] and samples [m, k, dim_x].
    Nearest { distance: Tensor, x: Tensor },
    /// (observation, x, distance) of every draw within `eps`, and how many rows they hold.
    Within { eps: f64, parts: Vec<(Tensor, Tensor, Tensor)>, rows: i64 },
}

impl Kept {
    /// Merges a chunk of draws `x` with their distances [m, rows] to each observation; fails with the
    /// number of rows kept when they would be more than [`MAX_KEPT`].
    fn add(&mut self, x: &Tensor, distance: &Tensor) -> std::result::Result<(), i64> {
        match self {
            Kept::Nearest { distance: best, x: best_x } => {
                let (m, k) = (best.size()[0], best.size()[1]);
                let (near, index) = distance.topk(k.min(x.size()[0]), 1, false, false);
                let near_x = x.index_select(0, &index.reshape([-1])).view([m, -1, x.size()[1]]);
                let merged = Tensor::cat(&[&*best, &near], 1);
                let (new_best, position) = merged.topk(k, 1, false, false);
                let gather = position.unsqueeze(2).expand([m, k, x.size()[1]], false);
                *best_x = Tensor::cat(&[&*best_x, &near_x], 1).gather(1, &gather, false);
                *best = new_best;
            }
            Kept::Within { eps, parts, rows } => {
                let hits = distance.le(*eps).nonzero();
                *rows += hits.size()[0];
                if *rows > MAX_KEPT {
                    return Err(*rows);
                }
                let (obs, index) = (hits.select(1, 0), hits.select(1, 1));
                let dist = distance.index(&[Some(&obs), Some(&index)]);
                parts.push((obs, x.index_select(0, &index), dist));
            }
        }
        Ok(())
    }

    /// Rows grouped by observation (ordered by distance in the `Within` case).
    fn finish(self, observations: i64, dim_x: i64, device: Device) -> Result<AbcSamples> {
        let (obs, x, distance) = match self {
            Kept::Nearest { distance, x } => {
                let k = distance.size()[1];
                let obs = Tensor::arange(observations, (Kind::Int64, device)).repeat_interleave_self_int(k, 0, None);
                (obs, x.view([-1, dim_x]), distance.view([-1]))
            }
            Kept::Within { parts, .. } => {
                let obs: Vec<&Tensor> = parts.iter().map(|p| &p.0).collect();
                let x: Vec<&Tensor> = parts.iter().map(|p| &p.1).collect();
                let distance: Vec<&Tensor> = parts.iter().map(|p| &p.2).collect();
                let (obs, x, distance) = (Tensor::cat(&obs, 0), Tensor::cat(&x, 0), Tensor::cat(&distance, 0));
                let order = (obs.to_kind(Kind::Double) * 1e6 + distance.to_kind(Kind::Double)).argsort(0, false);
                (obs.index_select(0, &order), x.index_select(0, &order), distance.index_select(0, &order))
            }
        };
        let accepted = Vec::<i64>::try_from(obs.bincount::<Tensor>(None, observations))?;
        Ok(AbcSamples { x, obs, distance, accepted })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::checkpoint::ProblemInfo;

    /// x ~ N(0, 1), y = x + N(0, 1): the posterior of x given y* is N(y*/2, 1/2).
    struct Conjugate;

    impl Problem for Conjugate {
        fn info(&self) -> ProblemInfo {
            ProblemInfo { name: "conjugate".into(), options: Default::default(), x_names: vec!["x".into()], y_names: vec!["y".into()] }
        }
        fn sample_prior(&self, n: i64, device: Device) -> Tensor {
            Tensor::randn([n, 1], (Kind::Float, device))
        }
        fn simulate(&self, x: &Tensor) -> crate::Result<Tensor> {
            Ok(x + Tensor::randn_like(x))
        }
        fn inn_widths(&self) -> (i64, i64) {
            (1, 2)
        }
    }

    fn moments(x: &Tensor) -> (f64, f64) {
        let x = x.to_kind(Kind::Double);
        (x.mean(Kind::Double).double_value(&[]), x.var(true).double_value(&[]))
    }

    #[test]
    fn recovers_a_known_posterior_for_several_observations() {
        tch::manual_seed(3);
        let targets = Tensor::from_slice(&[1.0f32, -2.0]).view([2, 1]);
        let mut chunks = 0;
        let samples =
            rejection_abc(&Conjugate, &targets, 2_000_000, Acceptance::Nearest(3000), 300_000, Device::Cpu, &mut |_| chunks += 1).unwrap();
        assert_eq!(chunks, 7);
        assert_eq!(samples.accepted, [3000, 3000]);
        for (index, target) in [1.0, -2.0].into_iter().enumerate() {
            let rows = crate::sample::rows_of_observation(&samples.x, &samples.obs, index as i64);
            let (mean, variance) = moments(&rows);
            assert!((mean - target / 2.0).abs() < 0.05, "obs {index}: mean {mean}");
            assert!((variance - 0.5).abs() < 0.05, "obs {index}: variance {variance}");
        }
        // The kept draws are the nearest: none farther than a small tolerance.
        assert!(samples.distance.max().double_value(&[]) < 0.01);
    }

    #[test]
    fn tolerance_acceptance_keeps_only_close_draws() {
        tch::manual_seed(4);
        let targets = Tensor::from_slice(&[0.5f32]).view([1, 1]);
        let samples = rejection_abc(&Conjugate, &targets, 1_000_000, Acceptance::Within(0.01), 250_000, Device::Cpu, &mut |_| {}).unwrap();
        assert!(samples.distance.max().double_value(&[]) <= 0.01);
        let (mean, variance) = moments(&samples.x);
        assert!(samples.accepted[0] > 2000, "{:?}", samples.accepted);
        assert!((mean - 0.25).abs() < 0.05 && (variance - 0.5).abs() < 0.06, "{mean} {variance}");
    }

    #[test]
    fn rejects_bad_settings() {
        let targets = Tensor::zeros([1, 1], (Kind::Float, Device::Cpu));
        for (draws, acceptance) in [(0, Acceptance::Nearest(1)), (10, Acceptance::Nearest(11)), (10, Acceptance::Within(-1.0))] {
            assert!(rejection_abc(&Conjugate, &targets, draws, acceptance, 10, Device::Cpu, &mut |_| {}).is_err());
        }
    }

    #[test]
    fn draws_within_eps_are_bounded_by_memory() {
        let x = Tensor::zeros([3, 1], (Kind::Float, Device::Cpu));
        let near = Tensor::zeros([1, 3], (Kind::Float, Device::Cpu));
        let mut kept = Kept::Within { eps: 1.0, parts: Vec::new(), rows: MAX_KEPT - 3 };
        assert_eq!(kept.add(&x, &near), Ok(()), "up to the limit");
        assert_eq!(kept.add(&x, &near), Err(MAX_KEPT + 3), "past it: the count kept");
    }
}
