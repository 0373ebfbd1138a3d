//! `innfer eval`: the yardsticks of a trained run against rejection ABC.

use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use clap::Args;
use innfer::eval::c2st::{c2st_of_model, C2stSettings};
use innfer::eval::nll::held_out_nll;
use innfer::eval::{evaluate, EvalSettings, Reference};
use innfer::io::atomic::{write_json_atomically, write_text_atomically};
use innfer::io::observations::read_observations;
use innfer::io::table::{read_pairs, read_table};
use innfer::model::checkpoint;
use innfer::problem::data::DATA_PROBLEM;
use innfer::problem::sbibm::{self, Task};
use innfer::problem::Problem;
use innfer::sample::group_by_observation;
use tch::{Device, Kind, Tensor};

use super::observations::{parse_count, ObservationArgs};
use super::simulator::SimulatorArgs;
use super::Context;

/// Measure a trained run: posterior mismatch and re-simulation error against rejection ABC,
/// calibration, and (gmm) forward accuracy and per-colour precision and recall.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The run folder written by `innfer train`.
    #[arg(long)]
    pub run: PathBuf,

    /// Use a run whose model never took a training step.
    #[arg(long)]
    pub allow_untrained: bool,

    #[command(flatten)]
    pub observations: ObservationArgs,

    /// Number of targets drawn from the prior predictive (when no observations are given; gmm
    /// uses one target per colour).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(i64).range(1..))]
    pub targets: i64,

    /// An ABC reference written by `innfer abc` for the same observations (else computed now).
    #[arg(long, value_name = "ABC.csv")]
    pub reference: Option<PathBuf>,

    /// Prior draws of the ABC reference computed now [default: 1e8; 1e6 for a run on data, whose
    /// simulator is another program].
    #[arg(long, value_parser = parse_count)]
    pub abc_draws: Option<i64>,

    #[command(flatten)]
    pub simulator: SimulatorArgs,

    /// abc: mismatch, re-simulation error and calibration against rejection ABC (and the mixture's
    /// scores); c2st: sbibm's classifier two-sample test against reference samples, per observation
    /// (an sbibm task's ten observations and reference posteriors by default); nll: a cINN's mean
    /// negative log density of held-out pairs (--pairs-file), which needs no reference.
    #[arg(long, default_value = "abc")]
    pub metric: Metric,

    /// For --metric nll: a CSV of held-out pairs with the run's x and y columns, such as `innfer
    /// generate --seed S` writes (with a seed other than the run's, so that no pair was trained on).
    #[arg(long, value_name = "PAIRS.csv")]
    pub pairs_file: Option<PathBuf>,
}

/// What `innfer eval` measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Metric {
    /// The yardsticks against rejection ABC.
    Abc,
    /// The classifier two-sample test against reference samples.
    C2st,
    /// The mean negative log density of held-out pairs.
    Nll,
}

/// Runs `innfer eval --metric nll`.
fn run_nll(args: &EvalArgs, loaded: &checkpoint::Checkpoint) -> Result<()> {
    let info = &loaded.problem;
    let Some(path) = &args.pairs_file else {
        let generate = match info.name.as_str() {
            DATA_PROBLEM => String::new(),
            name => format!(" (innfer generate --problem {name} --n 2000 --seed 7 --out PAIRS.csv writes some)"),
        };
        bail!(
            "--metric nll needs --pairs-file PAIRS.csv: held-out pairs with the run's columns {} and {}{generate}",
            info.x_names.join(","),
            info.y_names.join(",")
        )
    };
    let (x, y) = read_pairs(path, &info.x_names, &info.y_names)?;
    eprintln!("eval: held-out loss of {} pairs", x.size()[0]);
    let report = held_out_nll(&loaded.model, &x, &y)?;
    let json_path = args.run.join("nll.json");
    write_json_atomically(&json_path, &report)?;
    println!("held-out loss (mean −log q(x | y), nats): {:.4} ± {:.4} over {} pairs", report.mean, report.standard_error, report.pairs);
    if report.mass_inside < 1.0 {
        println!("the model's mass inside the prior's box: {:.4} on average (its density renormalised to the box)", report.mass_inside);
    }
    eprintln!("written {}", json_path.display());
    Ok(())
}

/// Runs `innfer eval --metric c2st`.
fn run_c2st(args: &EvalArgs, loaded: &checkpoint::Checkpoint, device: Device) -> Result<()> {
    let info = &loaded.problem;
    let task_files = sbibm::files_folder().join(&info.name);
    let observations = if args.observations.given() {
        args.observations.read(&info.y_names, device)?
    } else if Task::named(&info.name).is_some() {
        read_observations(&task_files.join("observations.csv"), &info.y_names)
            .with_context(|| "the sbibm reference files are missing: run scripts/setup.sh (or give --observations and --reference)")?
            .to_device(device)
    } else {
        bail!("--metric c2st needs --observations and --reference (built in only for the sbibm tasks)")
    };
    let reference_path = match &args.reference {
        Some(path) => path.clone(),
        None if Task::named(&info.name).is_some() => task_files.join("reference.csv"),
        None => bail!("--metric c2st needs --reference REF.csv: obs and the x columns, samples of each observation's posterior"),
    };
    let reference = read_reference(&reference_path, &info.x_names, observations.size()[0], device)?;
    eprintln!("eval: C2ST of {} observation(s)", observations.size()[0]);
    let report = c2st_of_model(&loaded.model, &observations, &reference, &C2stSettings::default())?;
    let mut table = String::from("| observation | C2ST |\n|---|---|\n");
    for (index, value) in report.per_observation.iter().enumerate() {
        table.push_str(&format!("| {} | {value:.3} |\n", index + 1));
    }
    table.push_str(&format!("| mean | {:.3} |\n", report.mean));
    let json_path = args.run.join("c2st.json");
    write_json_atomically(&json_path, &report)?;
    println!("{table}");
    eprintln!("{} samples per observation; written {}", report.samples, json_path.display());
    Ok(())
}

/// Default targets: y of draws from the joint (kinematics), or one per colour (gmm). The draws come
/// from the generator seeded afresh with `seed`, so every model is measured on the same targets (the
/// y of `innfer generate --n COUNT --seed SEED`), whatever building it drew before.
fn default_targets(problem: &dyn Problem, count: i64, seed: u64, device: Device) -> innfer::Result<Tensor> {
    let info = problem.info();
    Ok(match info.options.get("labels").map(|labels| labels.parse::<innfer::problem::gmm::LabelMap>()) {
        Some(Ok(labels)) => {
            Tensor::arange(labels.used_colours(), (Kind::Int64, device)).one_hot(info.y_names.len() as i64).to_kind(Kind::Float)
        }
        _ => {
            tch::manual_seed(seed as i64);
            problem.sample_joint(count, device)?.1
        }
    })
}

/// Reads a reference CSV (obs, x columns, …) into one tensor of samples per observation, on `device`.
fn read_reference(path: &std::path::Path, x_names: &[String], observations: i64, device: Device) -> Result<Reference> {
    let table = read_table(path)?;
    let obs = table.select(&["obs".to_string()], path)?.view([-1]).to_kind(Kind::Int64).to_device(device);
    let x = table.select(x_names, path)?.to_device(device);
    let found = obs.max().int64_value(&[]) + 1;
    if found != observations {
        bail!("{}: the reference has {found} observations, the evaluation {observations}", path.display());
    }
    Ok(group_by_observation(&x, &obs, observations))
}

/// Runs `innfer eval`.
pub fn run(args: EvalArgs, context: Context) -> Result<()> {
    if args.pairs_file.is_some() && args.metric != Metric::Nll {
        bail!("--pairs-file is for --metric nll");
    }
    let loaded = checkpoint::load_trained(&args.run, context.device, args.allow_untrained)?;
    match args.metric {
        Metric::C2st => return run_c2st(&args, &loaded, context.device),
        Metric::Nll => return run_nll(&args, &loaded),
        Metric::Abc => {}
    }
    let info = &loaded.problem;
    let problem = args.simulator.problem_of(info, context.device)?;
    let targets = if args.observations.given() {
        args.observations.read(&info.y_names, context.device)?
    } else {
        default_targets(problem.as_ref(), args.targets, context.seed, context.device)?
    };
    let reference = match &args.reference {
        Some(path) => Some(read_reference(path, &info.x_names, targets.size()[0], context.device)?),
        None => None,
    };
    let default_draws = if info.name == DATA_PROBLEM { 1_000_000 } else { EvalSettings::default().abc_draws };
    let settings = EvalSettings { abc_draws: args.abc_draws.unwrap_or(default_draws), ..EvalSettings::default() };
    let report = evaluate(&loaded.model, problem.as_ref(), &targets, reference, &settings, &mut |stage| eprintln!("eval: {stage}"))?;
    let table = report.markdown();
    let json_path = args.run.join("eval.json");
    write_json_atomically(&json_path, &report)?;
    let md_path = args.run.join("eval.md");
    write_text_atomically(&md_path, &table)?;
    println!("{table}");
    eprintln!("written {} and {}", json_path.display(), md_path.display());
    Ok(())
}
