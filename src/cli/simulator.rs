//! The forward process of a trained run: built in, or the external simulator of a run on data.

use std::time::Duration;

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

    /// Longest time one batch of the simulator may take before it is stopped and the command fails.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10m", value_name = "TIME")]
    pub simulator_timeout: Duration,
}

impl SimulatorArgs {
    /// The problem of the run described by `info`, with its forward process.
    /// A simulator stored in a run folder (perhaps someone else's) is named before it runs.
    pub fn problem_of(&self, info: &ProblemInfo, device: Device) -> Result<Box<dyn Problem>> {
        if let (None, Some(stored)) = (&self.simulator, info.options.get("simulator")) {
            eprintln!("simulator: the run's own command, which will run on this machine: {stored}");
        }
        Ok(problem::of_run(info, self.simulator.clone(), self.simulator_timeout, device)?)
    }
}
