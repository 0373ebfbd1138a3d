//! The `--problem` and `--labels` options that name a built-in problem.

use std::collections::BTreeMap;

use clap::Args;
use innfer::problem::{self, Problem};

/// A built-in problem and its options.
#[derive(Debug, Args)]
pub struct ProblemArgs {
    /// The problem: kinematics (arm on a rail), gmm (eight-mode Gaussian mixture), or an sbibm task:
    /// two_moons, gaussian_mixture, slcp, slcp_distractors, gaussian_linear, gaussian_linear_uniform,
    /// bernoulli_glm, bernoulli_glm_raw, sir, lotka_volterra.
    #[arg(long, default_value = "kinematics")]
    pub problem: String,

    /// Colouring of the gmm modes: some (several modes per colour) or all (one colour per mode).
    #[arg(long, value_name = "MAP")]
    pub labels: Option<String>,
}

impl ProblemArgs {
    /// The problem's options, as the library names them.
    pub fn options(&self) -> BTreeMap<String, String> {
        self.labels.iter().map(|labels| ("labels".to_string(), labels.clone())).collect()
    }

    /// The problem.
    pub fn build(&self) -> innfer::Result<Box<dyn Problem>> {
        problem::builtin(&self.problem, &self.options())
    }
}
