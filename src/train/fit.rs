//! The shared training loop: batches, Adam with decay and clipping, stopping, logging, checkpoints.
//!
//! Every random choice is drawn from a seed derived from the run's seed and the step (see
//! [`crate::seeding`]), and the optimiser's whole state is checkpointed, so that a run stopped at any
//! step and resumed ends with the same weights as the run that never stopped (on the CPU).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use tch::{Kind, Tensor};

use super::adam::{AdamConfig, FlatAdam, OptimiserState};
use super::config::TrainConfig;
use super::objective::Objective;
use super::stream::{ShuffleBuffer, StreamedData};
use crate::error::{guard, Error, Result};
use crate::model::checkpoint::{BestValidation, TrainingSummary};
use crate::model::Model;
use crate::problem::Problem;
use crate::seeding::{reseed, Stream};

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
    /// Rows read from files as training goes, through a shuffle buffer.
    Streamed(StreamedData),
}

impl TrainingData<'_> {
    /// Whether rows are held out to validate.
    pub fn validated(&self) -> bool {
        match self {
            TrainingData::Fixed { validation, .. } => validation.is_some(),
            TrainingData::Fresh(_) => false,
            TrainingData::Streamed(data) => data.validation.is_some(),
        }
    }
}

/// One row of the training log.
#[derive(Debug, Clone)]
pub struct LogRecord {
    /// Optimiser steps so far.
    pub step: u64,
    /// Passes over the training set so far.
    pub epoch: f64,
    /// Seconds spent training so far.
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

/// What a checkpoint saves: the model to keep, the summary so far, and the optimiser's state.
pub struct Snapshot<'a> {
    /// The model to save (the best on held-out rows, or the weight average, or the last weights).
    pub model: &'a Model,
    /// What training did so far.
    pub summary: &'a TrainingSummary,
    /// What a resume needs besides the saved model.
    pub optimiser: OptimiserState,
}

/// Callbacks of the training loop: stop request, log records, checkpoints.
pub struct Hooks<'a> {
    /// Set (by a signal handler, say) to stop after the current step.
    pub stop: &'a AtomicBool,
    /// Called every `log_every` steps and at the end.
    pub on_log: &'a mut dyn FnMut(&LogRecord) -> Result<()>,
    /// Called every `checkpoint_every` and at the end.
    pub on_checkpoint: &'a mut dyn FnMut(&Snapshot) -> Result<()>,
}

/// A checkpointed run to continue: its summary (steps, seconds, best model) and optimiser state.
/// The model given to [`fit`] must hold the checkpoint's saved weights.
pub struct Resumed {
    /// What training had done.
    pub summary: TrainingSummary,
    /// The optimiser's state at that step.
    pub optimiser: OptimiserState,
}

/// Held-out rows scored at each check (the first ones when there are more), in chunks of at least
/// `VALIDATION_CHUNK` rows (or one training batch, if larger).
pub(crate) const VALIDATION_ROWS: i64 = 4000;
const VALIDATION_CHUNK: i64 = 1000;

/// Held-out rows and the best model on them so far.
struct Validation {
    x: Tensor,
    y: Tensor,
    best: Option<BestValidation>,
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

    /// Scores `model` at `step`; with `candidate`, keeps a copy of it when it is the best so far.
    fn check(&mut self, model: &Model, objective: &dyn Objective, batch: i64, step: u64, candidate: bool) -> Result<f64> {
        let loss = self.loss(model, objective, batch)?;
        if candidate && loss.is_finite() && self.best.map_or(true, |best| loss < best.loss) {
            self.best_model.vars.copy(&model.vars)?;
            self.best = Some(BestValidation { loss, step });
        }
        Ok(loss)
    }
}

/// Fraction of the run done after `step` steps, `epoch` epochs and `elapsed` seconds.
fn progress(config: &TrainConfig, step: u64, epoch: f64, elapsed: f64) -> f64 {
    let stop = &config.stop;
    let by_steps = stop.steps.map(|steps| step as f64 / steps as f64);
    let by_epochs = stop.epochs.map(|epochs| epoch / epochs);
    let by_time = stop.budget.map(|budget| elapsed / budget.as_secs_f64().max(1e-9));
    [by_steps, by_epochs, by_time].into_iter().flatten().fold(0.0, f64::max).min(1.0)
}

/// Batches of standardised rows, each drawn from the seeds of its step.
enum Batches<'a> {
    Fixed { x: Tensor, y: Tensor, order: Option<(u64, Tensor)> },
    Fresh(&'a dyn Problem),
    Streamed(ShuffleBuffer),
}

impl Batches<'_> {
    /// The rows of optimiser step `step` (in epoch `step / per_epoch`), then reseeds for its noise.
    fn batch(&mut self, model: &Model, config: &TrainConfig, step: u64, per_epoch: u64) -> Result<(Tensor, Tensor)> {
        match self {
            Batches::Fixed { x, y, order } => {
                let epoch = step / per_epoch;
                if order.as_ref().map_or(true, |(current, _)| *current != epoch) {
                    reseed(config.seed, Stream::Epoch, epoch);
                    *order = Some((epoch, Tensor::randperm(x.size()[0], (Kind::Int64, x.device()))));
                }
                let (_, order) = order.as_ref().expect("the epoch's order was just drawn");
                let index = order.narrow(0, (step % per_epoch) as i64 * config.batch, config.batch);
                reseed(config.seed, Stream::Step, step);
                Ok((x.index_select(0, &index), y.index_select(0, &index)))
            }
            Batches::Fresh(problem) => {
                reseed(config.seed, Stream::Step, step);
                let (x, y) = problem.sample_joint(config.batch, model.device())?;
                Ok(model.standardise(&x, &y))
            }
            Batches::Streamed(buffer) => buffer.batch(model, config, step),
        }
    }
}

/// Clock and loss sums since the last log record.
struct Since {
    started: Instant,
    earlier_seconds: f64,
    last_log: (Instant, u64),
    last_checkpoint: Instant,
    sums: Tensor,
    gradient_norms: Tensor,
}

impl Since {
    fn seconds(&self) -> f64 {
        self.earlier_seconds + self.started.elapsed().as_secs_f64()
    }
}

/// The loop's state.
struct Trainer<'a> {
    model: &'a mut Model,
    objective: &'a dyn Objective,
    config: &'a TrainConfig,
    batches: Batches<'a>,
    per_epoch: u64,
    optimiser: FlatAdam,
    validation: Option<Validation>,
    summary: TrainingSummary,
    since: Since,
}

/// Trains `model` on `data` with `objective` until a limit of `config.stop` is reached or a stop is
/// requested; returns what training did in all. The model's standardisation must already be set;
/// with `resumed`, the model holds the checkpoint's weights and training continues from its step.
pub fn fit(
    model: &mut Model,
    objective: &dyn Objective,
    data: TrainingData<'_>,
    config: &TrainConfig,
    resumed: Option<Resumed>,
    hooks: Hooks<'_>,
) -> Result<TrainingSummary> {
    config.validate()?;
    let resuming = resumed.is_some();
    let mut trainer = Trainer::new(model, objective, data, config, resumed)?;
    if resuming {
        trainer.refuse_if_done()?;
    }
    loop {
        let step = trainer.summary.steps;
        let epoch = step as f64 / trainer.per_epoch as f64;
        let done = progress(config, step, epoch, trainer.since.seconds());
        let interrupted = hooks.stop.load(Ordering::Relaxed) && done < 1.0;
        let finished = done >= 1.0 || interrupted || trainer.summary.stopped_early;
        let lr = config.lr * config.lr_end_factor.powf(done);
        // Losses and gradients are read back (and checked) only here; checkpoints are taken only
        // right after such a check, so a diverged model is never saved.
        let checked = finished || (step > 0 && step % config.log_every == 0);
        // With a weight average, the model holds it while it is validated and checkpointed.
        let averaged = checked && trainer.optimiser.swap_average();
        if checked {
            trainer.check(epoch, (done, lr), interrupted, hooks.on_log)?;
        }
        if finished {
            trainer.summary.interrupted = interrupted;
            return trainer.finish(hooks.on_checkpoint);
        }
        if checked && trainer.since.last_checkpoint.elapsed() >= config.checkpoint_every {
            trainer.checkpoint(hooks.on_checkpoint)?;
            trainer.since.last_checkpoint = Instant::now();
        }
        if averaged {
            trainer.optimiser.swap_average();
        }
        trainer.step(done, lr)?;
    }
}

impl<'a> Trainer<'a> {
    /// Moves the data to the model's device and standardises it, and sets up the optimiser (restored
    /// when resuming) and the held-out rows.
    fn new(
        model: &'a mut Model,
        objective: &'a dyn Objective,
        data: TrainingData<'a>,
        config: &'a TrainConfig,
        resumed: Option<Resumed>,
    ) -> Result<Self> {
        let device = model.device();
        let (batches, held_out, rows) = match data {
            TrainingData::Fixed { x, y, validation } => {
                let (x, y) = model.standardise(&x.to_device(device), &y.to_device(device));
                let held_out = validation.map(|(x, y)| model.standardise(&x.to_device(device), &y.to_device(device)));
                let rows = x.size()[0];
                (Batches::Fixed { x, y, order: None }, held_out, rows)
            }
            TrainingData::Fresh(problem) => (Batches::Fresh(problem), None, config.samples),
            TrainingData::Streamed(mut data) => {
                let held_out = data.validation.take().map(|(x, y)| model.standardise(&x.to_device(device), &y.to_device(device)));
                let rows = data.rows;
                (Batches::Streamed(ShuffleBuffer::new(data, model, config.seed)), held_out, rows)
            }
        };
        if config.patience.is_some() && held_out.is_none() {
            return Err(Error::invalid(
                "--patience watches the held-out loss, and this run holds no rows out (use --simulations, or --data with --val above 0)",
            ));
        }
        if rows < config.batch {
            return Err(Error::invalid(format!("the training set has {rows} rows, fewer than one batch ({})", config.batch)));
        }
        let (summary, optimiser_state) = match resumed {
            Some(Resumed { summary, optimiser }) => (summary, Some(optimiser)),
            None => (TrainingSummary::default(), None),
        };
        // The saved weights are the best model on the held-out rows when there was one.
        let validation = match held_out {
            Some((x, y)) => {
                let mut best_model = Model::new(model.spec.clone(), device)?;
                best_model.vars.copy(&model.vars)?;
                Some(Validation { x, y, best: summary.best_validation, best_model })
            }
            None => None,
        };
        let (beta1, beta2) = config.adam_betas;
        let adam = AdamConfig { beta1, beta2, eps: 1e-6, weight_decay: config.weight_decay };
        let mut optimiser = FlatAdam::new(&model.vars.trainable_variables(), adam)?;
        if let Some(decay) = config.weight_average {
            optimiser.keep_average(decay);
        }
        if let Some(state) = &optimiser_state {
            optimiser.restore(state, summary.steps)?;
        }
        let terms = objective.terms().len() as i64;
        let since = Since {
            started: Instant::now(),
            earlier_seconds: summary.seconds,
            last_log: (Instant::now(), summary.steps),
            last_checkpoint: Instant::now(),
            sums: Tensor::zeros([terms], (Kind::Float, device)),
            gradient_norms: Tensor::zeros([], (Kind::Float, device)),
        };
        let settings = serde_json::to_value(config).map_err(|error| Error::invalid(format!("cannot record the settings: {error}")))?;
        let summary = TrainingSummary { settings, device: crate::device::describe(device), interrupted: false, ..summary };
        let per_epoch = (rows / config.batch).max(1) as u64;
        let mut trainer = Trainer { model, objective, config, batches, per_epoch, optimiser, validation, summary, since };
        if optimiser_state.is_none() {
            // The starting model is a candidate too (a cINN with a regression may already be good).
            trainer.validate(0, true)?;
        }
        Ok(trainer)
    }

    /// Fails when a resumed run has nothing left to do: its limits are reached, or it stopped early.
    fn refuse_if_done(&self) -> Result<()> {
        let summary = &self.summary;
        let epoch = summary.steps as f64 / self.per_epoch as f64;
        if summary.stopped_early || progress(self.config, summary.steps, epoch, summary.seconds) >= 1.0 {
            return Err(Error::invalid(format!(
                "the run already reached its limits ({} steps, {:.0} s{}); give a larger --steps, --epochs or --budget (totals for the whole run) to train on",
                summary.steps,
                summary.seconds,
                if summary.stopped_early { ", stopped early on the held-out loss" } else { "" }
            )));
        }
        Ok(())
    }

    /// Scores the model on the held-out rows (if any) with the validation noise of `step`; with
    /// `candidate`, it may become the kept model.
    fn validate(&mut self, step: u64, candidate: bool) -> Result<Option<f64>> {
        let Some(validation) = self.validation.as_mut() else { return Ok(None) };
        reseed(self.config.seed, Stream::Validation, step);
        validation.check(self.model, self.objective, self.config.batch, step, candidate).map(Some)
    }

    /// Reads the losses back, checks them, validates, decides on early stopping, and logs a record.
    /// The model of an interrupted run is scored but not kept: the run that continues it chooses on
    /// the schedule of a run that never stopped.
    fn check(
        &mut self,
        epoch: f64,
        (done, lr): (f64, f64),
        interrupted: bool,
        on_log: &mut dyn FnMut(&LogRecord) -> Result<()>,
    ) -> Result<()> {
        let step = self.summary.steps;
        let since = (step - self.since.last_log.1).max(1);
        let means = Vec::<f64>::try_from((&self.since.sums / since as f64).to_kind(Kind::Double))?;
        let terms = self.objective.terms();
        if let Some((name, _)) = terms.iter().zip(&means).find(|(_, value)| !value.is_finite()) {
            return Err(Error::Diverged { step, what: format!("loss {name}") });
        }
        if !self.since.gradient_norms.double_value(&[]).is_finite() {
            return Err(Error::Diverged { step, what: "the gradient".into() });
        }
        let validation = if step > 0 { self.validate(step, !interrupted)? } else { None };
        // Early stopping: the held-out loss has not improved for `patience` epochs.
        if let (Some(patience), Some(Validation { best: Some(best), .. })) = (self.config.patience, &self.validation) {
            self.summary.stopped_early |= (step - best.step) as f64 >= patience * self.per_epoch as f64;
        }
        if step > self.since.last_log.1 {
            let seconds = self.since.last_log.0.elapsed().as_secs_f64().max(1e-9);
            let record = LogRecord {
                step,
                epoch,
                elapsed: self.since.seconds(),
                progress: done,
                lr,
                losses: terms.iter().copied().zip(means.iter().copied()).collect(),
                samples_per_second: ((step - self.since.last_log.1) as f64 * self.config.batch as f64) / seconds,
                validation,
            };
            self.summary.final_losses = record.losses.iter().map(|(name, value)| (name.to_string(), *value)).collect();
            on_log(&record)?;
        }
        self.since.sums = self.since.sums.zero_();
        self.since.gradient_norms = self.since.gradient_norms.zero_();
        self.since.last_log = (Instant::now(), step);
        Ok(())
    }

    /// Saves the kept model (the best on held-out rows, if any), the summary and the optimiser state.
    fn checkpoint(&mut self, on_checkpoint: &mut dyn FnMut(&Snapshot) -> Result<()>) -> Result<()> {
        self.summary.seconds = self.since.seconds();
        let validation = self.validation.as_ref().and_then(|validation| validation.best.map(|best| (best, &validation.best_model)));
        self.summary.best_validation = validation.map(|(best, _)| best);
        let model = validation.map_or(&*self.model, |(_, best_model)| best_model);
        on_checkpoint(&Snapshot { model, summary: &self.summary, optimiser: self.optimiser.state() })
    }

    /// The last checkpoint; the model ends holding the weights that were saved.
    fn finish(mut self, on_checkpoint: &mut dyn FnMut(&Snapshot) -> Result<()>) -> Result<TrainingSummary> {
        self.checkpoint(on_checkpoint)?;
        if let Some(Validation { best: Some(_), best_model, .. }) = &self.validation {
            self.model.vars.copy(&best_model.vars)?;
        }
        Ok(self.summary)
    }

    /// One optimiser step on the step's batch.
    fn step(&mut self, done: f64, lr: f64) -> Result<()> {
        let (x, y) = self.batches.batch(self.model, self.config, self.summary.steps, self.per_epoch)?;
        let what = format!("a training step on a batch of {} rows", self.config.batch);
        let (values, gradient_norm) = guard(&what, "--batch", || {
            Ok(optimisation_step(
                &mut self.optimiser,
                self.model,
                self.objective,
                &x,
                &y,
                done,
                Update { lr, clip: self.config.grad_clip, clamp: self.config.grad_clamp },
            ))
        })?;
        self.since.gradient_norms += gradient_norm;
        self.since.sums += values.to_kind(Kind::Float);
        self.summary.steps += 1;
        Ok(())
    }
}

/// The size of one optimiser update.
#[derive(Debug, Clone, Copy)]
pub struct Update {
    /// Learning rate.
    pub lr: f64,
    /// Largest norm of the joint gradient (clipped to it; 0: no limit).
    pub clip: f64,
    /// Largest size of one gradient entry (clamped to it), if any.
    pub clamp: Option<f64>,
}

/// One optimiser step on the batch (`x`, `y`), `progress` through training: gradients of every loss
/// term, clipped, one Adam update. Returns the detached loss terms and the gradient norm before
/// clipping (no host sync).
pub fn optimisation_step(
    optimiser: &mut FlatAdam,
    model: &Model,
    objective: &dyn Objective,
    x: &Tensor,
    y: &Tensor,
    progress: f64,
    update: Update,
) -> (Tensor, Tensor) {
    optimiser.zero_grad();
    let values = objective.backward(model, x, y, progress);
    let gradient_norm = optimiser.clip_gradients(update.clip, update.clamp);
    optimiser.step(update.lr);
    (values, gradient_norm)
}
