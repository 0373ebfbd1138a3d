//! Rejection ABC: prior draws simulated on the device in chunks, kept when their y lies near y*.

use tch::{Device, Kind, Tensor};

use crate::error::{Error, Result};
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
    match acceptance {
        Acceptance::Nearest(k) if k < 1 || k > draws => {
            return Err(Error::invalid(format!("--keep must be between 1 and the number of draws, not {k}")))
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
        Acceptance::Within(eps) => Kept::Within {
            eps,
            parts: Vec::new(),
        },
    };
    let mut done = 0;
    while done < draws {
        let rows = chunk.min(draws - done);
        let x = problem.sample_prior(rows, device);
        let distance = distances(&targets, &problem.simulate(&x));
        kept.add(&x, &distance);
        done += rows;
        on_chunk(done);
    }
    kept.finish(observations, dim_x, device)
}

/// What has been accepted so far.
enum Kept {
    /// The k nearest per observation: distances [m, k] and samples [m, k, dim_x].
    Nearest { distance: Tensor, x: Tensor },
    /// (observation, x, distance) of every draw within `eps`.
    Within { eps: f64, parts: Vec<(Tensor, Tensor, Tensor)> },
}

impl Kept {
    /// Merges a chunk of draws `x` with their distances [m, rows] to each observation.
    fn add(&mut self, x: &Tensor, distance: &Tensor) {
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
            Kept::Within { eps, parts } => {
                let hits = distance.le(*eps).nonzero();
                let (obs, index) = (hits.select(1, 0), hits.select(1, 1));
                let dist = distance.index(&[Some(&obs), Some(&index)]);
                parts.push((obs, x.index_select(0, &index), dist));
            }
        }
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
