//! `innfer train`: trains a model on a problem into a run folder.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::Args;
use innfer::io::observations::read_observations;
use innfer::model::checkpoint::TrainingSummary;
use innfer::model::{Activation, CouplingKind, MixingKind, ModelKind, SummaryKind, MAX_BINS, MAX_MEMBERS};
use innfer::problem::data::{DataSpec, DATA_PROBLEM};
use innfer::problem::default_inn_widths;
use innfer::train::sequential::{Sequential, DEFAULT_EPSILON};
use innfer::train::{self, LogRecord, LossSet, Preset, RunOutput, Stop, SummaryConfig, TrainConfig};
use tch::Tensor;

use super::problem_args::ProblemArgs;
use super::{progress, run_folder, Context};

/// Train an invertible network on a built-in problem, or on your own simulated (x, y) pairs.
///
/// With --data, the pairs come from CSV or Parquet (a file, a folder of shards, or a glob pattern);
/// --x and --y pick the columns. x and y are standardised, a share of the rows (--val) is held out,
/// and the run keeps the model that does best on them.
#[derive(Debug, Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub problem: ProblemArgs,

    #[command(flatten)]
    pub data: DataArgs,

    /// inn: the paper's INN, x ↔ [z, y] (trained by likelihood, or with its MMD losses: --losses);
    /// cinn: conditional INN (maximum likelihood).
    #[arg(long, default_value = "inn")]
    pub model: ModelKind,

    /// quick: 4000 steps of the INN or 22 000 of the cINN, about 3 minutes on 2 CPU cores; paper:
    /// bigger networks and 40 000 steps, for a GPU.
    #[arg(long, default_value = "quick")]
    pub preset: Preset,

    /// Run folder to create (default: runs/<problem>-<model>-<time>).
    #[arg(long, conflicts_with = "resume")]
    pub out: Option<PathBuf>,

    /// Continue the run in this folder exactly where it stopped (Ctrl-C, a crash after a checkpoint),
    /// with its own settings and seed, to its own limits or to the --steps, --epochs or --budget
    /// given (totals for the whole run). No other setting can change.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["settings", "problem", "model", "preset", "labels", "data"])]
    pub resume: Option<PathBuf>,

    #[command(flatten)]
    pub stop: StopArgs,

    #[command(flatten)]
    pub knobs: Knobs,

    #[command(flatten)]
    pub sequential: SequentialArgs,
}

/// Sequential rounds for one observation.
#[derive(Debug, Args)]
pub struct SequentialArgs {
    /// Train for this one observation (a CSV with the y columns and one row) in --rounds rounds:
    /// later rounds simulate only where the current posterior for it puts its mass (truncated
    /// sequential NPE, with the cINN). A built-in problem or sbibm task shares --simulations among
    /// the rounds; with --data, round 1 is the data and each later round runs the --simulator on as
    /// many x rows of the data (drawn inside the region); --steps then counts each round's steps.
    #[arg(long, value_name = "OBS.csv", requires = "rounds")]
    pub observation: Option<PathBuf>,

    /// Rounds: round 1 from the prior (or the data), each later one from the prior truncated to the
    /// last posterior's highest-density region of mass 1 − 10^-4.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..), requires = "observation")]
    pub rounds: Option<u32>,
}

impl SequentialArgs {
    /// The observation to train for, read with the columns `y_names`, if one was given.
    fn observation(&self, y_names: &[String]) -> Result<Option<Tensor>> {
        let Some(path) = &self.observation else { return Ok(None) };
        let observation = read_observations(path, y_names)?;
        if observation.size()[0] != 1 {
            bail!("{}: a sequential run is made for one observation, and the file has {} rows", path.display(), observation.size()[0]);
        }
        Ok(Some(observation))
    }

    /// The rounds for `observation`.
    fn plan<'a>(&self, observation: &'a Tensor) -> Sequential<'a> {
        let rounds = self.rounds.unwrap_or(1) as usize;
        Sequential { observation, rounds, epsilon: DEFAULT_EPSILON, first_round: None }
    }
}

/// When training stops.
#[derive(Debug, Args)]
pub struct StopArgs {
    /// Stop after this many optimiser steps (the presets stop on steps, so that runs repeat).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub steps: Option<u64>,
    /// Stop after this many passes over the training set.
    #[arg(long)]
    pub epochs: Option<f64>,
    /// Stop after this much training time, e.g. 90s, 5m, 1h (whichever limit comes first); a run
    /// stopped on time depends on the machine's speed.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub budget: Option<Duration>,
}

impl StopArgs {
    /// The limits given, if any was.
    pub fn limits(&self) -> Option<Stop> {
        let given = self.steps.is_some() || self.epochs.is_some() || self.budget.is_some();
        given.then_some(Stop { steps: self.steps, epochs: self.epochs, budget: self.budget })
    }
}

/// Training on user data.
#[derive(Debug, Args)]
pub struct DataArgs {
    /// Simulated pairs: a .csv or .parquet file, a folder of them (shards), or a glob like 'out/*.parquet'.
    #[arg(long, value_name = "PAIRS", conflicts_with_all = ["problem", "labels", "simulations"], requires_all = ["x", "y"])]
    pub data: Option<String>,

    /// The x columns (the unknowns): names separated by commas, or ranges such as theta1..theta5.
    #[arg(long = "x", value_name = "COLUMNS", requires = "data")]
    pub x: Option<String>,

    /// The y columns (the observations), like --x.
    #[arg(long = "y", value_name = "COLUMNS", requires = "data")]
    pub y: Option<String>,

    /// The forward process, for `eval`, `abc` and `sample --resimulate` of this run: a command that
    /// reads x rows as CSV (with a header) on stdin and writes y rows as CSV on stdout.
    #[arg(long, value_name = "COMMAND", requires = "data")]
    pub simulator: Option<String>,

    /// Longest time one batch of the simulator may take in sequential rounds before it is stopped
    /// and the round fails.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10m", value_name = "TIME")]
    pub simulator_timeout: Duration,

    /// Stream the data from its files through a shuffle buffer as training goes, instead of reading
    /// it all into memory: for data larger than memory. Whole files are held out to validate (--val;
    /// give the data as shards), and x and y are standardised with the buffer's first fill.
    #[arg(long, requires = "data", conflicts_with = "rounds")]
    pub stream: bool,

    /// Rows in the shuffle buffer of --stream; it takes rows × columns × 4 bytes of memory.
    #[arg(long, value_name = "N", value_parser = super::observations::parse_count, default_value = "1e6", requires = "stream")]
    pub buffer_rows: i64,
}

/// Settings that override the preset.
#[derive(Debug, Args)]
#[group(id = "settings", multiple = true)]
pub struct Knobs {
    /// Size of the generated training set.
    #[arg(long, value_parser = clap::value_parser!(i64).range(1..))]
    pub samples: Option<i64>,
    /// Draw fresh samples every step instead of a fixed training set.
    #[arg(long)]
    pub fresh: bool,
    /// Train on exactly N simulations of the problem (sbibm's budgets: 1e3, 1e4, 1e5), part of them
    /// held out (--val) to stop early (--patience, default 50 epochs; at most 150 epochs) and keep the
    /// best model. Sets batches of 50 (25 below 50 000, and then five blocks with spline couplings or
    /// ten with affine ones; subnets 1×64 below 5000) and, for the cINN, --coupling spline (glow
    /// for bernoulli_glm and bernoulli_glm_raw), --regression true (false for sir and
    /// lotka_volterra, and below 5000 simulations for slcp and slcp_distractors), --summary mlp for
    /// slcp_distractors from 5000 simulations, and --average 0.999.
    #[arg(long, value_name = "N", value_parser = super::observations::parse_count, conflicts_with_all = ["fresh", "samples"])]
    pub simulations: Option<i64>,
    /// Share of the rows held out to validate and to pick the best checkpoint [default: 0.05 of
    /// --data, 0.1 of --simulations]; 0 for none.
    #[arg(long, value_name = "SHARE")]
    pub val: Option<f64>,
    /// Stop when the held-out loss has not improved for this many epochs.
    #[arg(long, value_name = "EPOCHS")]
    pub patience: Option<f64>,
    /// Save the exponential moving average of the weights with this decay per step (e.g. 0.999)
    /// instead of the last weights.
    #[arg(long, value_name = "DECAY")]
    pub average: Option<f64>,
    /// Number of coupling blocks.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub blocks: Option<u32>,
    /// Width of the subnets' hidden layers.
    #[arg(long, value_parser = clap::value_parser!(i64).range(1..))]
    pub hidden: Option<i64>,
    /// Hidden layers per subnet.
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..))]
    pub layers: Option<u32>,
    /// Coupling form: glow (both halves per block, affine maps: the paper's code), affine (one half)
    /// or spline (both halves, a monotone rational-quadratic spline per value on [-5, 5] in place
    /// of the affine map: neural spline flows, which bend densities more per block).
    #[arg(long)]
    pub coupling: Option<CouplingKind>,
    /// Bins of each spline, with --coupling spline [default: 8].
    #[arg(long, value_parser = clap::value_parser!(i64).range(2..=MAX_BINS))]
    pub bins: Option<i64>,
    /// What mixes the columns after each coupling block: permute (a fixed random permutation, the
    /// paper's) or linear (a learned invertible linear map in LU form before that permutation, as
    /// GLOW's 1×1 convolutions; it starts as the identity) [default: permute].
    #[arg(long)]
    pub mixing: Option<MixingKind>,
    /// cINN: keep posterior samples inside the box of the problem's prior (the sbibm tasks' uniform
    /// priors), drawing again for those outside, as sbi does: true or false [default: true].
    #[arg(long, value_name = "BOOL")]
    pub bounded: Option<bool>,
    /// cINN: let the network model x less its linear regression on y (fitted on the training rows):
    /// true or false [default: false; with --simulations true, but for sir and lotka_volterra, and
    /// below 5000 simulations for slcp and slcp_distractors].
    #[arg(long, value_name = "BOOL")]
    pub regression: Option<bool>,
    /// Standardise the logarithms of positive quantities the problem declares log-scaled (the
    /// log-normal priors of sir and lotka_volterra, lotka_volterra's data): true or false [default: true].
    #[arg(long, value_name = "BOOL")]
    pub log_scale: Option<bool>,
    /// cINN: condition the flow on a learned summary of y, trained with it, for observations of many
    /// columns: mlp (a perceptron of the whole observation), deepset:K (y is a set of exchangeable
    /// elements of K values each; their order is ignored), or none [default: none; for slcp, whose
    /// data are four draws of a 2-D point, deepset:2 of width 128; with --simulations of 5000 or
    /// more, mlp for slcp_distractors].
    #[arg(long, value_name = "NETWORK")]
    pub summary: Option<SummaryChoice>,
    /// Width of the summary network's hidden layers.
    #[arg(long, value_name = "WIDTH", requires = "summary", value_parser = clap::value_parser!(i64).range(1..))]
    pub summary_width: Option<i64>,
    /// Width of the summary the flow is conditioned on [default: twice the parameters, at least 8,
    /// at most the columns of y].
    #[arg(long, value_name = "WIDTH", requires = "summary", value_parser = clap::value_parser!(i64).range(1..))]
    pub summary_outputs: Option<i64>,
    /// cINN: train this many networks side by side, each from its own initial weights, on the same
    /// simulations and batches, and keep their ensemble: its density is the equal-weight mixture of
    /// theirs, and early stopping watches the mixture's held-out loss. Costs K times the training
    /// and density evaluations [default: 1].
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..=MAX_MEMBERS as i64))]
    pub ensemble: Option<u32>,
    /// Subnet non-linearity: relu or leaky-relu.
    #[arg(long)]
    pub activation: Option<Activation>,
    /// Rows per step.
    #[arg(long, value_parser = clap::value_parser!(i64).range(1..))]
    pub batch: Option<i64>,
    /// Initial learning rate (Adam).
    #[arg(long)]
    pub lr: Option<f64>,
    /// The learning rate at the end of training as a fraction of the initial one: it decays
    /// exponentially from --lr to --lr times this (1: constant, as the official mixture code)
    /// [default: 0.05].
    #[arg(long, value_name = "FRACTION")]
    pub lr_end: Option<f64>,
    /// Adam's decays of its running means of gradients and squared gradients [default: 0.9,0.999].
    #[arg(long, value_name = "B1,B2", value_parser = parse_two_numbers)]
    pub adam_betas: Option<(f64, f64)>,
    /// Adam's L2 weight decay [default: 1e-5].
    #[arg(long, value_name = "DECAY")]
    pub weight_decay: Option<f64>,
    /// Clip the joint norm of the gradients to this (0: no norm clip) [default: 10].
    #[arg(long, value_name = "NORM")]
    pub grad_clip: Option<f64>,
    /// Also clamp every gradient entry to ±this, before the norm clip (the official mixture code:
    /// 15, with --grad-clip 0).
    #[arg(long, value_name = "BOUND")]
    pub grad_clamp: Option<f64>,
    /// Initialise every parameter as this scale times N(0, 1) (the official mixture code: 0.05)
    /// instead of coupling blocks that start as the identity.
    #[arg(long, value_name = "SCALE")]
    pub init_scale: Option<f64>,
    /// Soft clamp of the coupling scales.
    #[arg(long)]
    pub clamp: Option<f64>,
    /// Total width of the INN (x is padded to it); at least the width of x and of [z, y].
    #[arg(long, value_name = "WIDTH", value_parser = clap::value_parser!(i64).range(1..))]
    pub pad: Option<i64>,
    /// Width of the INN's latent z.
    #[arg(long, value_parser = clap::value_parser!(i64).range(0..))]
    pub z_width: Option<i64>,
    /// The INN's losses: likelihood (L_ml alone, the presets) or paper (the paper's MMD training:
    /// L_y 3, L_z 300, L_x 400, reconstruction 3); the --w-* options then change single weights.
    #[arg(long, value_name = "SET")]
    pub losses: Option<LossSet>,
    /// Weight of L_y (forward fit).
    #[arg(long)]
    pub w_y: Option<f64>,
    /// Weight of L_z (latent MMD).
    #[arg(long)]
    pub w_z: Option<f64>,
    /// Weight of L_x (inverse MMD).
    #[arg(long)]
    pub w_x: Option<f64>,
    /// Weight of the reconstruction of x from the network's own [z, y] (INN).
    #[arg(long)]
    pub w_rec: Option<f64>,
    /// Weight of L_ml, the likelihood of x through the forward pass (INN).
    #[arg(long)]
    pub w_ml: Option<f64>,
    /// Widths of the MMD kernels, comma-separated (e.g. 0.2,0.5,0.9,1.3).
    #[arg(long, value_delimiter = ',', value_name = "WIDTHS")]
    pub kernel_widths: Option<Vec<f64>>,
    /// Noise on (standardised) y during training.
    #[arg(long)]
    pub y_noise: Option<f64>,
    /// Noise in the INN's padding columns during training.
    #[arg(long)]
    pub pad_noise: Option<f64>,
    /// INN: start the y and padding noises this many times wider and shrink them geometrically to
    /// their values over the first half of training [default: 1, constant].
    #[arg(long, value_name = "FACTOR")]
    pub noise_anneal: Option<f64>,
    /// Time between checkpoints during training, e.g. 2m.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub checkpoint_every: Option<Duration>,
}

/// `--summary`: a summary network, or none (to go without a problem's default one).
#[derive(Debug, Clone, Copy)]
pub enum SummaryChoice {
    /// No summary network: the flow is conditioned on y itself.
    None,
    /// This summary network.
    Network(SummaryKind),
}

impl FromStr for SummaryChoice {
    type Err = innfer::Error;

    fn from_str(text: &str) -> std::result::Result<Self, Self::Err> {
        match text {
            "none" => Ok(SummaryChoice::None),
            network => network.parse().map(SummaryChoice::Network),
        }
    }
}

/// Two numbers separated by a comma, such as `0.8,0.9`.
fn parse_two_numbers(text: &str) -> std::result::Result<(f64, f64), String> {
    let numbers: Vec<f64> = text
        .split(',')
        .map(|part| part.trim().parse::<f64>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| format!("'{text}' is not two numbers"))?;
    match numbers[..] {
        [first, second] => Ok((first, second)),
        _ => Err(format!("expected two numbers separated by a comma, not '{text}'")),
    }
}

impl Knobs {
    /// Applies the given settings on top of a preset.
    /// `default_inn_widths` are the problem's (z, total), used when only one of them is given.
    pub fn apply(&self, config: &mut TrainConfig, default_inn_widths: (i64, i64)) {
        let set = |target: &mut f64, value: Option<f64>| {
            if let Some(value) = value {
                *target = value;
            }
        };
        config.samples = self.samples.unwrap_or(config.samples);
        config.fresh |= self.fresh;
        if let Some(simulations) = self.simulations {
            config.use_simulations(simulations, self.coupling);
        }
        set(&mut config.validation, self.val);
        config.patience = self.patience.or(config.patience);
        config.weight_average = self.average.or(config.weight_average);
        config.blocks = self.blocks.map_or(config.blocks, |b| b as usize);
        config.block.hidden = self.hidden.unwrap_or(config.block.hidden);
        config.block.layers = self.layers.map_or(config.block.layers, |l| l as usize);
        config.block.coupling = self.coupling.unwrap_or(config.block.coupling);
        config.block.bins = self.bins.unwrap_or(config.block.bins);
        config.block.mixing = self.mixing.unwrap_or(config.block.mixing);
        config.block.activation = self.activation.unwrap_or(config.block.activation);
        config.regression = self.regression.unwrap_or(config.regression);
        config.log_scale = self.log_scale.unwrap_or(config.log_scale);
        match self.summary {
            Some(SummaryChoice::Network(kind)) => {
                let width = self.summary_width.unwrap_or(SummaryConfig::DEFAULT_WIDTH);
                config.summary = Some(SummaryConfig { kind, width, outputs: self.summary_outputs });
            }
            Some(SummaryChoice::None) => config.summary = None,
            None => {}
        }
        config.bounded = self.bounded.unwrap_or(config.bounded);
        config.members = self.ensemble.map_or(config.members, |members| members as usize);
        config.batch = self.batch.unwrap_or(config.batch);
        set(&mut config.lr, self.lr);
        set(&mut config.lr_end_factor, self.lr_end);
        set(&mut config.weight_decay, self.weight_decay);
        set(&mut config.grad_clip, self.grad_clip);
        config.grad_clamp = self.grad_clamp.or(config.grad_clamp);
        config.init_scale = self.init_scale.or(config.init_scale);
        config.adam_betas = self.adam_betas.unwrap_or(config.adam_betas);
        set(&mut config.block.clamp, self.clamp);
        if let Some(set) = self.losses {
            config.losses = set.weights();
        }
        set(&mut config.losses.y, self.w_y);
        set(&mut config.losses.z, self.w_z);
        set(&mut config.losses.x, self.w_x);
        set(&mut config.losses.reconstruction, self.w_rec);
        set(&mut config.losses.likelihood, self.w_ml);
        set(&mut config.y_noise, self.y_noise);
        set(&mut config.pad_noise, self.pad_noise);
        set(&mut config.noise_anneal, self.noise_anneal);
        if let Some(widths) = &self.kernel_widths {
            config.kernel_widths = widths.clone();
        }
        config.checkpoint_every = self.checkpoint_every.unwrap_or(config.checkpoint_every);
        if self.pad.is_some() || self.z_width.is_some() {
            let (z, total) = config.inn_widths.unwrap_or(default_inn_widths);
            config.inn_widths = Some((self.z_width.unwrap_or(z), self.pad.unwrap_or(total)));
        }
    }
}

/// Runs `innfer train`.
pub fn run(args: TrainArgs, context: Context) -> Result<()> {
    let bar = progress::training_bar("training");
    let on_log = &mut |record: &LogRecord| progress::show_record(&bar, record);
    let (dir, summary) = match &args.resume {
        Some(dir) => {
            let output = RunOutput { dir, stop: progress::stop_flag(), on_log };
            (dir.clone(), train::resume(context.device, args.stop.limits(), output)?.1)
        }
        None => match &args.data.data {
            Some(pairs) => train_on_data(&args, pairs, context, on_log)?,
            None => train_on_problem(&args, context, on_log)?,
        },
    };
    bar.finish_and_clear();
    let losses: Vec<String> = summary.final_losses.iter().map(|(name, value)| format!("{name} {value:.4}")).collect();
    let kept = summary
        .best_validation
        .map_or(String::new(), |best| format!("; kept the model of step {} (validation loss {:.4})", best.step, best.loss));
    let verb = if summary.interrupted { "stopped after" } else { "trained for" };
    let resume = if summary.interrupted { format!("; continue it with: innfer train --resume {}", dir.display()) } else { String::new() };
    eprintln!(
        "{verb} {} steps in {:.1} s in all ({}){kept}; run saved in {}{resume}",
        summary.steps,
        summary.seconds,
        losses.join(", "),
        dir.display()
    );
    Ok(())
}

/// The preset of `problem` with the command line's settings, limits and seed on top.
fn settings(args: &TrainArgs, problem: &str, default_inn_widths: (i64, i64), context: Context) -> Result<TrainConfig> {
    let knobs = &args.knobs;
    if knobs.val.is_some() && knobs.simulations.is_none() && args.data.data.is_none() {
        bail!("--val holds rows out of --simulations or --data; a built-in problem without --simulations has none to hold out");
    }
    if matches!(knobs.summary, Some(SummaryChoice::None)) && (knobs.summary_width.is_some() || knobs.summary_outputs.is_some()) {
        bail!("--summary-width and --summary-outputs shape a summary network, and --summary none asks for none");
    }
    let mut config = TrainConfig::preset(problem, args.model, args.preset);
    knobs.apply(&mut config, default_inn_widths);
    config.stop = args.stop.limits().unwrap_or(config.stop);
    config.seed = context.seed;
    config.validate()?;
    Ok(config)
}

/// Trains on a built-in problem into a new run folder.
fn train_on_problem(args: &TrainArgs, context: Context, on_log: &mut dyn FnMut(&LogRecord)) -> Result<(PathBuf, TrainingSummary)> {
    let problem = args.problem.build()?;
    let config = settings(args, &args.problem.problem, problem.inn_widths(), context)?;
    let dir = args.out.clone().unwrap_or_else(|| run_folder::default_dir(&format!("{}-{}", args.problem.problem, args.model)));
    let observation = args.sequential.observation(&problem.info().y_names)?;
    run_folder::create(&dir)?;
    let output = RunOutput { dir: &dir, stop: progress::stop_flag(), on_log };
    let trained = match &observation {
        Some(observation) => {
            let sequential = args.sequential.plan(observation);
            let on_round = &mut |round: usize, rounds: usize| progress::announce_round(round, rounds);
            train::sequential::train_sequential(problem.as_ref(), &config, &sequential, context.device, output, on_round)
        }
        None => train::train_problem(problem.as_ref(), &config, context.device, output),
    };
    Ok((dir.clone(), run_folder::remove_if_empty(&dir, trained)?.1))
}

/// Trains on the user's pairs into a new run folder (named after the data by default).
fn train_on_data(
    args: &TrainArgs,
    pairs: &str,
    context: Context,
    on_log: &mut dyn FnMut(&LogRecord),
) -> Result<(PathBuf, TrainingSummary)> {
    let data = &args.data;
    let validation = args.knobs.val.unwrap_or(0.05);
    let mut spec = DataSpec::new(
        pairs,
        data.x.as_deref().unwrap_or_default(),
        data.y.as_deref().unwrap_or_default(),
        validation,
        data.simulator.clone(),
    )?;
    spec.simulator_timeout = data.simulator_timeout;
    spec.buffer_rows = data.stream.then_some(data.buffer_rows);
    let config = settings(args, DATA_PROBLEM, default_inn_widths(spec.x_names.len() as i64, spec.y_names.len() as i64), context)?;
    let stem = Path::new(pairs.trim_end_matches('/')).file_stem().map_or("data".into(), |stem| stem.to_string_lossy().into_owned());
    let stem: String = stem.chars().map(|c| if c.is_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect();
    let dir = args.out.clone().unwrap_or_else(|| run_folder::default_dir(&format!("{stem}-{}", args.model)));
    let observation = args.sequential.observation(&spec.y_names)?;
    run_folder::create(&dir)?;
    let output = RunOutput { dir: &dir, stop: progress::stop_flag(), on_log };
    let trained = match &observation {
        Some(observation) => {
            let on_round = &mut |round: usize, rounds: usize| progress::announce_round(round, rounds);
            train::sequential::train_data_sequential(&spec, &config, args.sequential.plan(observation), context.device, output, on_round)
        }
        None => train::train_data(&spec, &config, context.device, output),
    };
    Ok((dir.clone(), run_folder::remove_if_empty(&dir, trained)?.1))
}
