//! Throughput benchmarks: training steps, posterior sampling, ABC draws, data generation.

use std::time::Instant;

use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use super::showcase::TARGETS;
use innfer::abc::{rejection_abc, Acceptance, DEFAULT_CHUNK};
use innfer::error::Result;
use innfer::eval::check::{check_model, CheckDraws, DEFAULT_PAIRS};
use innfer::io::table::TableWriter;
use innfer::model::{BlockConfig, Dims, Model, ModelKind, ModelSpec};
use innfer::problem::kinematics::Kinematics;
use innfer::problem::Problem;
use innfer::sample::{posterior, posterior_in_parts};
use innfer::train::adam::{AdamConfig, FlatAdam};
use innfer::train::bidirectional::Bidirectional;
use innfer::train::fit::{optimisation_step, Update};
use innfer::train::likelihood::MaximumLikelihood;
use innfer::train::objective::Objective;
use innfer::train::{objective_for, LossWeights, Preset, TrainConfig};

/// One measured quantity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// What was measured.
    pub name: String,
    /// Median over the repeats.
    pub median: f64,
    /// Unit of the value.
    pub unit: String,
    /// The configuration measured.
    pub config: String,
}

/// Benchmark results with the conditions they were measured under.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    /// Device, in words.
    pub device: String,
    /// libtorch CPU threads.
    pub threads: i32,
    /// libtorch version.
    pub libtorch: String,
    /// Repeats per measurement (the median is reported).
    pub repeats: usize,
    /// The measurements.
    pub measurements: Vec<Measurement>,
}

/// Waits for queued device work (CUDA runs asynchronously) by reading one value back.
fn sync(tensor: &Tensor) {
    let _ = tensor.sum(Kind::Float).double_value(&[]);
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Rate of `work` (which returns the units it did and a tensor to sync on), median over repeats.
fn rate(repeats: usize, mut work: impl FnMut() -> Result<(f64, Tensor)>) -> Result<f64> {
    let (_, warm) = work()?;
    sync(&warm);
    let mut rates = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let started = Instant::now();
        let (units, last) = work()?;
        sync(&last);
        rates.push(units / started.elapsed().as_secs_f64());
    }
    Ok(median(rates))
}

/// The paper's kinematics architecture: six GLOW blocks, subnets of two hidden layers of width 128.
fn kinematics_block() -> BlockConfig {
    BlockConfig::glow(128, 2)
}

/// Training steps per second of `objective` on `model` with batches of `batch` kinematics samples.
fn training_rate(model: &Model, objective: &dyn Objective, batch: i64, steps: usize, repeats: usize) -> Result<f64> {
    let device = model.device();
    // torch.optim.Adam's defaults, as the FrEIA reference (scripts/reference/freia_bench.py) uses.
    let adam = AdamConfig { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 };
    let mut optimiser = FlatAdam::new(&model.vars.trainable_variables(), adam)?;
    let (x, y) = Kinematics.sample_joint(batch * steps as i64, device)?;
    rate(repeats, || {
        let mut values = Tensor::zeros([1], (Kind::Float, device));
        for step in 0..steps as i64 {
            let (x, y) = (x.narrow(0, step * batch, batch), y.narrow(0, step * batch, batch));
            (values, _) = optimisation_step(&mut optimiser, model, objective, &x, &y, 0.5, Update { lr: 1e-4, clip: 10.0, clamp: None });
        }
        Ok((steps as f64, values))
    })
}

/// Samples and writing to CSV (streamed in parts) of 10^7 posterior samples of the quick preset's
/// kinematics cINN: samples/s of the whole, and the process's peak resident memory in MB afterwards.
fn samples_to_csv(device: Device) -> Result<(f64, f64)> {
    let quick = TrainConfig::preset("kinematics", ModelKind::Cinn, Preset::Quick);
    let model = Model::new(ModelSpec::cinn(4, 2, quick.blocks, quick.block, 1)?, device)?;
    let target = Tensor::from_slice(&TARGETS[4]).view([1, 2]).to_device(device);
    let folder = tempfile::tempdir().map_err(|source| innfer::Error::io(std::env::temp_dir(), source))?;
    let names: Vec<String> = ["obs", "x1", "x2", "x3", "x4"].map(String::from).to_vec();
    let samples = 10_000_000;
    let started = Instant::now();
    let mut table = TableWriter::create(&folder.path().join("samples.csv"), &names)?;
    posterior_in_parts(&model, &target, samples, &mut |x, obs| table.write(&[&obs, &x]))?;
    table.finish()?;
    let rate = samples as f64 / started.elapsed().as_secs_f64();
    Ok((rate, peak_resident_megabytes()))
}

/// Seconds of a calibration check of `model` on kinematics (1000 pairs × 1000 draws, 100 of them
/// simulated again) with its report and pictures, median over repeats.
fn check_seconds(model: &Model, repeats: usize) -> Result<f64> {
    let device = model.device();
    let folder = tempfile::tempdir().map_err(|source| innfer::Error::io(std::env::temp_dir(), source))?;
    let (truth, y) = Kinematics.sample_joint(DEFAULT_PAIRS, device)?;
    let names = Kinematics.info().x_names;
    let per_second = rate(repeats, || {
        let report = check_model(model, &names, &truth, &y, CheckDraws::default(), Some(&Kinematics))?;
        report.write_to(folder.path())?;
        Ok((1.0, Tensor::zeros([1], (Kind::Float, device))))
    })?;
    Ok(1.0 / per_second)
}

/// The process's peak resident set so far, in MB (0 where the system does not say).
fn peak_resident_megabytes() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: getrusage fills `usage` when it returns 0.
    match unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } {
        // SAFETY: initialised by the successful call; ru_maxrss is in kilobytes on Linux.
        0 => unsafe { usage.assume_init() }.ru_maxrss as f64 / 1024.0,
        _ => 0.0,
    }
}

/// Runs every benchmark on `device`; `on_progress` is told which one is running.
pub fn run(device: Device, repeats: usize, on_progress: &mut dyn FnMut(&str)) -> Result<BenchReport> {
    let repeats = repeats.max(1);
    let batch = 500;
    let mut measurements = Vec::new();
    let mut record = |name: &str, median: f64, unit: &str, config: &str| {
        measurements.push(Measurement { name: name.into(), median, unit: unit.into(), config: config.into() })
    };

    on_progress("posterior samples to CSV");
    let (written, peak) = samples_to_csv(device)?;
    record(
        "cINN samples to CSV",
        written,
        "samples/s",
        "the quick preset's kinematics cINN, 10^7 samples of one target sampled and written (in parts)",
    );
    record("peak memory after the CSV", peak, "MB", "resident set of the bench process so far (getrusage)");

    on_progress("INN training");
    let inn = Model::new(ModelSpec::inn(Dims::new(4, 2, 2, 6)?, 6, kinematics_block(), 1), device)?;
    let objective = Bidirectional {
        weights: LossWeights { y: 30.0, ..LossWeights::PAPER },
        y_noise: 0.01,
        pad_noise: 0.01,
        noise_anneal: 1.0,
        kernel_widths: innfer::loss::TRAINING_WIDTHS.to_vec(),
    };
    let steps = training_rate(&inn, &objective, batch, 20, repeats)?;
    let config = "kinematics, the paper's losses, 6 GLOW blocks, subnets 2×128, width 6, batch 500";
    record("INN training", steps, "steps/s", config);
    record("INN training", steps * batch as f64, "samples/s", config);
    let preset = TrainConfig::preset("kinematics", ModelKind::Inn, Preset::Quick);
    let inn = Model::new(ModelSpec::inn(Dims::new(4, 2, 2, 6)?, preset.blocks, preset.block, 1), device)?;
    let steps = training_rate(&inn, objective_for(&preset).as_ref(), preset.batch, 20, repeats)?;
    let config = format!(
        "the quick preset's kinematics INN (likelihood, {} GLOW blocks, subnets {}×{}, batch {})",
        preset.blocks, preset.block.layers, preset.block.hidden, preset.batch
    );
    record("INN training by likelihood", steps, "steps/s", &config);

    on_progress("cINN training");
    let cinn = Model::new(ModelSpec::cinn(4, 2, 6, kinematics_block(), 1)?, device)?;
    let steps = training_rate(&cinn, &MaximumLikelihood { y_noise: 0.01 }, batch, 50, repeats)?;
    let config = "kinematics, 6 GLOW blocks, subnets 2×128, width 4, batch 500";
    record("cINN training", steps, "steps/s", config);
    record("cINN training", steps * batch as f64, "samples/s", config);

    on_progress("posterior sampling");
    let targets = Tensor::from_slice(TARGETS.as_flattened()).view([9, 2]).to_device(device);
    let per_target = 1_000_000 / 9;
    let sampling_rate = |model: &Model| rate(repeats, || Ok(((per_target * 9) as f64, posterior(model, &targets, per_target)?.0)));
    record("cINN posterior sampling", sampling_rate(&cinn)?, "samples/s", "the cINN above, 10^6 samples for 9 targets");
    let quick = TrainConfig::preset("kinematics", ModelKind::Cinn, Preset::Quick);
    let quick_cinn = Model::new(ModelSpec::cinn(4, 2, quick.blocks, quick.block, 1)?, device)?;
    let config = format!(
        "the quick preset's kinematics cINN ({} GLOW blocks, subnets {}×{}), 10^6 samples for 9 targets",
        quick.blocks, quick.block.layers, quick.block.hidden
    );
    record("cINN posterior sampling", sampling_rate(&quick_cinn)?, "samples/s", &config);

    on_progress("calibration check");
    let config = "the quick preset's kinematics cINN: 1000 pairs × 1000 draws, 100 re-simulated, report and pictures";
    record("calibration check", check_seconds(&quick_cinn, repeats)?, "s", config);

    on_progress("rejection ABC");
    let draws = 10_000_000;
    let abc = rate(repeats, || {
        let kept = rejection_abc(&Kinematics, &targets, draws, Acceptance::Nearest(4000), DEFAULT_CHUNK, device, &mut |_| {})?;
        Ok((draws as f64, kept.distance))
    })?;
    record("ABC", abc, "draws/s", "kinematics, 9 targets, keep 4000 nearest, 10^7 draws");

    on_progress("data generation");
    let generated = rate(repeats, || Ok((1e6, Kinematics.sample_joint(1_000_000, device)?.1)))?;
    record("data generation", generated, "samples/s", "kinematics prior and forward process, 10^6 samples");

    Ok(BenchReport {
        device: innfer::device::describe(device),
        threads: tch::get_num_threads(),
        libtorch: innfer::LIBTORCH_VERSION.into(),
        repeats,
        measurements,
    })
}
