//! `innfer sample`: posterior samples for observations, from a trained run.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use clap::Args;
use innfer::io::atomic::free_bytes;
use innfer::io::table::TableWriter;
use innfer::model::checkpoint;
use innfer::sample::posterior_in_parts;
use innfer::train::sequential::{other_observations, other_observations_warning};
use tch::Tensor;

use super::observations::{parse_count, ObservationArgs};
use super::simulator::SimulatorArgs;
use super::{progress, Context};

/// Draw posterior samples of x for observations y from a trained run.
#[derive(Debug, Args)]
pub struct SampleArgs {
    /// The run folder written by `innfer train`.
    #[arg(long)]
    pub run: PathBuf,

    /// Use a run whose model never took a training step.
    #[arg(long)]
    pub allow_untrained: bool,

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
    let loaded = checkpoint::load_trained(&args.run, context.device, args.allow_untrained)?;
    let names = &loaded.problem.y_names;
    if !args.observations.given() {
        bail!("give observations with --y VALUES or --observations OBS.csv");
    }
    let y = args.observations.read(names, context.device)?;
    if let Some(record) = &loaded.training.sequential {
        if let Some(warning) = other_observations_warning(record, &other_observations(record, &y)) {
            eprintln!("warning: {warning}");
        }
    }
    let simulator = match args.resimulate {
        true => Some(args.simulator.problem_of(&loaded.problem, context.device)?),
        false => None,
    };
    let mut header = vec!["obs".to_string()];
    header.extend(loaded.problem.x_names.iter().cloned());
    if simulator.is_some() {
        header.extend(names.iter().map(|name| format!("{name}_hat")));
    }
    let rows = y.size()[0].saturating_mul(args.n);
    // A float32 cell takes at most 15 characters and its comma: an upper bound on the file's size.
    let bytes = (rows as u64).saturating_mul(header.len() as u64 * 16);
    if let Some(free) = free_bytes(&args.out).filter(|&free| free < bytes) {
        bail!(
            "{rows} samples make up to {:.1} GB of CSV, more than the {:.1} GB free where {} goes; lower --n",
            bytes as f64 / 1e9,
            free as f64 / 1e9,
            args.out.display()
        );
    }
    let mut table = TableWriter::create(&args.out, &header).with_context(|| "cannot write the posterior samples")?;
    let bar = progress::count_bar("sampling", rows as u64, "samples");
    let (mut sampling, mut written) = (Duration::ZERO, 0i64);
    let mut started = Instant::now();
    posterior_in_parts(&loaded.model, &y, args.n, &mut |x, obs| {
        sampling += started.elapsed();
        let resimulated = simulator.as_ref().map(|simulator| simulator.simulate(&x)).transpose()?;
        let columns: Vec<&Tensor> = [&obs, &x].into_iter().chain(resimulated.as_ref()).collect();
        table.write(&columns)?;
        written += x.size()[0];
        bar.set_position(written as u64);
        started = Instant::now();
        Ok(())
    })?;
    table.finish()?;
    bar.finish_and_clear();
    eprintln!(
        "{written} samples for {} observation(s) in {:.3} s of sampling; written to {}",
        y.size()[0],
        sampling.as_secs_f64(),
        args.out.display()
    );
    Ok(())
}
