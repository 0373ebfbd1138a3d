//! Training: the paper's bidirectional objective, maximum likelihood, and the loop they share.

pub mod adam;
pub mod bidirectional;
pub mod config;
pub mod fit;
pub mod likelihood;
pub mod metrics_log;
pub mod objective;
pub mod sequential;
pub mod stream;

use std::path::Path;
use std::sync::atomic::AtomicBool;

use tch::{Device, Tensor};

pub use config::{LossSet, LossWeights, Preset, Stop, SummaryConfig, TrainConfig};
pub use fit::{fit, Hooks, LogRecord, Resumed, Snapshot, TrainingData};

use crate::error::{Error, Result};
use crate::io::dataset::DataFiles;
use crate::model::checkpoint::{self, ProblemInfo, TrainingSummary};
use crate::model::{Bounds, Dims, LinearRegression, Model, ModelKind, ModelSpec, OutputNoise, Standardiser};
use crate::problem::data::{held_out, split_rows, DataSpec, DATA_PROBLEM};
use crate::problem::{default_inn_widths, LogColumns, Problem};
use crate::seeding::{reseed, Stream};
use bidirectional::Bidirectional;
use likelihood::MaximumLikelihood;
use metrics_log::MetricsLog;
use objective::Objective;
use stream::StreamedData;

/// Rows drawn to fit the standardisation when training on fresh samples.
const SCALE_ROWS: i64 = 100_000;

/// The objective that trains a model of the given kind.
pub fn objective_for(config: &TrainConfig) -> Box<dyn Objective> {
    match config.model {
        ModelKind::Inn => Box::new(Bidirectional {
            weights: config.losses,
            y_noise: config.y_noise,
            pad_noise: config.pad_noise,
            noise_anneal: config.noise_anneal,
            kernel_widths: config.kernel_widths.clone(),
        }),
        ModelKind::Cinn => Box::new(MaximumLikelihood { y_noise: config.y_noise }),
    }
}

/// What a new model is built for.
pub struct ModelBasis<'a> {
    /// The problem's description (the widths of x and y).
    pub info: &'a ProblemInfo,
    /// The INN's (z, total) widths when the config names none.
    pub default_inn_widths: (i64, i64),
    /// The prior's box, which a cINN keeps its samples in when the config asks for it.
    pub bounds: Option<Bounds>,
    /// Training rows of x, which the standardisation (when the config asks for it) is fitted on.
    pub x: &'a Tensor,
    /// Training rows of y, likewise.
    pub y: &'a Tensor,
    /// The columns the problem declares log-scaled.
    pub log_columns: LogColumns,
}

impl<'a> ModelBasis<'a> {
    /// The basis of a model of `problem` (described by `info`) fitted on the rows (`x`, `y`).
    pub fn of_problem(problem: &dyn Problem, info: &'a ProblemInfo, x: &'a Tensor, y: &'a Tensor) -> Self {
        ModelBasis {
            info,
            default_inn_widths: problem.inn_widths(),
            bounds: problem.x_bounds(),
            x,
            y,
            log_columns: problem.log_scale_columns(),
        }
    }
}

/// A freshly initialised model (weights drawn from the config's seed) for `basis`.
pub fn new_model(config: &TrainConfig, basis: ModelBasis<'_>, device: Device) -> Result<Model> {
    let ModelBasis { info, default_inn_widths, bounds, x, y, log_columns } = basis;
    let seed = config.seed;
    let (dx, dy) = (info.x_names.len() as i64, info.y_names.len() as i64);
    let mut spec = match config.model {
        ModelKind::Inn => {
            let (z, total) = config.inn_widths.unwrap_or(default_inn_widths);
            ModelSpec::inn(Dims::new(dx, dy, z, total)?, config.blocks, config.block, seed)
        }
        ModelKind::Cinn => {
            let spec = ModelSpec::cinn(dx, dy, config.blocks, config.block, seed)?;
            match &config.summary {
                Some(summary) => spec.with_summary(summary.spec(dx, dy))?,
                None => spec,
            }
        }
    };
    if config.model == ModelKind::Inn && config.losses.likelihood > 0.0 {
        spec.output_noise = Some(OutputNoise { y: config.y_noise, pad: config.pad_noise });
    }
    if config.bounded && config.model == ModelKind::Cinn {
        spec.x_bounds = bounds;
    }
    spec.members = config.members;
    if config.standardise {
        let LogColumns { x: log_x, y: log_y } = if config.log_scale { log_columns } else { LogColumns::default() };
        spec.x_scale = Standardiser::fit_logged(x, log_x);
        spec.y_scale = Standardiser::fit_logged(y, log_y);
    }
    if config.regression {
        spec.x_regression = Some(LinearRegression::fit(&spec.x_scale.apply(x), &spec.y_scale.apply(y))?);
    }
    reseed(seed, Stream::Init, 0);
    let model = Model::new(spec, device)?;
    if let Some(scale) = config.init_scale {
        model.reinitialise(scale);
    }
    Ok(model)
}

/// Where training output goes and how it is observed.
pub struct RunOutput<'a> {
    /// The run folder (must exist).
    pub dir: &'a Path,
    /// Set to stop training cleanly (Ctrl-C).
    pub stop: &'a AtomicBool,
    /// Told every log record.
    pub on_log: &'a mut dyn FnMut(&LogRecord),
}

/// The training data of a built-in problem, drawn from the config's seed: a fixed set, or fresh draws
/// (with rows to fit scales on).
fn problem_data<'a>(problem: &'a dyn Problem, config: &TrainConfig, device: Device) -> Result<(TrainingData<'a>, (Tensor, Tensor))> {
    reseed(config.seed, Stream::Data, 0);
    Ok(if config.fresh {
        (TrainingData::Fresh(problem), problem.sample_joint(SCALE_ROWS, device)?)
    } else if let Some(simulations) = config.simulations {
        let (x, y) = problem.sample_joint(simulations, device)?;
        let data = split_off_validation(x, y, config.validation);
        let TrainingData::Fixed { x, y, .. } = &data else { unreachable!("simulations are a fixed set") };
        let scale_rows = (x.shallow_clone(), y.shallow_clone());
        (data, scale_rows)
    } else {
        let (x, y) = problem.sample_joint(config.samples, device)?;
        let scale_rows = (x.shallow_clone(), y.shallow_clone());
        (TrainingData::Fixed { x, y, validation: None }, scale_rows)
    })
}

/// The training data of a data problem: its pairs less the held-out rows, which validate, read at
/// once or (with a buffer) streamed. Sets `config.samples` to the number of training rows.
fn pairs_data(spec: &DataSpec, config: &mut TrainConfig) -> Result<TrainingData<'static>> {
    if config.fresh {
        return Err(Error::invalid("--fresh draws from a built-in problem; it cannot be used with --data"));
    }
    let data = match spec.buffer_rows {
        Some(buffer_rows) => {
            let names = spec.x_names.iter().chain(&spec.y_names).cloned().collect();
            let files = DataFiles::resolve(&spec.data)?;
            let validation = (spec.validation, fit::VALIDATION_ROWS);
            let data = StreamedData::open(&files, names, spec.x_names.len() as i64, validation, buffer_rows, config)?;
            config.samples = data.rows;
            TrainingData::Streamed(data)
        }
        None => {
            let (x, y) = spec.read()?;
            let data = split_off_validation(x, y, spec.validation);
            if let TrainingData::Fixed { x, .. } = &data {
                config.samples = x.size()[0];
            }
            data
        }
    };
    config.validate()?;
    Ok(data)
}

/// A fixed training set of the rows of (x, y) less the share `fraction` held out by [`held_out`],
/// which validate.
pub(crate) fn split_off_validation(x: Tensor, y: Tensor, fraction: f64) -> TrainingData<'static> {
    let mask = held_out(x.size()[0], fraction).to_device(x.device());
    let ((x, x_held_out), (y, y_held_out)) = (split_rows(&x, &mask), split_rows(&y, &mask));
    let validation = (x_held_out.size()[0] > 0).then_some((x_held_out, y_held_out));
    TrainingData::Fixed { x, y, validation }
}

/// Trains a model on a built-in problem into a new run folder: writes `metrics.csv` as it goes and
/// checkpoints every `config.checkpoint_every` and at the end.
pub fn train_problem(
    problem: &dyn Problem,
    config: &TrainConfig,
    device: Device,
    output: RunOutput<'_>,
) -> Result<(Model, TrainingSummary)> {
    config.validate()?;
    let (data, scale_rows) = problem_data(problem, config, device)?;
    let info = problem.info();
    let model = new_model(config, ModelBasis::of_problem(problem, &info, &scale_rows.0, &scale_rows.1), device)?;
    drop(scale_rows);
    let validated = data.validated();
    let mut metrics = MetricsLog::create(&output.dir.join("metrics.csv"), objective_for(config).terms(), validated)?;
    continue_training(model, info, data, config, None, &mut metrics, output)
}

/// Trains a model on the pairs of `spec` into a new run folder. x and y are always standardised;
/// the held-out rows are scored at every log record, and the checkpoint is the model that scored best.
pub fn train_data(spec: &DataSpec, config: &TrainConfig, device: Device, output: RunOutput<'_>) -> Result<(Model, TrainingSummary)> {
    let mut config = TrainConfig { standardise: true, ..config.clone() };
    let data = pairs_data(spec, &mut config)?;
    let (x, y) = match &data {
        TrainingData::Fixed { x, y, .. } => (x.shallow_clone(), y.shallow_clone()),
        TrainingData::Streamed(streamed) => streamed.first_pairs(),
        TrainingData::Fresh(_) => unreachable!("pairs are read, not drawn"),
    };
    let widths = default_inn_widths(spec.x_names.len() as i64, spec.y_names.len() as i64);
    let info = spec.info();
    let basis = ModelBasis { info: &info, default_inn_widths: widths, bounds: None, x: &x, y: &y, log_columns: LogColumns::default() };
    let model = new_model(&config, basis, device)?;
    let mut metrics = MetricsLog::create(&output.dir.join("metrics.csv"), objective_for(&config).terms(), data.validated())?;
    continue_training(model, info, data, &config, None, &mut metrics, output)
}

/// Continues training the checkpoint in `output.dir` exactly where it stopped: the same data (drawn
/// again from the run's seed, or the same pairs and split), the optimiser's state, the schedules and
/// the weight average, so that it ends as the run that never stopped would have. It runs to the run's
/// own limits, or to `stop` when given (totals for the whole run, not counted from now). The log is
/// cut back to the checkpoint's step and extended, and the checkpoint replaced.
pub fn resume(device: Device, stop: Option<Stop>, output: RunOutput<'_>) -> Result<(Model, TrainingSummary)> {
    let loaded = checkpoint::load(output.dir, device)?;
    let optimiser = checkpoint::load_optimiser(output.dir, device)?;
    let mut config: TrainConfig = serde_json::from_value(loaded.training.settings.clone())
        .map_err(|error| Error::checkpoint(output.dir, format!("cannot read the training settings: {error}")))?;
    config.stop = stop.unwrap_or(config.stop);
    config.validate()?;
    if loaded.training.sequential.is_some() {
        return Err(Error::invalid(
            "a sequential run cannot be resumed (its rounds drew their simulations from models that are gone); train it again",
        ));
    }
    let mut metrics = MetricsLog::resume(&output.dir.join("metrics.csv"), loaded.training.steps)?;
    let resumed = Some(Resumed { summary: loaded.training, optimiser });
    if loaded.problem.name == DATA_PROBLEM {
        let data = pairs_data(&DataSpec::from_info(&loaded.problem)?, &mut config)?;
        return continue_training(loaded.model, loaded.problem, data, &config, resumed, &mut metrics, output);
    }
    let problem = crate::problem::builtin(&loaded.problem.name, &loaded.problem.options)?;
    let (data, _) = problem_data(problem.as_ref(), &config, device)?;
    continue_training(loaded.model, problem.info(), data, &config, resumed, &mut metrics, output)
}

/// The loop of [`fit`] with the run folder's log and checkpoints.
pub(crate) fn continue_training(
    mut model: Model,
    info: ProblemInfo,
    data: TrainingData<'_>,
    config: &TrainConfig,
    resumed: Option<Resumed>,
    metrics: &mut MetricsLog,
    output: RunOutput<'_>,
) -> Result<(Model, TrainingSummary)> {
    let dir = output.dir;
    let on_log = output.on_log;
    let mut log = |record: &LogRecord| {
        on_log(record);
        metrics.write(record)
    };
    let mut save = |snapshot: &Snapshot| checkpoint::save(dir, snapshot.model, &info, snapshot.summary, Some(&snapshot.optimiser));
    let hooks = Hooks { stop: output.stop, on_log: &mut log, on_checkpoint: &mut save };
    let objective = objective_for(config);
    let summary = fit(&mut model, objective.as_ref(), data, config, resumed, hooks)?;
    Ok((model, summary))
}
