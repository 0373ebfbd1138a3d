//! Training: the paper's bidirectional objective, maximum likelihood, and the loop they share.

pub mod bidirectional;
pub mod config;
pub mod fit;
pub mod likelihood;
pub mod metrics_log;
pub mod objective;

use std::path::Path;
use std::sync::atomic::AtomicBool;

use tch::Device;

pub use config::{LossWeights, Preset, Stop, TrainConfig};
pub use fit::{fit, Hooks, LogRecord, TrainingData};

use crate::error::Result;
use crate::model::checkpoint::{self, ProblemInfo, TrainingSummary};
use crate::model::{Dims, Model, ModelKind, ModelSpec, Standardiser};
use crate::problem::Problem;
use bidirectional::Bidirectional;
use likelihood::MaximumLikelihood;
use metrics_log::MetricsLog;
use objective::Objective;

/// Rows drawn to fit the standardisation when training on fresh samples.
const SCALE_ROWS: i64 = 100_000;

/// The objective that trains a model of the given kind.
pub fn objective_for(config: &TrainConfig) -> Box<dyn Objective> {
    match config.model {
        ModelKind::Inn => Box::new(Bidirectional { weights: config.losses, y_noise: config.y_noise, pad_noise: config.pad_noise }),
        ModelKind::Cinn => Box::new(MaximumLikelihood { y_noise: config.y_noise }),
    }
}

/// A freshly initialised model for data of the widths in `info`, standardised by `x` and `y` when the
/// config asks for it. `default_inn_widths` gives (z, total) when the config does not.
pub fn new_model(
    config: &TrainConfig,
    info: &ProblemInfo,
    default_inn_widths: (i64, i64),
    (x, y): (&tch::Tensor, &tch::Tensor),
    seed: u64,
    device: Device,
) -> Result<Model> {
    let (dx, dy) = (info.x_names.len() as i64, info.y_names.len() as i64);
    let mut spec = match config.model {
        ModelKind::Inn => {
            let (z, total) = config.inn_widths.unwrap_or(default_inn_widths);
            ModelSpec::inn(Dims::new(dx, dy, z, total)?, config.blocks, config.block, seed)
        }
        ModelKind::Cinn => ModelSpec::cinn(dx, dy, config.blocks, config.block, seed)?,
    };
    if config.standardise {
        spec.x_scale = Standardiser::fit(x);
        spec.y_scale = Standardiser::fit(y);
    }
    Model::new(spec, device)
}

/// Trains a model on a built-in problem into the run folder `dir` (which must exist): writes
/// `metrics.csv` as it goes and checkpoints every `config.checkpoint_every` and at the end.
pub fn train_problem(
    problem: &dyn Problem,
    config: &TrainConfig,
    seed: u64,
    device: Device,
    dir: &Path,
    stop: &AtomicBool,
    on_log: &mut dyn FnMut(&LogRecord),
) -> Result<(Model, TrainingSummary)> {
    config.validate()?;
    let info = problem.info();
    let (data, scale_rows) = if config.fresh {
        (TrainingData::Fresh(problem), problem.sample_joint(SCALE_ROWS, device))
    } else {
        let (x, y) = problem.sample_joint(config.samples, device);
        let scale_rows = (x.shallow_clone(), y.shallow_clone());
        (TrainingData::Fixed { x, y }, scale_rows)
    };
    let mut model = new_model(config, &info, problem.inn_widths(), (&scale_rows.0, &scale_rows.1), seed, device)?;
    drop(scale_rows);
    let objective = objective_for(config);
    let mut metrics = MetricsLog::create(&dir.join("metrics.csv"), objective.terms())?;
    let mut log = |record: &LogRecord| {
        on_log(record);
        metrics.append(record)
    };
    let mut save = |model: &Model, summary: &TrainingSummary| checkpoint::save(dir, model, &info, summary);
    let hooks = Hooks { stop, on_log: &mut log, on_checkpoint: &mut save };
    let summary = fit(&mut model, objective.as_ref(), data, config, hooks)?;
    Ok((model, summary))
}
