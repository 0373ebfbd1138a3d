//! The main job on a tiny budget: every promised file, pictures of the right size, `plot` redraws them.

use assert_cmd::Command;
use predicates::prelude::*;

const PICTURES: [(&str, u32, u32); 5] =
    [("gmm.png", 1400, 700), ("arms-inn.png", 1200, 1260), ("arms-cinn.png", 1200, 1260), ("arms-abc.png", 1200, 1260), ("losses.png", 1500, 450)];

#[test]
fn main_job_writes_everything_and_plot_redraws_it() {
    let folder = tempfile::tempdir().unwrap();
    let out = folder.path().join("demo");
    Command::cargo_bin("innfer")
        .unwrap()
        .args(["--threads", "1", "--device", "cpu", "--steps", "20", "--abc-draws", "2e5", "--out"])
        .arg(&out)
        .assert()
        .success()
        .stderr(predicate::str::contains("[6/6] pictures and report").and(predicate::str::contains("report.md")));

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
    for file in files {
        assert!(out.join(file).is_file(), "{file} is missing");
    }
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    for link in PICTURES.iter().map(|p| p.0).chain(["kinematics-abc.csv", "gmm-forward.csv"]) {
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
    Command::cargo_bin("innfer").unwrap().args(["plot", "--run"]).arg(&out).assert().success();
    for ((file, _, _), before) in PICTURES.iter().zip(drawn) {
        assert_eq!(std::fs::read(out.join(file)).unwrap(), before, "{file} differs when redrawn from the CSVs");
    }

    // The main job never overwrites a finished run.
    Command::cargo_bin("innfer")
        .unwrap()
        .args(["--device", "cpu", "--out"])
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("not empty"));
}
