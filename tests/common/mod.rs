//! Helpers shared by the integration tests.
#![allow(dead_code)]

use innfer::model::{Activation, BlockConfig, CouplingKind, MixingKind, Model, DEFAULT_BINS};
use tch::Tensor;

/// The innfer binary with the tests' thread count (`INNFER_TEST_THREADS`, default 1) and
/// `RUST_BACKTRACE=1`, so that a panic would show its stack trace, which the tests refuse.
pub fn innfer_binary() -> assert_cmd::Command {
    let mut command = assert_cmd::Command::cargo_bin("innfer").unwrap();
    command.env("RUST_BACKTRACE", "1").args(["--threads", &test_threads().to_string()]);
    command
}

/// [`innfer_binary`] on the CPU.
pub fn innfer() -> assert_cmd::Command {
    let mut command = innfer_binary();
    command.args(["--device", "cpu"]);
    command
}

/// Threads per test: `INNFER_TEST_THREADS`, default 1.
pub fn test_threads() -> i32 {
    std::env::var("INNFER_TEST_THREADS").ok().and_then(|t| t.parse().ok()).unwrap_or(1)
}

/// Few libtorch threads per test: CI has two cores and runs tests in parallel.
pub fn few_threads() {
    tch::set_num_threads(test_threads());
}

/// A block configuration small enough for tests.
pub fn small_block(coupling: CouplingKind) -> BlockConfig {
    BlockConfig {
        coupling,
        hidden: 16,
        layers: 2,
        activation: Activation::LeakyRelu,
        clamp: 2.0,
        bins: DEFAULT_BINS,
        mixing: MixingKind::Permute,
    }
}

/// Replaces every weight by Gaussian noise, so the network is far from the identity.
pub fn randomise(model: &Model, scale: f64) {
    // In the order of their names: the store's map iterates in a different order in every process,
    // which would give each run other weights from the same seed.
    let mut variables: Vec<(String, Tensor)> = model.vars.variables().into_iter().collect();
    variables.sort_by(|a, b| a.0.cmp(&b.0));
    tch::no_grad(|| {
        for (_, mut variable) in variables {
            let noise = Tensor::randn_like(&variable) * scale;
            variable.copy_(&noise);
        }
    });
}

/// Largest absolute entry of a tensor.
pub fn max_abs(tensor: &Tensor) -> f64 {
    tensor.abs().max().double_value(&[])
}

/// Serialises the tests of one binary that seed libtorch's global RNG and need its exact stream:
/// tests run in parallel threads, and any other test's draws would interleave with theirs.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Two sequential rounds on the oscillator example of `data/`: round 1 trains on its pairs, round 2
/// runs `simulator` (`DATA` stands for the data folder).
pub fn oscillator_rounds(simulator: &str, out: &std::path::Path, observation: &std::path::Path) -> std::process::Output {
    let repository = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    innfer()
        .arg("train")
        .arg("--data")
        .arg(repository.join("data/oscillator.csv"))
        .args(["--x", "amplitude..frequency", "--y", "s1..s5", "--model", "cinn", "--steps", "500", "--rounds", "2"])
        .args(["--simulator", &simulator.replace("DATA", &repository.join("data").to_string_lossy())])
        .arg("--observation")
        .arg(observation)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}
