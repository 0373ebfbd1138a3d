//! `innfer check`: calibration checks of a run's posteriors, or of posterior draws from any tool.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::Args;
use innfer::eval::check::{self, check_draws, check_model, CheckDraws, CheckReport, Draws, CHECK_FILES};
use innfer::io::posterior::read_draws_of_pairs;
use innfer::io::table::read_pairs;
use innfer::model::checkpoint::{self, ProblemInfo};
use innfer::problem::data::{DataSpec, DATA_PROBLEM};
use innfer::problem::Problem;
use tch::{Device, Tensor};

use super::observations::parse_count;
use super::simulator::SimulatorArgs;
use super::{run_folder, Context};

/// Check whether posteriors are calibrated: simulation-based calibration (ranks), expected coverage,
/// TARP, z-scores and contraction, and a posterior predictive check.
///
/// With --run: draws pairs (θ*, y) from the prior and forward process of the run's problem (for a run
/// on data: its held-out rows), samples the model's posterior for every y in one batched pass, and
/// checks that each θ* sits among its draws where a calibrated posterior puts it. With --truth and
/// --posterior: the same checks on draws from any tool (ABC, sbi, another run). Writes check.json,
/// check.md, sbc.png, coverage.png and contraction.png; prints one verdict per check.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["run", "truth"])))]
pub struct CheckArgs {
    /// The run folder written by `innfer train`.
    #[arg(long, conflicts_with_all = ["truth", "posterior", "params"])]
    pub run: Option<PathBuf>,

    /// Use a run whose model never took a training step.
    #[arg(long, requires = "run")]
    pub allow_untrained: bool,

    /// Pairs (θ*, y) to check (for a run on data: at most its held-out rows).
    #[arg(long, default_value_t = check::DEFAULT_PAIRS, value_parser = parse_count)]
    pub pairs: i64,

    /// Posterior draws per pair.
    #[arg(long, default_value_t = check::DEFAULT_DRAWS, value_parser = parse_count)]
    pub draws: i64,

    /// Draws per pair sent through the forward process for the predictive check (0: none).
    #[arg(long, default_value_t = check::DEFAULT_PREDICTIVE_DRAWS, value_parser = clap::value_parser!(i64).range(0..))]
    pub predictive_draws: i64,

    /// Pairs to check instead of draws from the joint: a CSV with the run's x and y columns.
    #[arg(long, value_name = "PAIRS.csv", requires = "run")]
    pub pairs_file: Option<PathBuf>,

    /// The true parameters: a CSV with one column per parameter (more columns, y say, are ignored)
    /// and one row per pair.
    #[arg(long, value_name = "PAIRS.csv", requires = "posterior")]
    pub truth: Option<PathBuf>,

    /// Posterior draws from any tool: a CSV with `obs` (the 0-based row of the pair in --truth) and
    /// one column per parameter, the same number of draws for every pair (innfer sample's format).
    #[arg(long, value_name = "POST.csv", requires = "truth")]
    pub posterior: Option<PathBuf>,

    /// The parameters to check (default: every column of --posterior but obs, distance and *_hat).
    #[arg(long, value_delimiter = ',', value_name = "NAMES", requires = "posterior")]
    pub params: Option<Vec<String>>,

    /// Folder for the report and pictures [default: RUN/check, or runs/check-<time>].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    #[command(flatten)]
    pub simulator: SimulatorArgs,
}

/// Runs `innfer check`.
pub fn run(args: CheckArgs, context: Context) -> Result<()> {
    let (report, out) = match (&args.run, &args.truth, &args.posterior) {
        (Some(run), _, _) => (check_run(&args, run, context.device)?, args.out.clone().unwrap_or_else(|| run.join("check"))),
        (None, Some(truth), Some(posterior)) => {
            let read = read_draws_of_pairs(truth, posterior, args.params.as_deref())?;
            eprintln!("check: {} pairs × {} draws from {}", read.truth.size()[0], read.draws.size()[1], posterior.display());
            let draws = Draws {
                names: &read.names,
                truth: &read.truth.to_device(context.device),
                draws: &read.draws.to_device(context.device),
                log_density: None,
            };
            (check_draws(&draws)?, args.out.clone().unwrap_or_else(|| run_folder::default_dir("check")))
        }
        _ => bail!("give --run DIR, or --truth PAIRS.csv with --posterior POST.csv"),
    };
    report.write_to(&out)?;
    println!("{}", report.verdict_table());
    eprintln!("written {} in {}", CHECK_FILES.join(", "), out.display());
    Ok(())
}

/// Samples the run's posterior for pairs from its joint (or its held-out rows, or a file) and checks.
fn check_run(args: &CheckArgs, run: &Path, device: Device) -> Result<CheckReport> {
    let loaded = checkpoint::load_trained(run, device, args.allow_untrained)?;
    if let Some(record) = &loaded.training.sequential {
        eprintln!(
            "warning: this run was made in {} sequential rounds for one observation; its posterior is valid near that one only, \
             so a check over pairs from the joint says little about it",
            record.rounds.len()
        );
    }
    let info = &loaded.problem;
    let has_simulator = info.name != DATA_PROBLEM || args.simulator.simulator.is_some() || info.options.contains_key("simulator");
    let problem: Option<Box<dyn Problem>> = match has_simulator {
        true => Some(args.simulator.problem_of(info, device)?),
        false => None,
    };
    let (truth, y) = match (&args.pairs_file, problem.as_deref()) {
        (Some(path), _) => read_pairs(path, &info.x_names, &info.y_names)?,
        (None, Some(problem)) if info.name != DATA_PROBLEM => problem.sample_joint(args.pairs, device)?,
        (None, _) => held_out_pairs(info, loaded.training.seed()?, args.pairs)?,
    };
    if problem.is_none() && args.predictive_draws > 0 {
        eprintln!("check: the run has no simulator, so no posterior predictive check (give one with --simulator)");
    }
    let draws = CheckDraws { per_pair: args.draws, predictive: args.predictive_draws };
    eprintln!("check: {} pairs × {} draws of the {} of {}", truth.size()[0], draws.per_pair, loaded.model.spec.kind, run.display());
    Ok(check_model(&loaded.model, &info.x_names, &truth, &y, draws, problem.as_deref())?)
}

/// The pairs a run on data held out of training, the first `most` of them.
fn held_out_pairs(info: &ProblemInfo, seed: u64, most: i64) -> Result<(Tensor, Tensor)> {
    let (x, y) = DataSpec::from_info(info)?.held_out_pairs(seed, most)?;
    let rows = x.size()[0];
    if rows == 0 {
        bail!(
            "the run kept no held-out rows (it was trained with --val 0), and a check needs pairs its model has not seen: \
             give them with --pairs-file PAIRS.csv (columns {} and {})",
            info.x_names.join(","),
            info.y_names.join(",")
        );
    }
    if rows < most {
        eprintln!("check: the run held out {rows} rows; checking all of them (--pairs asked for {most})");
    }
    Ok((x, y))
}
