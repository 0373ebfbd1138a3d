//! The command-line workflow on tiny settings: train, sample, abc, eval, and their file formats.

use std::path::Path;

use predicates::prelude::*;

mod common;
use common::innfer;

const TINY: [&str; 12] = ["--steps", "30", "--samples", "2000", "--batch", "100", "--hidden", "16", "--blocks", "2", "--layers", "1"];

fn train(dir: &Path, problem: &str, model: &str) {
    innfer()
        .args(["train", "--problem", problem, "--model", model, "--out"])
        .arg(dir)
        .args(TINY)
        .assert()
        .success()
        .stderr(predicate::str::contains("run saved in"));
    assert!(dir.join("manifest.json").is_file());
    let metrics = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    assert!(metrics.starts_with("step,elapsed_s,epoch,lr,samples_per_s,"), "{metrics}");
    assert!(metrics.lines().count() >= 2);
}

fn csv_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap().lines().map(str::to_owned).collect()
}

#[test]
fn train_then_sample_kinematics() {
    let folder = tempfile::tempdir().unwrap();
    let run = folder.path().join("run");
    train(&run, "kinematics", "cinn");

    let out = folder.path().join("post.csv");
    innfer()
        .args(["sample", "--run"])
        .arg(&run)
        .args(["--y", "1.5,0.0", "--y", "1.0,-0.5", "--n", "50", "--out"])
        .arg(&out)
        .assert()
        .success();
    let lines = csv_lines(&out);
    assert_eq!(lines[0], "obs,x1,x2,x3,x4");
    assert_eq!(lines.len(), 101);
    assert!(lines[1].starts_with("0,") && lines[100].starts_with("1,"));

    let observations = folder.path().join("obs.csv");
    std::fs::write(&observations, "y2,y1\n0.0,1.5\n0.5,1.9\n-0.5,1.0\n").unwrap();
    innfer()
        .args(["sample", "--run"])
        .arg(&run)
        .arg("--observations")
        .arg(&observations)
        .args(["--n", "10", "--resimulate", "--out"])
        .arg(&out)
        .assert()
        .success();
    let lines = csv_lines(&out);
    assert_eq!(lines[0], "obs,x1,x2,x3,x4,y1_hat,y2_hat");
    assert_eq!(lines.len(), 31);
    assert!(lines[30].starts_with("2,"));

    // A run is never overwritten.
    innfer()
        .args(["train", "--problem", "kinematics", "--out"])
        .arg(&run)
        .args(TINY)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("already holds a run"));
}

#[test]
fn gmm_takes_labels_as_observations() {
    let folder = tempfile::tempdir().unwrap();
    let run = folder.path().join("run");
    train(&run, "gmm", "inn");
    let observations = folder.path().join("labels.csv");
    std::fs::write(&observations, "label\n0\n3\n").unwrap();
    let out = folder.path().join("post.csv");
    innfer()
        .args(["sample", "--run"])
        .arg(&run)
        .arg("--observations")
        .arg(&observations)
        .args(["--n", "5", "--out"])
        .arg(&out)
        .assert()
        .success();
    let lines = csv_lines(&out);
    assert_eq!(lines[0], "obs,x1,x2");
    assert_eq!(lines.len(), 11);

    std::fs::write(&observations, "label\n0\n8\n").unwrap();
    innfer()
        .args(["sample", "--run"])
        .arg(&run)
        .arg("--observations")
        .arg(&observations)
        .args(["--out"])
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("row 3: label 8 is not an integer in 0..7"));
}

#[test]
fn abc_writes_the_sample_format_with_distances() {
    let folder = tempfile::tempdir().unwrap();
    let out = folder.path().join("abc.csv");
    innfer()
        .args([
            "abc",
            "--problem",
            "kinematics",
            "--y",
            "1.5,0.0",
            "--y",
            "1.0,0.5",
            "--keep",
            "100",
            "--draws",
            "2e5",
            "--chunk",
            "50000",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success();
    let lines = csv_lines(&out);
    assert_eq!(lines[0], "obs,x1,x2,x3,x4,distance");
    assert_eq!(lines.len(), 201);
    let distances: Vec<f64> = lines[1..].iter().map(|l| l.rsplit(',').next().unwrap().parse().unwrap()).collect();
    assert!(distances.iter().all(|&d| (0.0..0.5).contains(&d)), "the 100 nearest of 2e5 draws lie close");

    innfer()
        .args(["abc", "--problem", "kinematics", "--y", "1.5,0.0", "--eps", "0.02", "--draws", "1e5", "--out"])
        .arg(&out)
        .assert()
        .success();
    let lines = csv_lines(&out);
    assert!(lines.len() > 2);
    assert!(lines[1..].iter().all(|l| l.rsplit(',').next().unwrap().parse::<f64>().unwrap() <= 0.02));
}

#[test]
fn eval_writes_its_reports() {
    let folder = tempfile::tempdir().unwrap();
    let run = folder.path().join("run");
    train(&run, "kinematics", "cinn");
    innfer()
        .args(["eval", "--run"])
        .arg(&run)
        .args(["--targets", "2", "--abc-draws", "2e5"])
        .assert()
        .success()
        .stdout(predicate::str::contains("| cinn |").and(predicate::str::contains("ABC reference")));
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("eval.json")).unwrap()).unwrap();
    assert_eq!(report["targets"].as_array().unwrap().len(), 2);
    // The means are those of the targets, and a model trained for 30 steps is measurably further from
    // ABC's reference than a second ABC draw is (the floor), on every target.
    let targets = report["targets"].as_array().unwrap();
    let mean = |key: &str| targets.iter().map(|target| target[key].as_f64().unwrap()).sum::<f64>() / targets.len() as f64;
    for key in ["mismatch", "floor", "resim_model", "resim_abc"] {
        let reported = report[format!("mean_{key}")].as_f64().unwrap();
        assert!((reported - mean(key)).abs() <= 1e-9 * reported.abs().max(1.0), "mean_{key} {reported} vs {}", mean(key));
    }
    for target in targets {
        let (mismatch, floor) = (target["mismatch"].as_f64().unwrap(), target["floor"].as_f64().unwrap());
        assert!(floor >= 0.0 && mismatch > 2.0 * floor, "mismatch {mismatch} vs floor {floor}");
    }
    assert!(run.join("eval.md").is_file());
}

/// `eval`'s default targets are the y of `innfer generate` with the same seed, whatever the shape of
/// the model (building one draws its initial weights from the same generator).
#[test]
fn eval_draws_the_same_targets_for_every_model() {
    let folder = tempfile::tempdir().unwrap();
    let pairs = folder.path().join("pairs.csv");
    innfer().args(["generate", "--n", "3", "--out"]).arg(&pairs).assert().success();
    let expected: Vec<Vec<f64>> =
        csv_lines(&pairs)[1..].iter().map(|line| line.split(',').skip(4).map(|value| value.parse().unwrap()).collect()).collect();
    for model in ["inn", "cinn"] {
        let run = folder.path().join(model);
        train(&run, "kinematics", model);
        innfer().args(["eval", "--run"]).arg(&run).args(["--targets", "3", "--abc-draws", "1e4"]).assert().success();
        let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("eval.json")).unwrap()).unwrap();
        let targets: Vec<Vec<f64>> = report["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|target| target["y"].as_array().unwrap().iter().map(|value| value.as_f64().unwrap()).collect())
            .collect();
        assert_eq!(targets.len(), 3);
        for (target, pair) in targets.iter().zip(&expected) {
            assert!(target.iter().zip(pair).all(|(a, b)| (a - b).abs() < 1e-6), "{model}: target {target:?}, generated {pair:?}");
        }
    }
}

#[test]
fn paper_preset_trains() {
    let folder = tempfile::tempdir().unwrap();
    let run = folder.path().join("run");
    innfer()
        .args(["train", "--problem", "kinematics", "--model", "inn", "--preset", "paper", "--steps", "2", "--samples", "1000", "--out"])
        .arg(&run)
        .assert()
        .success();
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["model"]["network"]["block"]["hidden"], 256);
    assert_eq!(manifest["model"]["network"]["permutations"].as_array().unwrap().len(), 8);
}

#[test]
fn bench_reports_every_measurement_as_json() {
    let output = innfer().args(["bench", "--repeats", "1", "--json"]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["libtorch"], "2.11.0");
    let names: Vec<&str> = report["measurements"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    for expected in ["INN training", "cINN training", "cINN posterior sampling", "ABC", "data generation"] {
        assert!(names.contains(&expected), "{expected} missing from {names:?}");
    }
    assert!(report["measurements"].as_array().unwrap().iter().all(|m| m["median"].as_f64().unwrap() > 0.0));
}
