//! A problem given by data: simulated (x, y) pairs from CSV or Parquet. The prior is the empirical
//! distribution of x in the data; the forward process, when there is one, an external simulator.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use tch::{Device, Kind, Tensor};

use super::simulator::{ExternalSimulator, DEFAULT_SIMULATOR_BATCH, DEFAULT_SIMULATOR_TIMEOUT};
use super::{default_inn_widths, Problem};
use crate::error::{Error, Result};
use crate::io::columns::select_columns;
use crate::io::dataset::DataFiles;
use crate::io::stream::held_out_files;
use crate::model::checkpoint::ProblemInfo;

/// The name data problems go by in checkpoints.
pub const DATA_PROBLEM: &str = "data";

/// Where a data problem's pairs are and how they are used.
#[derive(Debug, Clone, PartialEq)]
pub struct DataSpec {
    /// The data set: a file, a folder of shards or a glob pattern (absolute, so that runs can find it).
    pub data: String,
    /// The x columns.
    pub x_names: Vec<String>,
    /// The y columns.
    pub y_names: Vec<String>,
    /// Share of rows held out for validation.
    pub validation: f64,
    /// The external simulator's command, if any.
    pub simulator: Option<String>,
    /// Longest time one batch of the simulator may take (not stored in runs).
    pub simulator_timeout: Duration,
    /// Train on the data streamed through a shuffle buffer of this many rows, instead of reading it
    /// all into memory.
    pub buffer_rows: Option<i64>,
}

impl DataSpec {
    /// A spec from the command line: `x` and `y` are column selections (`a,b`, `theta1..theta5`).
    pub fn new(data: &str, x: &str, y: &str, validation: f64, simulator: Option<String>) -> Result<DataSpec> {
        if !(0.0..1.0).contains(&validation) {
            return Err(Error::invalid(format!("--val must be at least 0 and below 1, not {validation}")));
        }
        let header = DataFiles::resolve(data)?.header()?;
        let x_names = select_columns(x, &header, "--x")?;
        let y_names = select_columns(y, &header, "--y")?;
        if let Some(both) = x_names.iter().find(|name| y_names.contains(name)) {
            return Err(Error::invalid(format!("column '{both}' is selected by both --x and --y")));
        }
        Ok(DataSpec {
            data: absolute(data)?,
            x_names,
            y_names,
            validation,
            simulator,
            simulator_timeout: DEFAULT_SIMULATOR_TIMEOUT,
            buffer_rows: None,
        })
    }

    /// The spec stored in a checkpoint's problem description.
    pub fn from_info(info: &ProblemInfo) -> Result<DataSpec> {
        let data = info.options.get("data").cloned().ok_or_else(|| Error::invalid("the run does not name its data"))?;
        let validation = match info.options.get("validation") {
            Some(text) => text.parse().map_err(|_| Error::invalid(format!("the run's validation share '{text}' is not a number")))?,
            None => 0.0,
        };
        let simulator = info.options.get("simulator").cloned();
        let buffer_rows = match info.options.get("buffer_rows") {
            Some(text) => Some(text.parse().map_err(|_| Error::invalid(format!("the run's buffer size '{text}' is not a number")))?),
            None => None,
        };
        let (x_names, y_names) = (info.x_names.clone(), info.y_names.clone());
        Ok(DataSpec { data, x_names, y_names, validation, simulator, simulator_timeout: DEFAULT_SIMULATOR_TIMEOUT, buffer_rows })
    }

    /// The problem description stored in checkpoints.
    pub fn info(&self) -> ProblemInfo {
        let mut options =
            BTreeMap::from([("data".to_string(), self.data.clone()), ("validation".to_string(), self.validation.to_string())]);
        if let Some(command) = &self.simulator {
            options.insert("simulator".into(), command.clone());
        }
        if let Some(rows) = self.buffer_rows {
            options.insert("buffer_rows".into(), rows.to_string());
        }
        ProblemInfo { name: DATA_PROBLEM.into(), options, x_names: self.x_names.clone(), y_names: self.y_names.clone() }
    }

    /// Reads the pairs: (x, y), float32 on the CPU.
    pub fn read(&self) -> Result<(Tensor, Tensor)> {
        Ok(self.split(DataFiles::resolve(&self.data)?.read(&self.names())?))
    }

    /// The first `most` pairs (x, y) that a run trained with `seed` held out to validate, float32 on
    /// the CPU; none when it held none out. In memory those are the rows [`held_out`] picks; streamed,
    /// the files it held out whole.
    pub fn held_out_pairs(&self, seed: u64, most: i64) -> Result<(Tensor, Tensor)> {
        let files = DataFiles::resolve(&self.data)?;
        let held = match self.buffer_rows {
            Some(_) => held_out_files(&files, self.validation, seed)?.0.read_first(&self.names(), most.max(0) as usize)?,
            None => {
                let all = files.read(&self.names())?;
                let rows = split_rows(&all, &held_out(all.size()[0], self.validation)).1;
                rows.narrow(0, 0, rows.size()[0].min(most))
            }
        };
        Ok(self.split(held))
    }

    /// The x columns, then the y columns.
    fn names(&self) -> Vec<String> {
        self.x_names.iter().chain(&self.y_names).cloned().collect()
    }

    /// Rows of [x | y] as (x, y).
    fn split(&self, rows: Tensor) -> (Tensor, Tensor) {
        let dx = self.x_names.len() as i64;
        (rows.narrow(1, 0, dx), rows.narrow(1, dx, self.y_names.len() as i64))
    }
}

/// `spec` made absolute against the current folder.
fn absolute(spec: &str) -> Result<String> {
    let path = Path::new(spec);
    if path.is_absolute() {
        return Ok(spec.to_string());
    }
    let here = std::env::current_dir().map_err(|source| Error::io(".", source))?;
    Ok(here.join(path).to_string_lossy().into_owned())
}

/// Which of `rows` rows are held out: a fixed, evenly spread share `fraction` of them (row i is held
/// out when the fractional part of i·φ is below `fraction`), so every split of the same data agrees.
pub fn held_out(rows: i64, fraction: f64) -> Tensor {
    let index = Tensor::arange(rows, (Kind::Int64, Device::Cpu));
    // Knuth's multiplicative hash: i·⌊2^32/φ⌋ mod 2^32, uniform over [0, 2^32) along the rows.
    let hashed = (index * 2_654_435_769i64).remainder(1i64 << 32);
    hashed.lt((fraction * 4_294_967_296.0) as i64)
}

/// Splits rows into (training, held-out) by [`held_out`].
pub fn split_rows(tensor: &Tensor, mask: &Tensor) -> (Tensor, Tensor) {
    let keep = mask.logical_not().nonzero().view([-1]);
    let out = mask.nonzero().view([-1]);
    (tensor.index_select(0, &keep), tensor.index_select(0, &out))
}

/// A problem given by data.
pub struct DataProblem {
    spec: DataSpec,
    /// The x rows of the data: the empirical prior (behind a lock: tensors are not `Sync`).
    prior: Mutex<Tensor>,
    simulator: Option<ExternalSimulator>,
}

impl DataProblem {
    /// The problem with prior rows `x` (on the device to sample on).
    pub fn new(spec: DataSpec, x: Tensor) -> DataProblem {
        let simulator = spec.simulator.as_ref().map(|command| ExternalSimulator {
            command: command.clone(),
            x_names: spec.x_names.clone(),
            y_names: spec.y_names.clone(),
            batch: DEFAULT_SIMULATOR_BATCH,
            timeout: spec.simulator_timeout,
        });
        DataProblem { spec, prior: Mutex::new(x), simulator }
    }

    /// The problem of a run, reading its data again; `simulator` replaces the stored command, which
    /// may run for at most `timeout` a batch.
    pub fn of_run(info: &ProblemInfo, simulator: Option<String>, timeout: Duration, device: Device) -> Result<DataProblem> {
        let mut spec = DataSpec::from_info(info)?;
        if simulator.is_some() {
            spec.simulator = simulator;
        }
        spec.simulator_timeout = timeout;
        // The prior is the data itself, so it must still be where the run was trained on it.
        let (x, _) = spec.read().map_err(|error| {
            Error::invalid(format!("the run's data cannot be read ({error}); it was trained on '{}': put it back there", spec.data))
        })?;
        Ok(DataProblem::new(spec, x.to_device(device)))
    }
}

impl Problem for DataProblem {
    fn info(&self) -> ProblemInfo {
        self.spec.info()
    }

    /// Rows of the data drawn with replacement.
    fn sample_prior(&self, n: i64, device: Device) -> Tensor {
        let prior = self.prior.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let index = Tensor::randint(prior.size()[0], [n], (Kind::Int64, prior.device()));
        prior.index_select(0, &index).to_device(device)
    }

    fn simulate(&self, x: &Tensor) -> Result<Tensor> {
        match &self.simulator {
            Some(simulator) => simulator.simulate(x),
            None => Err(Error::invalid(
                "this problem comes from data and has no forward process: give one with --simulator 'COMMAND' \
                 (it reads x rows as CSV on stdin and writes y rows as CSV on stdout)",
            )),
        }
    }

    fn inn_widths(&self) -> (i64, i64) {
        default_inn_widths(self.dim_x(), self.dim_y())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_out_rows_are_the_asked_share_spread_evenly() {
        let mask = held_out(100_000, 0.05);
        let share = mask.to_kind(Kind::Double).mean(Kind::Double).double_value(&[]);
        assert!((share - 0.05).abs() < 0.001, "{share}");
        // Every tenth of the rows holds about a tenth of the held-out rows.
        let per_tenth = Vec::<f64>::try_from(mask.view([10, -1]).to_kind(Kind::Double).sum_dim_intlist(1, false, Kind::Double)).unwrap();
        assert!(per_tenth.iter().all(|&count| (count - 500.0).abs() < 20.0), "{per_tenth:?}");
        assert!(held_out(1000, 0.0).sum(Kind::Int64).int64_value(&[]) == 0);
        let (kept, out) = split_rows(&Tensor::arange(1000, (Kind::Float, Device::Cpu)), &held_out(1000, 0.2));
        assert_eq!(kept.size()[0] + out.size()[0], 1000);
        assert!((out.size()[0] - 200).abs() <= 5);
    }
}
