//! `innfer generate`: draws (x, y) pairs of a built-in problem into CSV or Parquet.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use innfer::io::atomic::ensure_writable;
use innfer::io::dataset::write_columns;
use tch::Tensor;

use super::observations::parse_count;
use super::problem_args::ProblemArgs;
use super::Context;

/// Draw (x, y) pairs of a built-in problem from its prior and forward process, to a .csv or
/// .parquet file: data in the form `train --data` reads. With --x-only, draw x from the prior alone:
/// input for an external simulator (such as scripts/dask_simulator.py --out).
#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub problem: ProblemArgs,

    /// Number of pairs, e.g. 1e6.
    #[arg(long, value_parser = parse_count)]
    pub n: i64,

    /// Output file: .csv or .parquet; columns x1…, y1… (x1… alone with --x-only).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,

    /// Only the prior draws of x, without simulating y.
    #[arg(long)]
    pub x_only: bool,
}

/// Runs `innfer generate`.
pub fn run(args: GenerateArgs, context: Context) -> Result<()> {
    let problem = args.problem.build()?;
    let info = problem.info();
    ensure_writable(&args.out)?;
    if args.x_only {
        write_columns(&args.out, &info.x_names, &problem.sample_prior(args.n, context.device))?;
        eprintln!("{} prior draws of {} written to {}", args.n, args.problem.problem, args.out.display());
        return Ok(());
    }
    let (x, y) = problem.sample_joint(args.n, context.device)?;
    let names: Vec<String> = info.x_names.iter().chain(&info.y_names).cloned().collect();
    write_columns(&args.out, &names, &Tensor::cat(&[x, y], 1))?;
    eprintln!("{} pairs of {} written to {}", args.n, args.problem.problem, args.out.display());
    Ok(())
}
