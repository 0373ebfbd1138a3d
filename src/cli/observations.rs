//! Observations from the command line: `--y` values or an `--observations` CSV file.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use innfer::io::observations::{parse_observation, read_observations_noting_ignored};
pub use innfer::io::parse_count;
use tch::{Device, Tensor};

/// Where the observations y* come from.
#[derive(Debug, Args)]
pub struct ObservationArgs {
    /// One observation as comma-separated values, e.g. --y 1.5,0.0 (repeat for several).
    #[arg(long = "y", value_name = "VALUES", allow_hyphen_values = true)]
    pub y: Vec<String>,

    /// CSV of observations: a header naming the y columns (or a `label` column for gmm), one row each.
    #[arg(long, value_name = "OBS.csv", conflicts_with = "y")]
    pub observations: Option<PathBuf>,
}

impl ObservationArgs {
    /// Whether any observation was given.
    pub fn given(&self) -> bool {
        !self.y.is_empty() || self.observations.is_some()
    }

    /// The observations as rows [m, names.len()] on `device`; `names` are the y columns. Columns of
    /// the file that are not read are named on stderr.
    pub fn read(&self, names: &[String], device: Device) -> Result<Tensor> {
        let rows = match &self.observations {
            Some(path) => {
                let (rows, ignored) = read_observations_noting_ignored(path, names)?;
                if !ignored.is_empty() {
                    eprintln!("{}: ignoring column(s) {} (the observations are {})", path.display(), ignored.join(", "), names.join(", "));
                }
                rows
            }
            None => {
                let rows = self.y.iter().map(|text| parse_observation(text, names)).collect::<innfer::Result<Vec<_>>>()?;
                Tensor::cat(&rows, 0)
            }
        };
        Ok(rows.to_device(device))
    }
}
