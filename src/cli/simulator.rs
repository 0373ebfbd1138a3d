//! The forward process of a trained run: built in, or the external simulator of a run on data.

use anyhow::Result;
use clap::Args;
use innfer::model::checkpoint::ProblemInfo;
use innfer::problem::{self, Problem};
use tch::Device;

/// `--simulator`, for runs trained on data.
#[derive(Debug, Args)]
pub struct SimulatorArgs {
    /// For a run trained on data: the simulator command (default: the one given to `train`). It reads
    /// x rows as CSV with a header on stdin and writes y rows as CSV with a header on stdout.
    #[arg(long, value_name = "COMMAND")]
    pub simulator: Option<String>,
}

impl SimulatorArgs {
    /// The problem of the run described by `info`, with its forward process.
    pub fn problem_of(&self, info: &ProblemInfo, device: Device) -> Result<Box<dyn Problem>> {
        Ok(problem::of_run(info, self.simulator.clone(), device)?)
    }
}
