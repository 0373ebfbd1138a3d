//! Training on the user's own (x, y) pairs through the real binary: the oscillator example of `data/`
//! end to end with its external simulator, Parquet shards (innfer's own and pyarrow's), resuming.

use std::path::{Path, PathBuf};

use predicates::prelude::PredicateBooleanExt;

mod common;
use common::innfer;
use innfer::io::dataset::DataFiles;

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn oscillator_simulator() -> String {
    format!("python3 {}", repository().join("data/oscillator.py").display())
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn csv_header(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap().lines().next().unwrap().to_string()
}

/// The README's example: train a cINN on data/oscillator.csv, sample with the run's column names,
/// evaluate against ABC through the external simulator.
#[test]
fn oscillator_example_end_to_end() {
    let folder = tempfile::tempdir().unwrap();
    let run = folder.path().join("run");
    let data = repository().join("data/oscillator.csv");
    innfer()
        .args(["train", "--data", data.to_str().unwrap(), "--x", "amplitude..frequency", "--y", "s1..s5"])
        .args(["--model", "cinn", "--steps", "2500", "--simulator", &oscillator_simulator(), "--out"])
        .arg(&run)
        .assert()
        .success();
    let manifest = json(&run.join("manifest.json"));
    assert_eq!(manifest["problem"]["x_names"], serde_json::json!(["amplitude", "damping", "frequency"]));
    let best = manifest["training"]["best_validation"]["step"].as_u64().expect("the kept model's step");
    assert!(best > 0 && best <= manifest["training"]["steps"].as_u64().unwrap());
    assert!(csv_header(&run.join("metrics.csv")).ends_with(",nll,val_loss"));

    let samples = folder.path().join("post.csv");
    innfer()
        .args(["sample", "--run", run.to_str().unwrap(), "--y", "1.2,-0.45,-0.6,0.81,-0.14", "--n", "500", "--resimulate", "--out"])
        .arg(&samples)
        .assert()
        .success()
        .stderr(predicates::str::contains(format!("the run's own command, which will run on this machine: {}", oscillator_simulator())));
    assert_eq!(csv_header(&samples), "obs,amplitude,damping,frequency,s1_hat,s2_hat,s3_hat,s4_hat,s5_hat");
    // The observation is that of frequency 0.8 Hz, which 1.7 Hz aliases: both modes are there
    // (measured: 42% of the samples below 1.25 Hz).
    let text = std::fs::read_to_string(&samples).unwrap();
    let frequencies: Vec<f64> = text.lines().skip(1).map(|line| line.split(',').nth(3).unwrap().parse().unwrap()).collect();
    let low = frequencies.iter().filter(|&&f| f < 1.25).count() as f64 / frequencies.len() as f64;
    assert!((0.25..0.75).contains(&low), "share of samples in the lower mode: {low}");
    innfer()
        .args(["sample", "--run", run.to_str().unwrap(), "--y", "1.2,-0.45,-0.6,0.81,-0.14", "--n", "5", "--resimulate", "--out"])
        .arg(folder.path().join("never.csv"))
        .args(["--simulator", "sleep 20", "--simulator-timeout", "500ms"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("batch 0 (rows 1–5)").and(predicates::str::contains("did not finish within 500ms")));

    // ABC through the simulator (prior: the data's x); 10^6 draws keep the test short.
    innfer().args(["eval", "--run", run.to_str().unwrap(), "--targets", "6", "--abc-draws", "1e6"]).assert().success();
    let report = json(&run.join("eval.json"));
    let mismatch = report["mean_mismatch"].as_f64().unwrap();
    let resim = report["mean_resim_model"].as_f64().unwrap();
    let errors: Vec<f64> =
        report["calibration"]["median_abs_error"].as_array().unwrap().iter().map(|value| value.as_f64().unwrap()).collect();
    // Measured (2500 steps, one thread): mismatch 0.033 against this reference, re-simulation 0.39
    // (ABC's own 0.35: the noise alone gives about 0.2), calibration errors ≤ 0.046.
    assert!(mismatch < 0.1, "mismatch {mismatch}");
    assert!(resim < 0.5, "re-simulation error {resim}");
    assert!(errors.iter().all(|&error| error < 0.1), "calibration {errors:?}");
}

/// Parquet shards in a folder (innfer's writer) and pyarrow-written shards train alike; a resumed
/// data run continues from its manifest.
#[test]
fn parquet_shards_train_and_resume() {
    let folder = tempfile::tempdir().unwrap();
    let shards = folder.path().join("shards");
    std::fs::create_dir(&shards).unwrap();
    for (index, seed) in ["1", "2"].iter().enumerate() {
        let out = shards.join(format!("part-{index}.parquet"));
        innfer().args(["--seed", seed, "generate", "--n", "3000", "--out"]).arg(&out).assert().success();
    }
    let run = folder.path().join("run");
    innfer()
        .args(["train", "--data", shards.to_str().unwrap(), "--x", "x1..x4", "--y", "y1,y2", "--model", "cinn"])
        .args(["--steps", "30", "--hidden", "16", "--out"])
        .arg(&run)
        .assert()
        .success();
    let manifest = json(&run.join("manifest.json"));
    assert_eq!(manifest["training"]["steps"], 30);
    // 6000 rows, 5% held out: 5700 rows in training.
    let samples = manifest["training"]["settings"]["samples"].as_i64().unwrap();
    assert!((samples - 5700).abs() <= 30, "{samples}");
    innfer().args(["train", "--resume", run.to_str().unwrap(), "--steps", "50"]).assert().success();
    assert_eq!(json(&run.join("manifest.json"))["training"]["steps"], 50);

    // Shards written by pyarrow (snappy, float64 and int64 columns, two row groups).
    let pyarrow = repository().join("tests/data/pyarrow-shards");
    let run = folder.path().join("pyarrow");
    innfer()
        .args(["train", "--data", &format!("{}/*.parquet", pyarrow.display()), "--x", "a,b", "--y", "y", "--model", "cinn"])
        .args(["--steps", "5", "--batch", "100", "--hidden", "8", "--out"])
        .arg(&run)
        .assert()
        .success();
}

/// Parquet written by pyarrow (float64 and int64 columns, snappy, two row groups per shard) reads as
/// the values pyarrow itself reads from it (`tests/data/pyarrow-shards-values.csv`, written by
/// `make_pyarrow_shards.py`), row by row and in shard order.
#[test]
fn pyarrow_shards_read_value_by_value() {
    let names = ["a", "b", "y"].map(String::from);
    let data = repository().join("tests/data");
    let shards = DataFiles::resolve(&format!("{}/pyarrow-shards/*.parquet", data.display())).unwrap().read(&names).unwrap();
    let values = DataFiles::resolve(data.join("pyarrow-shards-values.csv").to_str().unwrap()).unwrap().read(&names).unwrap();
    assert_eq!(shards.size(), [600, 3]);
    assert!(shards.equal(&values), "largest difference {}", (&shards - &values).abs().max().double_value(&[]));
}

/// The kinematics forward process as an external simulator agrees with the built-in one.
#[test]
fn built_in_simulator_speaks_the_protocol() {
    let output =
        innfer().args(["simulate", "--problem", "kinematics"]).write_stdin("x4,x3,x2,x1\n0,0,0,0.5\n0.1,0.2,0.3,0\n").output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).unwrap();
    let rows: Vec<Vec<f64>> = text.lines().skip(1).map(|line| line.split(',').map(|v| v.parse().unwrap()).collect()).collect();
    assert_eq!(text.lines().next(), Some("y1,y2"));
    // Straight arm at height 0.5: reach 2, height 0.5.
    assert!((rows[0][0] - 2.0).abs() < 1e-6 && (rows[0][1] - 0.5).abs() < 1e-6, "{rows:?}");
    let (a, b, c): (f64, f64, f64) = (0.3, 0.3 + 0.2, 0.3 + 0.2 + 0.1);
    let reach = 0.5 * a.cos() + 0.5 * b.cos() + c.cos();
    let height = 0.5 * a.sin() + 0.5 * b.sin() + c.sin();
    assert!((rows[1][0] - reach).abs() < 1e-5 && (rows[1][1] - height).abs() < 1e-5, "{rows:?}");
}
