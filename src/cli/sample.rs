//! `innfer sample`: posterior samples for observations, from a trained run.

use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use clap::Args;
use innfer::io::table::write_table;
use innfer::model::checkpoint;
use innfer::sample::posterior;

use super::observations::{parse_count, ObservationArgs};
use super::simulator::SimulatorArgs;
use super::Context;

/// Draw posterior samples of x for observations y from a trained run.
#[derive(Debug, Args)]
pub struct SampleArgs {
    /// The run folder written by `innfer train`.
    #[arg(long)]
    pub run: PathBuf,

    #[command(flatten)]
    pub observations: ObservationArgs,

    /// Samples per observation.
    #[arg(long, default_value = "4000", value_parser = parse_count)]
    pub n: i64,

    /// Output CSV: obs (0-based row of the observation), then the x columns.
    #[arg(long, value_name = "POST.csv")]
    pub out: PathBuf,

    /// Also write the forward process of each sample (columns <y>_hat), to check it re-simulates y.
    #[arg(long)]
    pub resimulate: bool,

    #[command(flatten)]
    pub simulator: SimulatorArgs,
}

/// Runs `innfer sample`.
pub fn run(args: SampleArgs, context: Context) -> Result<()> {
    let loaded = checkpoint::load(&args.run, context.device)?;
    let names = &loaded.problem.y_names;
    if !args.observations.given() {
        bail!("give observations with --y VALUES or --observations OBS.csv");
    }
    let y = args.observations.read(names)?;
    let simulator = match args.resimulate {
        true => Some(args.simulator.problem_of(&loaded.problem, context.device)?),
        false => None,
    };
    let started = std::time::Instant::now();
    let (x, obs) = posterior(&loaded.model, &y, args.n)?;
    let seconds = started.elapsed().as_secs_f64();
    let mut header = vec!["obs".to_string()];
    header.extend(loaded.problem.x_names.iter().cloned());
    let resimulated = simulator.map(|simulator| simulator.simulate(&x)).transpose()?;
    let mut columns = vec![&obs, &x];
    if let Some(y_hat) = &resimulated {
        header.extend(names.iter().map(|name| format!("{name}_hat")));
        columns.push(y_hat);
    }
    write_table(&args.out, &header, &columns).with_context(|| "cannot write the posterior samples")?;
    eprintln!(
        "{} samples for {} observation(s) in {:.3} s; written to {}",
        x.size()[0],
        y.size()[0],
        seconds,
        args.out.display()
    );
    Ok(())
}
