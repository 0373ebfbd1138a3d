//! Posterior sampling: z ~ N(0, I), then the inverse pass given each observation y*.

use tch::{Device, Kind, Tensor};

use crate::error::{guard, Error, Result};
use crate::model::{Bounds, Model, ModelKind};

/// Rows computed at once: on a CPU small chunks keep the activations in cache (measured on 2 cores:
/// 2^12 rows 3.9·10^5 samples/s, 2^18 rows 2.4·10^5); a GPU wants large ones.
fn chunk_rows(device: Device) -> i64 {
    match device {
        Device::Cpu => 1 << 12,
        _ => 1 << 18,
    }
}

/// Most samples drawn in one call (all of them are held in memory).
pub const MAX_SAMPLES: i64 = 200_000_000;

/// Checks that `y` has one row per observation and the model's width of y.
fn check_observations(model: &Model, y: &Tensor) -> Result<()> {
    let width = model.spec.dims.y;
    if y.dim() != 2 || y.size()[1] != width {
        return Err(Error::invalid(format!(
            "observations have {} columns, the model expects {width}",
            y.size().get(1).copied().unwrap_or(0)
        )));
    }
    Ok(())
}

/// The rows of `x` that belong to observation `index`, given each row's observation `obs`.
pub fn rows_of_observation(x: &Tensor, obs: &Tensor, index: i64) -> Tensor {
    x.index_select(0, &obs.eq(index).nonzero().view([-1]))
}

/// The rows of `x` split by observation `0..observations`.
pub fn group_by_observation(x: &Tensor, obs: &Tensor, observations: i64) -> Vec<Tensor> {
    (0..observations).map(|index| rows_of_observation(x, obs, index)).collect()
}

/// Most samples in one part of [`posterior_in_parts`].
pub const PART_ROWS: i64 = 1 << 20;

/// `n` posterior samples of x for each row of `y`, like [`posterior`], handed to `sink` in parts of at
/// most [`PART_ROWS`] samples (whole observations, or a share of one), grouped by observation and in
/// order, so that no more than one part is ever in memory.
pub fn posterior_in_parts(model: &Model, y: &Tensor, n: i64, sink: &mut dyn FnMut(Tensor, Tensor) -> Result<()>) -> Result<()> {
    check_observations(model, y)?;
    if n < 1 {
        return Err(Error::invalid(format!("the number of samples must be at least 1, not {n}")));
    }
    let observations = y.size()[0];
    let per_part = (PART_ROWS / n).max(1);
    for first in (0..observations).step_by(per_part as usize) {
        let group = y.narrow(0, first, per_part.min(observations - first));
        let mut left = n;
        while left > 0 {
            let count = left.min(PART_ROWS);
            let what = format!("sampling {} rows at once", count * group.size()[0]);
            let (x, obs) = guard(&what, "--n (or the number of observations)", || posterior(model, &group, count))?;
            sink(x, obs + first)?;
            left -= count;
        }
    }
    Ok(())
}

/// Rounds of drawing again for the samples that fell outside the prior's support.
const SUPPORT_ROUNDS: usize = 20;
/// Most draws per observation in one round of drawing again, in multiples of the samples asked for.
const REDRAW_FACTOR: i64 = 100;

/// `n` posterior samples of x for each row of the raw observations `y` ([m, dim_y]).
/// Returns the samples [m·n, dim_x] grouped by observation, and each sample's observation index [m·n].
/// A model with the prior's bounds draws only samples inside them (rejecting the others, as sbi does).
pub fn posterior(model: &Model, y: &Tensor, n: i64) -> Result<(Tensor, Tensor)> {
    let Some(bounds) = &model.spec.x_bounds else { return model_draws(model, y, n) };
    let (y, indices) = prepared(model, y, n)?;
    draw_inside(model, &y, bounds, &indices, n)
}

/// `n` draws of the model for each row of the raw observations `y`, inside the prior's bounds or not
/// (the model's own distribution, which a threshold of its density is taken from), grouped by
/// observation as in [`posterior`].
pub fn model_draws(model: &Model, y: &Tensor, n: i64) -> Result<(Tensor, Tensor)> {
    let (y, indices) = prepared(model, y, n)?;
    let obs = indices.repeat_interleave_self_int(n, 0, None);
    Ok((draw(model, &y, &obs), obs))
}

/// The standardised observations on the model's device and their indices, once checked for `n`
/// samples each.
fn prepared(model: &Model, y: &Tensor, n: i64) -> Result<(Tensor, Tensor)> {
    check_observations(model, y)?;
    if n < 1 {
        return Err(Error::invalid(format!("the number of samples must be at least 1, not {n}")));
    }
    let total = y.size()[0].saturating_mul(n);
    if total > MAX_SAMPLES {
        return Err(Error::invalid(format!("{total} samples at once is more than the {MAX_SAMPLES} innfer holds in memory; lower --n")));
    }
    let device = model.device();
    let y = model.spec.y_scale.apply(&y.to_device(device).to_kind(model.kind()));
    let indices = Tensor::arange(y.size()[0], (Kind::Int64, device));
    Ok((y, indices))
}

/// `n` posterior samples inside `bounds` for each of the standardised observations `y` (numbered by
/// `indices`), grouped by observation: draws, keeps those inside, and draws again for the rest.
fn draw_inside(model: &Model, y: &Tensor, bounds: &Bounds, indices: &Tensor, n: i64) -> Result<(Tensor, Tensor)> {
    let (observations, device) = (indices.size()[0], indices.device());
    let (mut kept, mut kept_obs) = (Vec::new(), Vec::new());
    let mut missing = Tensor::full([observations], n, (Kind::Int64, device));
    let mut obs = indices.repeat_interleave_self_int(n, 0, None);
    for _ in 0..SUPPORT_ROUNDS {
        let x = draw(model, y, &obs);
        let inside = bounds.contains(&x).nonzero().view([-1]);
        let (x, obs_inside) = (x.index_select(0, &inside), obs.index_select(0, &inside));
        // Rows are grouped by observation: keep the first `missing` of each group.
        let counts = obs_inside.bincount::<Tensor>(None, observations);
        let group_start = counts.cumsum(0, Kind::Int64) - &counts;
        let rank = Tensor::arange(obs_inside.size()[0], (Kind::Int64, device)) - group_start.index_select(0, &obs_inside);
        let keep = rank.lt_tensor(&missing.index_select(0, &obs_inside)).nonzero().view([-1]);
        kept.push(x.index_select(0, &keep));
        kept_obs.push(obs_inside.index_select(0, &keep));
        let drawn = obs.bincount::<Tensor>(None, observations);
        missing -= counts.minimum(&missing);
        if missing.sum(Kind::Int64).int64_value(&[]) == 0 {
            let (x, obs) = (Tensor::cat(&kept, 0), Tensor::cat(&kept_obs, 0));
            let order = obs.argsort_stable(true, 0, false);
            return Ok((x.index_select(0, &order), obs.index_select(0, &order)));
        }
        // Draw again for what is missing, scaled by each observation's acceptance in this round (half
        // as much again), at most REDRAW_FACTOR·n per observation (and MAX_SAMPLES in all).
        let acceptance = counts.to_kind(Kind::Double).clamp_min(1.0) / drawn.to_kind(Kind::Double).clamp_min(1.0);
        let most = (REDRAW_FACTOR * n).min(MAX_SAMPLES / observations);
        let again = (missing.to_kind(Kind::Double) * 1.5 / acceptance).ceil().clamp_max(most as f64);
        obs = indices.repeat_interleave_self_tensor(&again.to_kind(Kind::Int64), 0, None);
    }
    let worst = missing.argmax(0, false).int64_value(&[]);
    Err(Error::invalid(format!(
        "after {SUPPORT_ROUNDS} rounds of drawing, {} of the {n} samples for observation {} still fall outside the \
         prior's support: the model puts almost no mass there (is it an observation the prior can produce?)",
        missing.int64_value(&[worst]),
        worst + 1
    )))
}

/// `compute(start, count)` over consecutive chunks of `rows` rows ([`chunk_rows`] each), without
/// gradients, concatenated along the rows; `empty()` when there are none.
fn in_chunks(rows: i64, device: Device, empty: impl FnOnce() -> Tensor, mut compute: impl FnMut(i64, i64) -> Tensor) -> Tensor {
    let mut chunks = Vec::new();
    tch::no_grad(|| {
        let mut start = 0;
        while start < rows {
            let count = chunk_rows(device).min(rows - start);
            chunks.push(compute(start, count));
            start += count;
        }
    });
    if chunks.is_empty() {
        return empty();
    }
    Tensor::cat(&chunks, 0)
}

/// A posterior sample for each entry of `obs` (indices into the standardised observations `y`).
fn draw(model: &Model, y: &Tensor, obs: &Tensor) -> Tensor {
    let (device, kind, dims) = (model.device(), model.kind(), model.spec.dims);
    in_chunks(
        obs.size()[0],
        device,
        || Tensor::empty([0, dims.x], (kind, device)),
        |start, rows| {
            let y_rows = y.index_select(0, &obs.narrow(0, start, rows));
            let u = match model.spec.kind {
                ModelKind::Inn => {
                    let z = Tensor::randn([rows, dims.z], (kind, device));
                    let joined = match model.spec.output_noise {
                        Some(noise) => dims.join_zy(&z, &(&y_rows + y_rows.randn_like() * noise.y), noise.pad),
                        None => dims.join_zy(&z, &y_rows, 0.0),
                    };
                    model.network().inverse_rows(&joined, None)
                }
                ModelKind::Cinn => {
                    let z = Tensor::randn([rows, dims.x], (kind, device));
                    model.inverse_rows(&z, &y_rows)
                }
            };
            model.decode_x(&u, &y_rows)
        },
    )
}

/// The paper's INN's prediction of y for raw rows `x` (its forward pass).
pub fn predict_y(model: &Model, x: &Tensor) -> Result<Tensor> {
    if model.spec.kind != ModelKind::Inn {
        return Err(Error::invalid("only the paper's INN predicts y from x; a cINN models x given y"));
    }
    let dims = model.spec.dims;
    if x.dim() != 2 || x.size()[1] != dims.x {
        return Err(Error::invalid(format!("x has {} columns, the model expects {}", x.size().get(1).copied().unwrap_or(0), dims.x)));
    }
    let x = x.to_device(model.device()).to_kind(model.kind());
    let v = tch::no_grad(|| model.network().forward(&model.encode_x(&x, 0.0), None).0);
    let (_, _, y) = dims.split_zy(&v);
    Ok(model.spec.y_scale.undo(&y))
}

/// A cINN's log density log q(x | y) of raw rows `x` [n, dim_x], each given its raw observation `y`
/// [n, dim_y]: the flow's density through every standardisation (the prior's bounds, which sampling
/// enforces, only scale it by a constant for each y).
pub fn log_density(model: &Model, x: &Tensor, y: &Tensor) -> Result<Tensor> {
    if model.spec.kind != ModelKind::Cinn {
        return Err(Error::invalid("only a cINN has a tractable density q(x | y); the paper's INN does not"));
    }
    check_observations(model, y)?;
    let dims = model.spec.dims;
    if x.dim() != 2 || x.size()[1] != dims.x || x.size()[0] != y.size()[0] {
        return Err(Error::invalid(format!("log density: x is {:?}, expected [{}, {}]", x.size(), y.size()[0], dims.x)));
    }
    let (device, kind) = (model.device(), model.kind());
    let (x, y) = (x.to_device(device).to_kind(kind), y.to_device(device).to_kind(kind));
    let constant = model.standardised_log_det() - 0.5 * dims.x as f64 * (2.0 * std::f64::consts::PI).ln();
    Ok(in_chunks(
        x.size()[0],
        device,
        || Tensor::empty([0], (kind, device)),
        |start, count| {
            let rows = x.narrow(0, start, count);
            let (u, condition) = model.standardise(&rows, &y.narrow(0, start, count));
            model.flow_log_density(&u, &condition) + model.spec.x_scale.log_jacobian(&rows) + constant
        },
    ))
}
