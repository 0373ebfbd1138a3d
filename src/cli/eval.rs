//! `innfer eval`: the yardsticks of a trained run against rejection ABC.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use innfer::eval::{evaluate, EvalSettings, Reference};
use innfer::io::atomic::write_atomically;
use innfer::io::table::read_table;
use innfer::model::checkpoint;
use innfer::problem::data::DATA_PROBLEM;
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
}

/// Default targets: y of draws from the joint (kinematics), or one per colour (gmm).
fn default_targets(problem: &dyn Problem, count: i64, device: Device) -> innfer::Result<Tensor> {
    let info = problem.info();
    Ok(match info.options.get("labels").map(|labels| labels.parse::<innfer::problem::gmm::LabelMap>()) {
        Some(Ok(labels)) => Tensor::arange(labels.used_colours(), (Kind::Int64, device))
            .one_hot(info.y_names.len() as i64)
            .to_kind(Kind::Float),
        _ => problem.sample_joint(count, device)?.1,
    })
}

/// Reads a reference CSV (obs, x columns, …) into one tensor of samples per observation.
fn read_reference(path: &PathBuf, x_names: &[String], observations: i64) -> Result<Reference> {
    let table = read_table(path)?;
    let obs = table.select(&["obs".to_string()], path)?.view([-1]).to_kind(Kind::Int64);
    let x = table.select(x_names, path)?;
    let found = obs.max().int64_value(&[]) + 1;
    if found != observations {
        bail!("{}: the reference has {found} observations, the evaluation {observations}", path.display());
    }
    Ok(group_by_observation(&x, &obs, observations))
}

/// Runs `innfer eval`.
pub fn run(args: EvalArgs, context: Context) -> Result<()> {
    let loaded = checkpoint::load(&args.run, context.device)?;
    let info = &loaded.problem;
    let problem = args.simulator.problem_of(info, context.device)?;
    let targets = if args.observations.given() {
        args.observations.read(&info.y_names)?
    } else {
        default_targets(problem.as_ref(), args.targets, context.device)?
    };
    let reference = match &args.reference {
        Some(path) => Some(read_reference(path, &info.x_names, targets.size()[0])?),
        None => None,
    };
    let default_draws = if info.name == DATA_PROBLEM { 1_000_000 } else { EvalSettings::default().abc_draws };
    let settings = EvalSettings { abc_draws: args.abc_draws.unwrap_or(default_draws), ..EvalSettings::default() };
    let report = evaluate(&loaded.model, problem.as_ref(), &targets, reference, &settings, &mut |stage| {
        eprintln!("eval: {stage}")
    })?;
    let table = report.markdown();
    let json_path = args.run.join("eval.json");
    write_atomically(&json_path, |writer| {
        serde_json::to_writer_pretty(writer, &report).map_err(|error| innfer::Error::csv(&json_path, error.to_string()))
    })?;
    let md_path = args.run.join("eval.md");
    write_atomically(&md_path, |writer| writer.write_all(table.as_bytes()).map_err(|e| innfer::Error::io(&md_path, e)))?;
    println!("{table}");
    eprintln!("written {} and {}", json_path.display(), md_path.display());
    Ok(())
}
