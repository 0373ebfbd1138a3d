//! Inverse problems: a prior over x and a forward process x → y, as batched tensor code on a device.

pub mod data;
pub mod gmm;
pub mod kinematics;
pub mod sbibm;
pub mod simulator;

use std::collections::BTreeMap;

use tch::{Device, Tensor};

use crate::error::{Error, Result};
use crate::model::checkpoint::ProblemInfo;
use crate::model::Bounds;

/// Which columns of x and of y are modelled on the log scale (empty: none).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogColumns {
    /// One flag per x column, or empty.
    pub x: Vec<bool>,
    /// One flag per y column, or empty.
    pub y: Vec<bool>,
}

/// A prior over x and a forward process x → y.
pub trait Problem: Send + Sync {
    /// What the problem is (name, options, column names), as stored in checkpoints.
    fn info(&self) -> ProblemInfo;

    /// `n` draws from the prior, shape [n, dim_x], float32 on `device`.
    fn sample_prior(&self, n: i64, device: Device) -> Tensor;

    /// The forward process applied to each row of `x`: shape [rows, dim_y]. Fails only for an
    /// external simulator (or a problem without one).
    fn simulate(&self, x: &Tensor) -> Result<Tensor>;

    /// `n` draws of (x, y) from the joint distribution.
    fn sample_joint(&self, n: i64, device: Device) -> Result<(Tensor, Tensor)> {
        let x = self.sample_prior(n, device);
        let y = self.simulate(&x)?;
        Ok((x, y))
    }

    /// The box the prior of x lies in, where it has one (a cINN keeps its samples inside it).
    fn x_bounds(&self) -> Option<Bounds> {
        None
    }

    /// The columns of x whose prior, and of y whose simulations, hold only positive values spread
    /// over a log scale (log-normal): the model standardises their logarithms. None by default.
    fn log_scale_columns(&self) -> LogColumns {
        LogColumns::default()
    }

    /// Default widths (z, total) of the paper's INN for this problem.
    fn inn_widths(&self) -> (i64, i64);

    /// Width of x.
    fn dim_x(&self) -> i64 {
        self.info().x_names.len() as i64
    }

    /// Width of y.
    fn dim_y(&self) -> i64 {
        self.info().y_names.len() as i64
    }
}

/// The names of the built-in problems.
pub const BUILTIN: [&str; 12] = [
    "kinematics",
    "gmm",
    "two_moons",
    "gaussian_mixture",
    "slcp",
    "gaussian_linear",
    "gaussian_linear_uniform",
    "bernoulli_glm",
    "bernoulli_glm_raw",
    "slcp_distractors",
    "sir",
    "lotka_volterra",
];

/// Default (z, total) widths of the INN for x and y of widths `dx` and `dy`: z as wide as what y
/// cannot explain (at least 1), the whole network 2 wider than the wider side.
pub fn default_inn_widths(dx: i64, dy: i64) -> (i64, i64) {
    let z = (dx - dy).max(1);
    (z, dx.max(dy + z) + 2)
}

/// Builds a built-in problem by name, with its options (`labels=all|some` for gmm).
pub fn builtin(name: &str, options: &BTreeMap<String, String>) -> Result<Box<dyn Problem>> {
    let unknown_options = |allowed: &[&str]| {
        options
            .keys()
            .find(|key| !allowed.contains(&key.as_str()))
            .map(|key| Error::invalid(format!("problem '{name}' has no option '{key}' (options: {})", allowed.join(", "))))
    };
    match name {
        "kinematics" => match unknown_options(&[]) {
            Some(error) => Err(error),
            None => Ok(Box::new(kinematics::Kinematics)),
        },
        "gmm" => match unknown_options(&["labels"]) {
            Some(error) => Err(error),
            None => {
                let labels = options.get("labels").map_or(Ok(gmm::LabelMap::Some), |text| text.parse())?;
                Ok(Box::new(gmm::GaussianMixture::new(labels)))
            }
        },
        _ => match (sbibm::Task::named(name), unknown_options(&[])) {
            (Some(_), Some(error)) => Err(error),
            (Some(task), None) => {
                task.check_files()?;
                Ok(Box::new(task))
            }
            (None, _) => Err(Error::invalid(format!("unknown problem '{name}': expected one of {}", BUILTIN.join(", ")))),
        },
    }
}

/// The problem a run was trained on: a built-in one, or its data (read again) with its external
/// simulator, which `simulator` replaces when given.
pub fn of_run(info: &ProblemInfo, simulator: Option<String>, timeout: std::time::Duration, device: Device) -> Result<Box<dyn Problem>> {
    if info.name == data::DATA_PROBLEM {
        return Ok(Box::new(data::DataProblem::of_run(info, simulator, timeout, device)?));
    }
    if simulator.is_some() {
        return Err(Error::invalid(format!("--simulator is for runs trained on data; '{}' has its own forward process", info.name)));
    }
    builtin(&info.name, &info.options)
}

/// Numbered column names: `prefix1 … prefixN`.
pub(crate) fn numbered(prefix: &str, count: usize) -> Vec<String> {
    (1..=count).map(|index| format!("{prefix}{index}")).collect()
}
