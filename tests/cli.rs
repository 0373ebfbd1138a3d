//! The binary's global behaviour: version, device selection, errors without panics.

use predicates::prelude::*;

mod common;
use common::innfer_binary;

#[test]
fn version_names_libtorch_and_cuda() {
    innfer_binary()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"^innfer \d+\.\d+\.\d+ \(libtorch 2\.11\.0, .*CUDA.*\)\n$").unwrap());
}

#[test]
fn cuda_without_a_gpu_exits_2_with_one_line() {
    if tch::Cuda::device_count() > 0 {
        return; // Only meaningful where libtorch sees no GPU (CI).
    }
    let output = innfer_binary().args(["--device", "cuda"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: ") && stderr.contains("CUDA"), "{stderr}");
    assert!(!stderr.contains("panicked") && !String::from_utf8_lossy(&output.stdout).contains("panicked"));
    assert!(!stderr.contains("internal failure"), "{stderr}");
}

#[test]
fn unknown_device_is_a_usage_error() {
    innfer_binary()
        .args(["--device", "gpu"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid device 'gpu'").and(predicate::str::contains("panicked").not()));
}

#[test]
fn train_help_gives_the_spline_interval_the_model_uses() {
    let bound = innfer::model::spline::SPLINE_BOUND;
    innfer_binary().args(["train", "--help"]).assert().success().stdout(predicate::str::contains(format!("on [-{bound}, {bound}]")));
}

#[test]
fn help_explains_the_global_options() {
    innfer_binary()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("--device").and(predicate::str::contains("--seed")).and(predicate::str::contains("--threads")));
}
