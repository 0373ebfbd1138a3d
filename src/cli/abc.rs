//! `innfer abc`: the rejection-ABC baseline, batched on the device.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use innfer::abc::{rejection_abc, Acceptance, DEFAULT_CHUNK};
use innfer::io::atomic::ensure_writable;
use innfer::io::table::write_table;
use innfer::model::checkpoint;

use super::observations::{parse_count, ObservationArgs};
use super::problem_args::ProblemArgs;
use super::simulator::SimulatorArgs;
use super::{progress, Context};

/// Rejection ABC: simulate prior draws and keep those whose y lies near each observation.
///
/// For your own problem, give a run trained on data (--run): the prior is then the x of its data and
/// the forward process its --simulator.
#[derive(Debug, Args)]
pub struct AbcArgs {
    #[command(flatten)]
    pub problem: ProblemArgs,

    /// Use the problem of this run folder instead (built in, or data with its simulator).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["problem", "labels"])]
    pub run: Option<PathBuf>,

    #[command(flatten)]
    pub simulator: SimulatorArgs,

    #[command(flatten)]
    pub observations: ObservationArgs,

    /// Keep every draw within this distance of the observation.
    #[arg(long, conflicts_with = "keep")]
    pub eps: Option<f64>,

    /// Keep the K nearest draws per observation (quantile ABC; the default, with 4000).
    #[arg(long, value_parser = parse_count)]
    pub keep: Option<i64>,

    /// Prior draws, e.g. 1e8.
    #[arg(long, default_value = "1e7", value_parser = parse_count)]
    pub draws: i64,

    /// Draws simulated at once (memory: about 40 bytes per draw and observation).
    #[arg(long, default_value_t = DEFAULT_CHUNK, value_parser = parse_count)]
    pub chunk: i64,

    /// Output CSV: obs, the x columns, distance.
    #[arg(long, value_name = "ABC.csv")]
    pub out: PathBuf,
}

/// Runs `innfer abc`.
pub fn run(args: AbcArgs, context: Context) -> Result<()> {
    let problem = match &args.run {
        Some(dir) => args.simulator.problem_of(&checkpoint::read_manifest(dir)?.problem, context.device)?,
        None if args.simulator.simulator.is_some() => bail!("--simulator needs --run: the run trained on data whose simulator it is"),
        None => args.problem.build()?,
    };
    let info = problem.info();
    if !args.observations.given() {
        bail!("give observations with --y VALUES or --observations OBS.csv");
    }
    ensure_writable(&args.out)?;
    let targets = args.observations.read(&info.y_names, context.device)?;
    let acceptance = match (args.eps, args.keep) {
        (Some(eps), _) => Acceptance::Within(eps),
        (None, keep) => Acceptance::Nearest(keep.unwrap_or(4000)),
    };
    let bar = progress::count_bar("ABC", args.draws as u64, "draws");
    let started = std::time::Instant::now();
    let samples = rejection_abc(problem.as_ref(), &targets, args.draws, acceptance, args.chunk, context.device, &mut |done| {
        bar.set_position(done as u64)
    })?;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let mut header = vec!["obs".to_string()];
    header.extend(info.x_names.iter().cloned());
    header.push("distance".into());
    write_table(&args.out, &header, &[&samples.obs, &samples.x, &samples.distance.unsqueeze(1)])?;
    eprintln!(
        "{} draws for {} observation(s) in {seconds:.1} s ({:.2e} draws/s); accepted {:?}; written to {}",
        args.draws,
        targets.size()[0],
        args.draws as f64 / seconds,
        samples.accepted,
        args.out.display()
    );
    if let Acceptance::Nearest(k) = acceptance {
        for (index, &accepted) in samples.accepted.iter().enumerate() {
            if accepted < k {
                eprintln!("warning: observation {index} got {accepted} samples, fewer than the {k} asked for");
            }
        }
    } else if let Some(index) = samples.accepted.iter().position(|&a| a == 0) {
        eprintln!("warning: observation {index} accepted no draw; raise --eps or --draws");
    }
    Ok(())
}
