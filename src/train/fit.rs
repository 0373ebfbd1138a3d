//! The shared training loop: batches, Adam with decay and clipping, stopping, logging, checkpoints.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tch::{Kind, Tensor};

use super::adam::{AdamConfig, FlatAdam};
use super::config::TrainConfig;
use super::objective::Objective;
use crate::error::{Error, Result};
use crate::model::checkpoint::{BestValidation, TrainingSummary};
use crate::model::Model;
use crate::problem::Problem;

/// Where training batches come from.
pub enum TrainingData<'a> {
    /// A fixed set of raw rows, reshuffled every epoch, with optional held-out rows.
    Fixed {
        /// Rows of x.
        x: Tensor,
        /// Rows of y.
        y: Tensor,
        /// Held-out rows (x, y): their loss is logged, and the model with the lowest one is kept.
        validation: Option<(Tensor, Tensor)>,
    },
    /// Fresh draws from the problem's joint distribution every step.
    Fresh(&'a dyn Problem),
}

/// One row of the training log.
#[derive(Debug, Clone)]
pub struct LogRecord {
    /// Optimiser steps so far.
    pub step: u64,
    /// Passes over the training set so far.
    pub epoch: f64,
    /// Seconds since training started.
    pub elapsed: f64,
    /// Fraction of the run done, by whichever limit is closest.
    pub progress: f64,
    /// Current learning rate.
    pub lr: f64,
    /// Mean of each loss term since the previous record.
    pub losses: Vec<(&'static str, f64)>,
    /// Training rows per second since the previous record.
    pub samples_per_second: f64,
    /// Loss on the held-out rows, when there are any.
    pub validation: Option<f64>,
}

/// Held-out rows scored at each check (the first ones when there are more), in chunks of at least
/// `VALIDATION_CHUNK` rows (or one training batch, if larger).
const VALIDATION_ROWS: i64 = 4000;
const VALIDATION_CHUNK: i64 = 1000;

/// Held-out rows and the best model on them so far.
struct Validation {
    x: Tensor,
    y: Tensor,
    best: Option<(f64, u64)>,
    best_model: Model,
}

impl Validation {
    /// The mean loss of `model` on the held-out rows, in chunks of whole training batches.
    fn loss(&self, model: &Model, objective: &dyn Objective, batch: i64) -> Result<f64> {
        let rows = self.x.size()[0].min(VALIDATION_ROWS);
        let chunk = batch.max(VALIDATION_CHUNK).min(rows);
        let chunks = rows / chunk;
        let total = (0..chunks)
            .map(|index| {
                let start = index * chunk;
                objective.validation_loss(model, &self.x.narrow(0, start, chunk), &self.y.narrow(0, start, chunk))
            })
            .fold(Tensor::zeros([], (Kind::Float, model.device())), |sum, loss| sum + loss);
        Ok(total.double_value(&[]) / chunks as f64)
    }

    /// Scores `model` at `step`; keeps a copy of it when it is the best so far.
    fn check(&mut self, model: &Model, objective: &dyn Objective, batch: i64, step: u64) -> Result<f64> {
        let loss = self.loss(model, objective, batch)?;
        if loss.is_finite() && self.best.map_or(true, |(best, _)| loss < best) {
            self.best_model.vars.copy(&model.vars)?;
            self.best = Some((loss, step));
        }
        Ok(loss)
    }
}

/// Callbacks of the training loop: stop request, log records, checkpoints.
pub struct Hooks<'a> {
    /// Set (by a signal handler, say) to stop after the current step.
    pub stop: &'a AtomicBool,
    /// Called every `log_every` steps and at the end.
    pub on_log: &'a mut dyn FnMut(&LogRecord) -> Result<()>,
    /// Called every `checkpoint_every` and at the end, with the summary so far.
    pub on_checkpoint: &'a mut dyn FnMut(&Model, &TrainingSummary) -> Result<()>,
}

/// Fraction of the run done after `step` steps, `epoch` epochs and `elapsed` time.
fn progress(config: &TrainConfig, step: u64, epoch: f64, elapsed: Duration) -> f64 {
    let stop = &config.stop;
    let by_steps = stop.steps.map(|steps| step as f64 / steps as f64);
    let by_epochs = stop.epochs.map(|epochs| epoch / epochs);
    let by_time = stop.budget.map(|budget| elapsed.as_secs_f64() / budget.as_secs_f64().max(1e-9));
    [by_steps, by_epochs, by_time].into_iter().flatten().fold(0.0, f64::max).min(1.0)
}

/// Trains `model` on `data` with `objective` until a limit of `config.stop` is reached or a stop is
/// requested; returns what it did. The model's standardisation must already be set.
pub fn fit(
    model: &mut Model,
    objective: &dyn Objective,
    data: TrainingData<'_>,
    config: &TrainConfig,
    hooks: Hooks<'_>,
) -> Result<TrainingSummary> {
    config.validate()?;
    let device = model.device();
    let adam = AdamConfig { beta1: 0.9, beta2: 0.999, eps: 1e-6, weight_decay: config.weight_decay };
    let mut optimiser = FlatAdam::new(&model.vars.trainable_variables(), adam)?;
    if let Some(decay) = config.weight_average {
        optimiser.keep_average(decay);
    }
    let standardise = |x: &Tensor, y: &Tensor| model.standardise(x, y);
    let mut validation = None;
    let data = match data {
        TrainingData::Fixed { x, y, validation: held_out } => {
            if let Some((x, y)) = held_out {
                let (x, y) = standardise(&x.to_device(device), &y.to_device(device));
                let best_model = Model::new(model.spec.clone(), device)?;
                let mut held_out = Validation { x, y, best: None, best_model };
                // The starting model is a candidate too (a cINN with a regression may already be good).
                held_out.check(model, objective, config.batch, 0)?;
                validation = Some(held_out);
            }
            let (x, y) = standardise(&x.to_device(device), &y.to_device(device));
            TrainingData::Fixed { x, y, validation: None }
        }
        fresh => fresh,
    };
    let rows = match &data {
        TrainingData::Fixed { x, .. } => x.size()[0],
        TrainingData::Fresh(_) => config.samples,
    };
    if rows < config.batch {
        return Err(Error::invalid(format!("the training set has {rows} rows, fewer than one batch ({})", config.batch)));
    }
    let batches_per_epoch = (rows / config.batch).max(1);

    let start = Instant::now();
    let mut last_checkpoint = Instant::now();
    let mut last_log = (Instant::now(), 0u64);
    let mut sums = Tensor::zeros([objective.terms().len() as i64], (Kind::Float, device));
    let mut gradient_norms = Tensor::zeros([], (Kind::Float, device));
    let mut order = Tensor::empty([0], (Kind::Int64, device));
    let mut step = 0u64;
    let mut summary = TrainingSummary { settings: serde_json::to_value(config).unwrap_or_default(), ..Default::default() };
    loop {
        let epoch = step as f64 / batches_per_epoch as f64;
        let done = progress(config, step, epoch, start.elapsed());
        let finished = done >= 1.0 || hooks.stop.load(Ordering::Relaxed) || summary.stopped_early;
        let lr = config.lr * config.lr_end_factor.powf(done);

        // Losses and gradients are read back (and checked) only here; checkpoints are taken only
        // right after such a check, so a diverged model is never saved.
        let checked = finished || (step > 0 && step % config.log_every == 0);
        // With a weight average, the model holds it while it is validated and checkpointed (and at the end).
        let averaged = checked && optimiser.swap_average();
        if checked {
            let since = (step - last_log.1).max(1);
            let means = Vec::<f64>::try_from((&sums / since as f64).to_kind(Kind::Double))?;
            if let Some((name, _)) = objective.terms().iter().zip(&means).find(|(_, value)| !value.is_finite()) {
                return Err(Error::Diverged { step, what: format!("loss {name}") });
            }
            if !gradient_norms.double_value(&[]).is_finite() {
                return Err(Error::Diverged { step, what: "the gradient".into() });
            }
            let seconds = last_log.0.elapsed().as_secs_f64().max(1e-9);
            let record = LogRecord {
                step,
                epoch,
                elapsed: start.elapsed().as_secs_f64(),
                progress: done,
                lr,
                losses: objective.terms().iter().copied().zip(means.iter().copied()).collect(),
                samples_per_second: ((step - last_log.1) as f64 * config.batch as f64) / seconds,
                validation: match validation.as_mut() {
                    Some(validation) if step > 0 => Some(validation.check(model, objective, config.batch, step)?),
                    _ => None,
                },
            };
            // Early stopping: the held-out loss has not improved for `patience` epochs.
            if let (Some(patience), Some(Validation { best: Some((_, best_step)), .. })) = (config.patience, &validation) {
                summary.stopped_early |= (step - best_step) as f64 >= patience * batches_per_epoch as f64;
            }
            if step > last_log.1 {
                summary.final_losses = record.losses.iter().map(|(name, value)| (name.to_string(), *value)).collect();
                (hooks.on_log)(&record)?;
            }
            sums = sums.zero_();
            gradient_norms = gradient_norms.zero_();
            last_log = (Instant::now(), step);
        }
        summary.steps = step;
        summary.seconds = start.elapsed().as_secs_f64();
        // With held-out rows, the checkpoint is the best model on them.
        let (kept, best) = match &validation {
            Some(Validation { best: Some((loss, step)), best_model, .. }) => {
                (best_model, Some(BestValidation { step: *step, loss: *loss }))
            }
            _ => (&*model, None),
        };
        summary.best_validation = best;
        if finished {
            (hooks.on_checkpoint)(kept, &summary)?;
            if let Some(Validation { best: Some(_), best_model, .. }) = &validation {
                model.vars.copy(&best_model.vars)?;
            }
            return Ok(summary);
        }
        if checked && last_checkpoint.elapsed() >= config.checkpoint_every {
            (hooks.on_checkpoint)(kept, &summary)?;
            last_checkpoint = Instant::now();
        }
        if averaged {
            optimiser.swap_average();
        }

        let (x, y) = match &data {
            TrainingData::Fixed { x, y, .. } => {
                let within = step as i64 % batches_per_epoch;
                if within == 0 {
                    order = Tensor::randperm(rows, (Kind::Int64, device));
                }
                let index = order.narrow(0, within * config.batch, config.batch);
                (x.index_select(0, &index), y.index_select(0, &index))
            }
            TrainingData::Fresh(problem) => {
                let (x, y) = problem.sample_joint(config.batch, device)?;
                standardise(&x, &y)
            }
        };
        let (values, gradient_norm) = optimisation_step(&mut optimiser, model, objective, (&x, &y), done, (lr, config.grad_clip));
        gradient_norms += gradient_norm;
        sums += values.to_kind(Kind::Float);
        step += 1;
    }
}

/// One optimiser step on a batch: gradients of every loss term, clipped to `clip`, one Adam update
/// with learning rate `lr`. Returns the detached loss terms and the gradient norm before clipping
/// (no host sync).
pub fn optimisation_step(
    optimiser: &mut FlatAdam,
    model: &Model,
    objective: &dyn Objective,
    (x, y): (&Tensor, &Tensor),
    progress: f64,
    (lr, clip): (f64, f64),
) -> (Tensor, Tensor) {
    optimiser.zero_grad();
    let values = objective.backward(model, x, y, progress);
    let gradient_norm = optimiser.clip_gradients(clip);
    optimiser.step(lr);
    (values, gradient_norm)
}
