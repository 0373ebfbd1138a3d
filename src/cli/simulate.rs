//! `innfer simulate`: a built-in forward process as a filter, CSV in, CSV out.

use std::path::Path;

use anyhow::Result;
use clap::Args;
use innfer::io::table::{read_table_from, write_table_to};

use super::problem_args::ProblemArgs;
use super::Context;

/// Apply a built-in forward process to x rows read as CSV from stdin, writing y rows as CSV to
/// stdout: the protocol of `--simulator`, so a built-in problem can stand in for an external one.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    #[command(flatten)]
    pub problem: ProblemArgs,
}

/// Runs `innfer simulate`.
pub fn run(args: SimulateArgs, context: Context) -> Result<()> {
    let problem = args.problem.build()?;
    let info = problem.info();
    let input = Path::new("standard input");
    let x = read_table_from(std::io::stdin().lock(), input)?.select(&info.x_names, input)?;
    let y = problem.simulate(&x.to_device(context.device))?;
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    write_table_to(&mut stdout, Path::new("standard output"), &info.y_names, &[&y])?;
    Ok(())
}
