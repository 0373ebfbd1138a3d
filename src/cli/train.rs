//! `innfer train`: trains a model on a problem into a run folder.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use innfer::model::{Activation, CouplingKind, ModelKind};
use innfer::problem;
use innfer::train::{self, Preset, RunOutput, Stop, TrainConfig};

use super::{progress, run_folder, Context};

/// Train an invertible network on a problem.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// The problem: kinematics (arm on a rail) or gmm (eight-mode Gaussian mixture).
    #[arg(long, default_value = "kinematics")]
    pub problem: String,

    /// Colouring of the gmm modes: some (several modes per colour) or all (one colour per mode).
    #[arg(long, value_name = "MAP")]
    pub labels: Option<String>,

    /// inn: the paper's bidirectional INN (MMD losses); cinn: conditional INN (maximum likelihood).
    #[arg(long, default_value = "inn")]
    pub model: ModelKind,

    /// quick: good results in about 3 minutes on 2 CPU cores; paper: the seed's scale, for a GPU.
    #[arg(long, default_value = "quick")]
    pub preset: Preset,

    /// Run folder to create (default: runs/<problem>-<model>-<time>).
    #[arg(long, conflicts_with = "resume")]
    pub out: Option<PathBuf>,

    /// Continue training the run in this folder (with its settings) until the given --steps,
    /// --epochs or --budget, counted from now.
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,

    #[command(flatten)]
    pub knobs: Knobs,
}

/// Settings that override the preset.
#[derive(Debug, Args)]
pub struct Knobs {
    /// Stop after this many optimiser steps.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub steps: Option<u64>,
    /// Stop after this many passes over the training set.
    #[arg(long)]
    pub epochs: Option<f64>,
    /// Stop after this much wall-clock time, e.g. 90s, 5m, 1h (whichever limit comes first).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub budget: Option<Duration>,
    /// Size of the generated training set.
    #[arg(long, value_parser = clap::value_parser!(i64).range(1..))]
    pub samples: Option<i64>,
    /// Draw fresh samples every step instead of a fixed training set.
    #[arg(long)]
    pub fresh: bool,
    /// Number of coupling blocks.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub blocks: Option<u32>,
    /// Width of the subnets' hidden layers.
    #[arg(long, value_parser = clap::value_parser!(i64).range(1..))]
    pub hidden: Option<i64>,
    /// Hidden layers per subnet.
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..))]
    pub layers: Option<u32>,
    /// Coupling form: glow (both halves per block, the paper's code) or affine (one half).
    #[arg(long)]
    pub coupling: Option<CouplingKind>,
    /// Subnet non-linearity: relu or leaky-relu.
    #[arg(long)]
    pub activation: Option<Activation>,
    /// Rows per step.
    #[arg(long, value_parser = clap::value_parser!(i64).range(1..))]
    pub batch: Option<i64>,
    /// Initial learning rate (Adam).
    #[arg(long)]
    pub lr: Option<f64>,
    /// Soft clamp of the coupling scales.
    #[arg(long)]
    pub clamp: Option<f64>,
    /// Total width of the INN (x is padded to it); at least the width of x and of [z, y].
    #[arg(long, value_name = "WIDTH", value_parser = clap::value_parser!(i64).range(1..))]
    pub pad: Option<i64>,
    /// Width of the INN's latent z.
    #[arg(long, value_parser = clap::value_parser!(i64).range(0..))]
    pub z_width: Option<i64>,
    /// Weight of L_y (forward fit).
    #[arg(long)]
    pub w_y: Option<f64>,
    /// Weight of L_z (latent MMD).
    #[arg(long)]
    pub w_z: Option<f64>,
    /// Weight of L_x (inverse MMD).
    #[arg(long)]
    pub w_x: Option<f64>,
    /// Widths of the MMD kernels, comma-separated (e.g. 0.2,0.5,0.9,1.3).
    #[arg(long, value_delimiter = ',', value_name = "WIDTHS")]
    pub kernel_widths: Option<Vec<f64>>,
    /// Noise on (standardised) y during training.
    #[arg(long)]
    pub y_noise: Option<f64>,
    /// Time between checkpoints during training, e.g. 2m.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub checkpoint_every: Option<Duration>,
}

impl Knobs {
    /// Applies the given settings on top of a preset.
    /// `default_inn_widths` are the problem's (z, total), used when only one of them is given.
    pub fn apply(&self, config: &mut TrainConfig, default_inn_widths: (i64, i64)) {
        if self.steps.is_some() || self.epochs.is_some() || self.budget.is_some() {
            config.stop = Stop { steps: self.steps, epochs: self.epochs, budget: self.budget };
        }
        let set = |target: &mut f64, value: Option<f64>| {
            if let Some(value) = value {
                *target = value;
            }
        };
        config.samples = self.samples.unwrap_or(config.samples);
        config.fresh |= self.fresh;
        config.blocks = self.blocks.map_or(config.blocks, |b| b as usize);
        config.block.hidden = self.hidden.unwrap_or(config.block.hidden);
        config.block.layers = self.layers.map_or(config.block.layers, |l| l as usize);
        config.block.coupling = self.coupling.unwrap_or(config.block.coupling);
        config.block.activation = self.activation.unwrap_or(config.block.activation);
        config.batch = self.batch.unwrap_or(config.batch);
        set(&mut config.lr, self.lr);
        set(&mut config.block.clamp, self.clamp);
        set(&mut config.losses.y, self.w_y);
        set(&mut config.losses.z, self.w_z);
        set(&mut config.losses.x, self.w_x);
        set(&mut config.y_noise, self.y_noise);
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

/// Problem options from the command line.
pub fn problem_options(labels: &Option<String>) -> BTreeMap<String, String> {
    labels.iter().map(|labels| ("labels".to_string(), labels.clone())).collect()
}

/// Runs `innfer train`.
pub fn run(args: TrainArgs, context: Context) -> Result<()> {
    let bar = progress::training_bar("training");
    let on_log = &mut |record: &innfer::train::LogRecord| progress::show_record(&bar, record);
    let (dir, summary) = match &args.resume {
        Some(dir) => {
            let knobs = &args.knobs;
            let stop = Stop { steps: knobs.steps, epochs: knobs.epochs, budget: knobs.budget };
            let output = RunOutput { dir, stop: progress::stop_flag(), on_log };
            (dir.clone(), train::resume_problem(context.device, stop, output)?.1)
        }
        None => {
            let problem = problem::builtin(&args.problem, &problem_options(&args.labels))?;
            let mut config = TrainConfig::preset(&args.problem, args.model, args.preset);
            args.knobs.apply(&mut config, problem.inn_widths());
            config.validate()?;
            let dir = args.out.clone().unwrap_or_else(|| run_folder::default_dir(&format!("{}-{}", args.problem, args.model)));
            run_folder::create(&dir)?;
            let output = RunOutput { dir: &dir, stop: progress::stop_flag(), on_log };
            (dir.clone(), train::train_problem(problem.as_ref(), &config, context.seed, context.device, output)?.1)
        }
    };
    bar.finish_and_clear();
    let losses: Vec<String> = summary.final_losses.iter().map(|(name, value)| format!("{name} {value:.4}")).collect();
    eprintln!(
        "trained for {} steps in {:.1} s in all ({}); run saved in {}",
        summary.steps,
        summary.seconds,
        losses.join(", "),
        dir.display()
    );
    Ok(())
}
