//! No lost work and repeatable runs: SIGKILL never leaves an unreadable checkpoint; the same seed
//! gives the same model and samples.

use std::process::Stdio;
use std::time::Duration;

use predicates::prelude::PredicateBooleanExt;

mod common;
use common::innfer;

const TINY: [&str; 10] = ["--samples", "2000", "--batch", "100", "--hidden", "16", "--blocks", "2", "--layers", "1"];

/// Starts a tiny cINN training into `run` that would run for ever, in the background.
fn endless_training(run: &std::path::Path, extra: &[&str], stderr: Stdio) -> std::process::Child {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("innfer"))
        .args(["--threads", "1", "--device", "cpu", "train", "--model", "cinn", "--steps", "100000000", "--out"])
        .arg(run)
        .args(TINY)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap()
}

#[test]
fn sigkill_never_leaves_an_unreadable_checkpoint() {
    let mut checked = 0;
    for (round, wait_ms) in [700u64, 1100, 1500, 1900, 2300].into_iter().enumerate() {
        let folder = tempfile::tempdir().unwrap();
        let run = folder.path().join("run");
        let mut child = endless_training(&run, &["--checkpoint-every", "10ms"], Stdio::null());
        std::thread::sleep(Duration::from_millis(wait_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        if !run.join("manifest.json").exists() {
            continue; // killed before the first checkpoint: nothing claims to be a run
        }
        let out = folder.path().join("post.csv");
        let output = innfer().args(["sample", "--run"]).arg(&run).args(["--y", "1.5,0", "--n", "5", "--out"]).arg(&out).output().unwrap();
        assert!(output.status.success(), "round {round}: {}", String::from_utf8_lossy(&output.stderr));
        let leftovers: Vec<_> = std::fs::read_dir(&run)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".safetensors") && !name.starts_with('.'))
            .collect();
        for kind in ["weights-", "optimiser-"] {
            let count = leftovers.iter().filter(|name| name.starts_with(kind)).count();
            assert!((1..=2).contains(&count), "round {round}: {count} {kind} files: {leftovers:?}");
        }
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} of 5 rounds were killed after a checkpoint: the test checked too little");
}

#[test]
fn the_same_seed_gives_the_same_model_and_samples() {
    let folder = tempfile::tempdir().unwrap();
    let mut outputs = Vec::new();
    for (index, seed) in ["7", "7", "8"].into_iter().enumerate() {
        let run = folder.path().join(format!("run{index}"));
        innfer().args(["--seed", seed, "train", "--model", "inn", "--steps", "15", "--out"]).arg(&run).args(TINY).assert().success();
        let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
        let out = folder.path().join(format!("post{index}.csv"));
        innfer()
            .args(["--seed", seed, "sample", "--run"])
            .arg(&run)
            .args(["--y", "1.5,0", "--n", "20", "--out"])
            .arg(&out)
            .assert()
            .success();
        outputs.push((manifest["weights"]["crc32"].clone(), std::fs::read_to_string(&out).unwrap()));
    }
    assert_eq!(outputs[0], outputs[1], "same seed, same device and threads: identical weights and samples");
    assert_ne!(outputs[0].0, outputs[2].0, "another seed gives another model");
}

#[test]
fn the_weight_average_is_what_is_saved() {
    let folder = tempfile::tempdir().unwrap();
    let crc = |average: Option<&str>| {
        let run = folder.path().join(format!("run-{}", average.unwrap_or("none")));
        let mut command = innfer();
        command.args(["--seed", "3", "train", "--model", "cinn", "--steps", "15", "--out"]).arg(&run).args(TINY);
        if let Some(decay) = average {
            command.args(["--average", decay]);
        }
        command.assert().success();
        let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
        manifest["weights"]["crc32"].clone()
    };
    let last = crc(None);
    assert_eq!(crc(Some("0")), last, "an average with decay 0 is the last weights");
    assert_ne!(crc(Some("0.9")), last, "an average over steps is not the last weights");
}

#[test]
fn resume_continues_a_run() {
    let folder = tempfile::tempdir().unwrap();
    let run = folder.path().join("run");
    innfer().args(["train", "--model", "cinn", "--steps", "12", "--out"]).arg(&run).args(TINY).assert().success();
    let steps = |run: &std::path::Path| {
        let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
        manifest["training"]["steps"].as_u64().unwrap()
    };
    assert_eq!(steps(&run), 12);
    innfer()
        .args(["train", "--resume"])
        .arg(&run)
        .args(["--steps", "20"])
        .assert()
        .success()
        .stderr(predicates::str::contains("trained for 20 steps"));
    assert_eq!(steps(&run), 20);
    let metrics = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let last_step: u64 = metrics.lines().last().unwrap().split(',').next().unwrap().parse().unwrap();
    assert_eq!(last_step, 20, "the log goes on where it stopped");
    assert_eq!(metrics.lines().filter(|line| line.starts_with("step,")).count(), 1, "one header");

    innfer()
        .args(["train", "--resume"])
        .arg(folder.path())
        .args(["--steps", "1"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("not a run folder"));
    innfer()
        .args(["train", "--resume"])
        .arg(&run)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("already reached its limits (20 steps").and(predicates::str::contains("give a larger --steps")));
    for setting in [["--lr", "0.1"], ["--batch", "7"], ["--model", "inn"], ["--problem", "gmm"]] {
        innfer()
            .args(["train", "--resume"])
            .arg(&run)
            .args(setting)
            .args(["--steps", "30"])
            .assert()
            .code(2)
            .stderr(predicates::str::contains("cannot be used with").and(predicates::str::contains(setting[0])));
    }
    assert_eq!(steps(&run), 20, "a refused resume leaves the run as it was");
}

#[test]
fn a_model_that_never_trained_is_refused_unless_allowed() {
    let folder = tempfile::tempdir().unwrap();
    let run = folder.path().join("run");
    std::fs::create_dir(&run).unwrap();
    let mut config = innfer::train::TrainConfig::preset("kinematics", innfer::model::ModelKind::Cinn, innfer::train::Preset::Quick);
    config.samples = 1000;
    let stop = std::sync::atomic::AtomicBool::new(true); // stopped before the first step
    let output = innfer::train::RunOutput { dir: &run, stop: &stop, on_log: &mut |_| {} };
    let (_, summary) = innfer::train::train_problem(&innfer::problem::kinematics::Kinematics, &config, tch::Device::Cpu, output).unwrap();
    assert_eq!((summary.steps, summary.interrupted), (0, true));
    let out = folder.path().join("post.csv");
    let sample = |extra: &[&str]| {
        let mut command = innfer();
        command.args(["sample", "--run"]).arg(&run).args(["--y", "1.5,0", "--n", "5", "--out"]).arg(&out).args(extra);
        command.assert()
    };
    sample(&[])
        .code(1)
        .stderr(predicates::str::contains("before its first training step").and(predicates::str::contains("--allow-untrained")));
    assert!(!out.exists());
    sample(&["--allow-untrained"]).success();
    innfer()
        .args(["eval", "--run"])
        .arg(&run)
        .args(["--targets", "2"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("--allow-untrained"));
}

#[test]
fn divergence_stops_training_with_advice() {
    let folder = tempfile::tempdir().unwrap();
    innfer()
        .args(["train", "--model", "inn", "--lr", "1e4", "--steps", "1000", "--out"])
        .arg(folder.path().join("run"))
        .args(TINY)
        .assert()
        .code(1)
        .stderr(predicates::str::is_match("training diverged at step [0-9]+: loss l_[a-z]+ is not finite").unwrap())
        .stderr(predicates::str::contains("lower --lr"));
}

#[test]
fn sigterm_stops_training_cleanly_with_a_checkpoint() {
    let folder = tempfile::tempdir().unwrap();
    let run = folder.path().join("run");
    let child = endless_training(&run, &[], Stdio::piped());
    std::thread::sleep(Duration::from_millis(2500));
    // SAFETY: sends a signal to the child this test started.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) }, 0);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("run saved in"), "{stderr}");
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
    assert!(manifest["training"]["steps"].as_u64().unwrap() > 0);
    assert_eq!(manifest["training"]["interrupted"], true, "the manifest says the run was stopped");
    assert!(stderr.contains("continue it with: innfer train --resume"), "{stderr}");
}
