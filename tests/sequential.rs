//! Sequential rounds (truncated sequential NPE) with known answers: sbibm's gaussian_linear is
//! conjugate, θ | y ~ N(y/2, 0.05·I), so both the posterior of the observation and the share of prior
//! draws inside its highest-density region of mass 1 − ε are known.

mod common;

use std::sync::atomic::AtomicBool;

use innfer::error::{Error, Result};
use innfer::model::checkpoint::{self, ProblemInfo};
use innfer::model::ModelKind;
use innfer::problem::sbibm::Task;
use innfer::problem::Problem;
use innfer::sample::posterior;
use innfer::train::sequential::{train_sequential, Sequential, DEFAULT_EPSILON, SIMULATIONS_FILE};
use innfer::train::{Preset, RunOutput, Stop, TrainConfig};
use tch::{Device, Kind, Tensor};

use common::{few_threads, innfer, serial};

const POSTERIOR_VARIANCE: f64 = 0.05;

/// The observation: far enough from the prior's centre that truncation removes much of the prior.
fn observation() -> Tensor {
    Tensor::full([1, 10], 0.5, (Kind::Float, Device::Cpu))
}

/// The quick cINN with sbibm's settings for `simulations`, stopped after `steps` steps per round.
fn config(simulations: i64, steps: u64) -> TrainConfig {
    let mut config = TrainConfig::preset("gaussian_linear", ModelKind::Cinn, Preset::Quick);
    config.use_simulations(simulations, None);
    config.weight_average = None;
    config.stop = Stop { steps: Some(steps), ..Stop::default() };
    config
}

/// The share of prior draws inside the exact posterior's highest-density region of mass 1 − ε:
/// ‖θ − y/2‖² ≤ 0.05·q with q the (1 − ε)-quantile of χ²₁₀, both by Monte Carlo.
fn exact_acceptance(observation: &Tensor) -> f64 {
    let options = (Kind::Double, Device::Cpu);
    let chi_square = Tensor::randn([2_000_000, 10], options).square().sum_dim_intlist(1, false, Kind::Double);
    let q = chi_square.quantile_scalar(1.0 - DEFAULT_EPSILON, None, false, "linear").double_value(&[]);
    let prior = Tensor::randn([2_000_000, 10], options) * 0.1f64.sqrt();
    let centre = observation.to_kind(Kind::Double) / 2.0;
    let inside = (prior - centre).square().sum_dim_intlist(1, false, Kind::Double).le(POSTERIOR_VARIANCE * q);
    inside.to_kind(Kind::Double).mean(Kind::Double).double_value(&[])
}

#[test]
fn rounds_find_the_closed_form_posterior_and_truncate_as_the_formula_says() {
    let _serial = serial();
    few_threads();
    tch::manual_seed(31);
    let folder = tempfile::tempdir().unwrap();
    let observation = observation();
    let sequential = Sequential { observation: &observation, rounds: 2, epsilon: DEFAULT_EPSILON, first_round: None };
    let mut rounds_seen = Vec::new();
    let output = RunOutput { dir: folder.path(), stop: &AtomicBool::new(false), on_log: &mut |_| {} };
    let (model, summary) =
        train_sequential(&Task::GaussianLinear, &config(4000, 1000), &sequential, Device::Cpu, output, &mut |round, _| {
            rounds_seen.push(round)
        })
        .unwrap();
    assert_eq!(rounds_seen, [1, 2]);

    let (samples, _) = posterior(&model, &observation, 20_000).unwrap();
    let mean = Vec::<f64>::try_from(samples.mean_dim(0, false, Kind::Double)).unwrap();
    let variance = Vec::<f64>::try_from(samples.var_dim(0, true, false)).unwrap();
    for dim in 0..10 {
        assert!((mean[dim] - 0.25).abs() < 0.04, "mean {mean:?}, expected 0.25");
        assert!((variance[dim] / POSTERIOR_VARIANCE - 1.0).abs() < 0.2, "variance {variance:?}, expected 0.05");
    }

    let record = summary.sequential.expect("the summary records the rounds");
    assert_eq!(record.rounds.len(), 2);
    assert_eq!(summary.steps, record.rounds.iter().map(|round| round.steps).sum::<u64>(), "the run's steps count every round");
    assert_eq!((record.rounds[0].acceptance, record.rounds[0].total, record.rounds[1].total), (1.0, 2000, 4000));
    let expected = exact_acceptance(&observation);
    let got = record.rounds[1].acceptance;
    assert!((0.05..0.95).contains(&expected), "the test's observation should truncate: {expected}");
    assert!((got - expected).abs() < 0.1 * expected, "acceptance {got}, closed form {expected}");
    assert_eq!(record.observation, vec![0.5; 10]);

    // The run folder holds the last round's model and its rounds; the log names the round.
    let loaded = checkpoint::load(folder.path(), Device::Cpu).unwrap();
    assert_eq!(loaded.training.sequential.map(|s| s.rounds.len()), Some(2));
    let log = std::fs::read_to_string(folder.path().join("metrics.csv")).unwrap();
    assert!(log.starts_with("round,step,"), "{log}");
    assert!(log.lines().any(|line| line.starts_with("2,")), "no record of round 2");
    // Every simulation is kept, with its round.
    let simulations = std::fs::read_to_string(folder.path().join(SIMULATIONS_FILE)).unwrap();
    assert!(simulations.starts_with("round,parameter_1,"), "{}", &simulations[..80]);
    assert_eq!(rows_per_round(&simulations), [(1, 2000), (2, 2000)]);
}

/// How many rows of a `simulations.csv` each round wrote, in order of rounds.
fn rows_per_round(simulations: &str) -> Vec<(u32, usize)> {
    let mut counts = std::collections::BTreeMap::new();
    for line in simulations.lines().skip(1) {
        let round: u32 = line.split(',').next().unwrap().parse().unwrap();
        *counts.entry(round).or_insert(0) += 1;
    }
    counts.into_iter().collect()
}

/// gaussian_linear whose forward process fails from its `fail_from`-th call on.
struct FailingTask {
    calls: std::sync::atomic::AtomicUsize,
    fail_from: usize,
}

impl Problem for FailingTask {
    fn info(&self) -> ProblemInfo {
        Task::GaussianLinear.info()
    }
    fn sample_prior(&self, n: i64, device: Device) -> Tensor {
        Task::GaussianLinear.sample_prior(n, device)
    }
    fn simulate(&self, x: &Tensor) -> Result<Tensor> {
        match self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1 >= self.fail_from {
            true => Err(Error::invalid("the simulator crashed")),
            false => Task::GaussianLinear.simulate(x),
        }
    }
    fn inn_widths(&self) -> (i64, i64) {
        Task::GaussianLinear.inn_widths()
    }
}

#[test]
fn a_round_that_fails_is_named_and_the_previous_round_kept() {
    let _serial = serial();
    few_threads();
    tch::manual_seed(32);
    let folder = tempfile::tempdir().unwrap();
    let observation = observation();
    let sequential = Sequential { observation: &observation, rounds: 3, epsilon: DEFAULT_EPSILON, first_round: None };
    let problem = FailingTask { calls: Default::default(), fail_from: 2 };
    let output = RunOutput { dir: folder.path(), stop: &AtomicBool::new(false), on_log: &mut |_| {} };
    let error = train_sequential(&problem, &config(1500, 50), &sequential, Device::Cpu, output, &mut |_, _| {}).err().unwrap();
    assert_eq!(error.to_string(), "round 2: the simulator crashed");
    let loaded = checkpoint::load(folder.path(), Device::Cpu).unwrap();
    assert_eq!(loaded.training.sequential.map(|s| s.rounds.len()), Some(1), "round 1's model is kept");
}

#[test]
fn bad_sequential_inputs() {
    let folder = tempfile::tempdir().unwrap();
    let one = folder.path().join("one.csv");
    std::fs::write(&one, "data_1,data_2\n0.1,0.2\n").unwrap();
    let two = folder.path().join("two.csv");
    std::fs::write(&two, "data_1,data_2\n0.1,0.2\n0.3,0.4\n").unwrap();
    let (one, two) = (one.to_str().unwrap(), two.to_str().unwrap());
    let fails_on = |problem: &[&str], args: &[&str], expected: &str| {
        let output = innfer().arg("train").args(problem).arg("--out").arg(folder.path().join("never")).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success() && stderr.contains(expected) && !stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!folder.path().join("never").exists(), "{args:?} left a run folder");
    };
    let fails = |args: &[&str], expected: &str| fails_on(&["--problem", "two_moons"], args, expected);
    fails(&["--model", "cinn", "--simulations", "1000", "--rounds", "2"], "--observation");
    fails(&["--model", "cinn", "--simulations", "1000", "--observation", two, "--rounds", "2"], "one observation, and the file has 2 rows");
    fails(&["--model", "inn", "--simulations", "1000", "--observation", one, "--rounds", "2"], "the cINN (--model cinn)");
    fails(&["--model", "cinn", "--simulations", "1000", "--observation", one, "--rounds", "0"], "--rounds");
    fails(&["--model", "cinn", "--observation", one, "--rounds", "2"], "--simulations");
    fails(&["--model", "cinn", "--simulations", "100", "--observation", one, "--rounds", "5"], "fewer than two batches");
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/data/oscillator.csv");
    let oscillator = ["--data", data, "--x", "amplitude..frequency", "--y", "s1..s2"];
    let signal = folder.path().join("signal.csv");
    std::fs::write(&signal, "s1,s2\n0.1,0.2\n").unwrap();
    let signal = signal.to_str().unwrap();
    fails_on(&oscillator, &["--model", "cinn", "--observation", signal, "--rounds", "2"], "give the forward process with --simulator");
}

#[test]
fn sampling_a_sequential_run_for_another_observation_warns() {
    let folder = tempfile::tempdir().unwrap();
    let observation = folder.path().join("obs.csv");
    std::fs::write(&observation, "data_1,data_2\n-0.6,0.15\n").unwrap();
    let run = folder.path().join("run");
    innfer()
        .args(["train", "--problem", "two_moons", "--model", "cinn", "--simulations", "400", "--rounds", "2", "--steps", "40"])
        .arg("--observation")
        .arg(&observation)
        .arg("--out")
        .arg(&run)
        .assert()
        .success()
        .stderr(predicates::str::contains("round 2 of 2"));
    let sample = |y: &str| {
        let output = innfer()
            .args(["sample", "--run"])
            .arg(&run)
            .args(["--n", "10", "--y", y, "--out"])
            .arg(folder.path().join("post.csv"))
            .output()
            .unwrap();
        assert!(output.status.success());
        String::from_utf8_lossy(&output.stderr).to_string()
    };
    assert!(!sample("-0.6,0.15").contains("warning"));
    let other = sample("0.3,0.1");
    assert!(other.contains("warning: this run was made in 2 sequential rounds for the observation (-0.6"), "{other}");
    let output = innfer().args(["check", "--pairs", "20", "--draws", "20", "--run"]).arg(&run).output().unwrap();
    assert!(String::from_utf8_lossy(&output.stderr).contains("valid near that one only"));
}

#[test]
fn rounds_on_data_call_the_external_simulator_from_round_two() {
    let folder = tempfile::tempdir().unwrap();
    let observation = folder.path().join("obs.csv");
    // The signal of frequency 0.8 Hz, which 1.7 Hz aliases: its posterior has two modes.
    std::fs::write(&observation, "s1,s2,s3,s4,s5\n1.2,-0.45,-0.6,0.81,-0.14\n").unwrap();
    let run = folder.path().join("run");
    let output = common::oscillator_rounds("python3 DATA/oscillator.py", &run, &observation);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success() && stderr.contains("round 2 of 2"), "{stderr}");
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
    let rounds = manifest["training"]["sequential"]["rounds"].as_array().expect("the rounds in the manifest").clone();
    assert_eq!(rounds.len(), 2);
    assert_eq!(
        (rounds[0]["total"].as_i64(), rounds[1]["simulations"].as_i64(), rounds[1]["total"].as_i64()),
        (Some(20_000), Some(20_000), Some(40_000))
    );
    // Round 2's simulations are kept; round 1's pairs are the data's own.
    let simulations = std::fs::read_to_string(run.join(SIMULATIONS_FILE)).unwrap();
    assert_eq!(rows_per_round(&simulations), [(2, 20_000)]);
    // Round 2 drew only x rows near the observation's posterior (measured: 8% of the data's).
    let acceptance = rounds[1]["acceptance"].as_f64().unwrap();
    assert!(acceptance > 0.0 && acceptance < 0.3, "acceptance {acceptance}");

    // The posterior still holds both modes of the frequency (measured: 49% below 1.25 Hz).
    let samples = folder.path().join("post.csv");
    innfer()
        .args(["sample", "--n", "2000", "--y", "1.2,-0.45,-0.6,0.81,-0.14", "--run"])
        .arg(&run)
        .arg("--out")
        .arg(&samples)
        .assert()
        .success();
    let text = std::fs::read_to_string(&samples).unwrap();
    let frequencies: Vec<f64> = text.lines().skip(1).map(|line| line.split(',').nth(3).unwrap().parse().unwrap()).collect();
    let low = frequencies.iter().filter(|&&f| f < 1.25).count() as f64 / frequencies.len() as f64;
    assert!((0.3..0.7).contains(&low), "share of samples in the lower mode: {low}");

    // A simulator that fails in round 2: the error names the round and the batch, round 1's model stays.
    let broken = folder.path().join("broken");
    let output = common::oscillator_rounds("cat > /dev/null; echo 'solver diverged' >&2; exit 3", &broken, &observation);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("round 2: simulator batch 0 (rows 1–20000)") && stderr.contains("solver diverged"), "{stderr}");
    assert_eq!(stderr.matches("simulator batch 0").count(), 1, "the cause is said once: {stderr}");
    let kept: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(broken.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(kept["training"]["sequential"]["rounds"].as_array().map(Vec::len), Some(1), "round 1's model is kept");
}

/// A model whose mass lies mostly outside the prior's box still truncates the prior: the threshold
/// comes from its own draws, and the prior draws above it are kept. An untrained cINN is the identity
/// on standardised x, so with x's mean set to (3, 3) its density is N((3, 3), I); two_moons' prior is
/// U(−1, 1)², of which the region ‖θ − (3, 3)‖² ≤ q (q the (1 − ε)-quantile of χ²₂) holds a known share.
#[test]
fn a_model_with_its_mass_outside_the_prior_still_truncates_it() {
    use innfer::model::{BlockConfig, Bounds, Model, ModelSpec, Standardiser};
    let _serial = serial();
    tch::manual_seed(33);
    let block = BlockConfig::glow(8, 1);
    let mut spec = ModelSpec::cinn(2, 2, 2, block, 1).unwrap();
    spec.x_scale = Standardiser { mean: vec![3.0, 3.0], std: vec![1.0, 1.0], log: Vec::new() };
    spec.x_bounds = Some(Bounds::uniform(2, -1.0, 1.0).unwrap());
    let model = Model::new(spec, Device::Cpu).unwrap();
    let observation = Tensor::zeros([1, 2], (Kind::Float, Device::Cpu));
    let (draws, _) = innfer::sample::model_draws(&model, &observation, 10_000).unwrap();
    let inside = draws.abs().le(1.0).all_dim(1, false).to_kind(Kind::Double).mean(Kind::Double).double_value(&[]);
    assert!(inside < 0.01, "the model's own draws should fall outside the box: {inside} inside");
    let (theta, acceptance) =
        innfer::train::sequential::truncated_prior(&Task::TwoMoons, &model, &observation, DEFAULT_EPSILON, 2000).unwrap();
    assert_eq!(theta.size(), [2000, 2]);
    let q = -2.0 * DEFAULT_EPSILON.ln();
    let prior = Tensor::rand([2_000_000, 2], (Kind::Double, Device::Cpu)) * 2.0 - 1.0;
    let inside = (prior - 3.0).square().sum_dim_intlist(1, false, Kind::Double).le(q);
    let expected = inside.to_kind(Kind::Double).mean(Kind::Double).double_value(&[]);
    assert!((0.05..0.95).contains(&expected), "the region should cut the box: {expected}");
    // The threshold is the 10th lowest density of 10^5 draws: within 10% of the exact region's share.
    assert!((acceptance - expected).abs() < 0.1 * expected, "acceptance {acceptance}, expected {expected}");
}
