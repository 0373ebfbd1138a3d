//! The main job on a tiny budget: every promised file, pictures of the right size, `plot` redraws them.

mod common;
use common::innfer;
use predicates::prelude::*;

const PICTURES: [(&str, u32, u32); 6] = [
    ("gmm.png", 1400, 700),
    ("arms-inn.png", 1200, 1260),
    ("arms-cinn.png", 1200, 1260),
    ("arms-abc.png", 1200, 1260),
    ("corner-cinn.png", 1120, 1160),
    ("losses.png", 1500, 420),
];

#[test]
fn main_job_writes_everything_and_plot_redraws_it() {
    let folder = tempfile::tempdir().unwrap();
    let out = folder.path().join("demo");
    innfer()
        .args(["--steps", "20", "--abc-draws", "2e5", "--check-pairs", "50", "--out"])
        .arg(&out)
        .assert()
        .success()
        .stderr(predicate::str::contains("[7/7] pictures and report").and(predicate::str::contains("report.md")));

    let files = [
        "report.md",
        "gmm-forward.csv",
        "gmm-inverse.csv",
        "kinematics-targets.csv",
        "kinematics-inn.csv",
        "kinematics-cinn.csv",
        "kinematics-abc.csv",
        "gmm-inn/manifest.json",
        "gmm-inn/metrics.csv",
        "kinematics-inn/manifest.json",
        "kinematics-cinn/manifest.json",
    ];
    let checks =
        ["kinematics-inn", "kinematics-cinn"].map(|run| innfer::eval::check::CHECK_FILES.map(|file| format!("{run}/check/{file}")));
    for file in files.iter().copied().chain(checks.iter().flatten().map(String::as_str)) {
        assert!(out.join(file).is_file(), "{file} is missing");
    }
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    let links = ["kinematics-abc.csv", "gmm-forward.csv", "kinematics-inn/check/sbc.png", "kinematics-cinn/check/coverage.png"];
    for link in PICTURES.iter().map(|p| p.0).chain(links) {
        assert!(report.contains(link), "report.md does not link {link}");
    }
    let posterior = std::fs::read_to_string(out.join("kinematics-cinn.csv")).unwrap();
    assert_eq!(posterior.lines().count(), 1 + 9 * 4000);

    let mut drawn = Vec::new();
    for (file, width, height) in PICTURES {
        let picture = image::open(out.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!((picture.width(), picture.height()), (width, height), "{file}");
        drawn.push(std::fs::read(out.join(file)).unwrap());
        std::fs::remove_file(out.join(file)).unwrap();
    }
    innfer().args(["plot", "--run"]).arg(&out).assert().success();
    for ((file, _, _), before) in PICTURES.iter().zip(drawn) {
        assert_eq!(std::fs::read(out.join(file)).unwrap(), before, "{file} differs when redrawn from the CSVs");
    }

    // The main job never overwrites a finished run.
    innfer().args(["--out"]).arg(&out).assert().code(1).stderr(predicate::str::contains("not empty"));
}

/// Ctrl-C during the first training ends the main job: no later stage runs on an untrained model,
/// the report says it was interrupted, the exit status is the shell's 130, and the stopped training
/// is saved, marked as interrupted, so that it can be resumed.
#[test]
fn ctrl_c_stops_the_main_job_after_saving_the_current_training() {
    let folder = tempfile::tempdir().unwrap();
    let out = folder.path().join("demo");
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("innfer"))
        .args(["--threads", "1", "--device", "cpu", "--steps", "100000000", "--abc-draws", "2e5", "--out"])
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let metrics = out.join("gmm-inn/metrics.csv");
    let started = std::time::Instant::now();
    while std::fs::read_to_string(&metrics).map_or(0, |text| text.lines().count()) < 2 {
        assert!(started.elapsed().as_secs() < 120, "the first training logged nothing");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // SAFETY: sends a signal to the child this test started.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) }, 0);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("error: interrupted: the main job, during training gmm INN"), "{stderr}");
    assert!(!stderr.contains("[2/7]"), "a later stage ran: {stderr}");
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("Interrupted during stage: training gmm INN"), "{report}");
    assert!(!out.join("kinematics-inn").exists() && !out.join("gmm-forward.csv").exists());
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("gmm-inn/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["training"]["interrupted"], true);
    assert!(manifest["training"]["steps"].as_u64().unwrap() >= 50);
}
