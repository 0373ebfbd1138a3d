//! The command line: global options, one module per subcommand. Thin: parsing and printing only.

mod abc;
mod bench;
mod check;
mod eval;
mod generate;
mod main_job;
mod observations;
mod plot;
mod problem_args;
mod progress;
mod run_folder;
mod sample;
mod simulate;
mod simulator;
mod train;

use anyhow::Result;
use clap::{Parser, Subcommand};
use tch::Device;

use innfer::device::DeviceChoice;

/// Posteriors of ill-posed inverse problems with invertible neural networks.
///
/// Learns a forward process x → y and its inverse at once, then returns the whole posterior p(x | y)
/// as samples for any observation y. Run without a subcommand to run the main job: both built-in
/// problems trained, sampled and compared with rejection ABC.
#[derive(Debug, Parser)]
#[command(name = "innfer", disable_version_flag = true, max_term_width = 100)]
pub struct Cli {
    /// Where to compute: auto (first CUDA device if libtorch sees one, else CPU), cpu, cuda or cuda:N.
    #[arg(long, global = true, default_value = "auto", value_name = "DEVICE")]
    pub device: DeviceChoice,

    /// Seed of every random choice (data, initialisation, sampling), so that runs repeat.
    #[arg(long, global = true, default_value_t = innfer::train::config::DEFAULT_SEED)]
    pub seed: u64,

    /// CPU threads for libtorch (default: all cores).
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub threads: Option<u32>,

    /// Print innfer's version, libtorch's, and whether CUDA is visible.
    #[arg(short = 'V', long)]
    pub version: bool,

    #[command(flatten)]
    pub main_job: main_job::MainJobArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train an invertible network on a problem or on your (x, y) pairs (writes a run folder).
    Train(Box<train::TrainArgs>),
    /// Draw posterior samples for observations from a trained run.
    Sample(sample::SampleArgs),
    /// Rejection ABC: the reference the models are measured against.
    Abc(abc::AbcArgs),
    /// Measure a trained run against rejection ABC.
    Eval(eval::EvalArgs),
    /// Check whether posteriors are calibrated (SBC, coverage, TARP, z-scores), for a run or any draws.
    Check(check::CheckArgs),
    /// Draw (x, y) pairs of a built-in problem into CSV or Parquet.
    Generate(generate::GenerateArgs),
    /// A built-in forward process as a CSV filter (stdin to stdout), like an external simulator.
    Simulate(simulate::SimulateArgs),
    /// Redraw the pictures of a main-job folder from its CSVs.
    Plot(plot::PlotArgs),
    /// Measure throughput: training, sampling, ABC, data generation.
    Bench(bench::BenchArgs),
}

/// What every subcommand gets: the resolved device and the seed.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// The device to compute on.
    pub device: Device,
    /// The seed of all randomness.
    pub seed: u64,
}

/// Applies the global options and runs the chosen command.
pub fn run(cli: Cli) -> Result<()> {
    if cli.version {
        println!("{}", version_line());
        return Ok(());
    }
    if let Some(threads) = cli.threads {
        tch::set_num_threads(threads as i32);
    }
    let device = cli.device.resolve()?;
    tch::manual_seed(cli.seed as i64);
    let context = Context { device, seed: cli.seed };
    match cli.command {
        None => main_job::run(cli.main_job, context),
        Some(Command::Train(args)) => train::run(*args, context),
        Some(Command::Sample(args)) => sample::run(args, context),
        Some(Command::Abc(args)) => abc::run(args, context),
        Some(Command::Eval(args)) => eval::run(args, context),
        Some(Command::Check(args)) => check::run(args, context),
        Some(Command::Generate(args)) => generate::run(args, context),
        Some(Command::Simulate(args)) => simulate::run(args, context),
        Some(Command::Plot(args)) => plot::run(args),
        Some(Command::Bench(args)) => bench::run(args, context),
    }
}

/// innfer's version, libtorch's, and what CUDA libtorch sees.
fn version_line() -> String {
    let cuda = match tch::Cuda::device_count() {
        0 => "no CUDA device visible".to_string(),
        count => format!("{count} CUDA device(s) visible"),
    };
    format!("innfer {} (libtorch {}, {cuda})", env!("CARGO_PKG_VERSION"), innfer::LIBTORCH_VERSION)
}
