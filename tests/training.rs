//! Training: objectives lower their losses, the loop stops where it is told, the ramp-up applies.

mod common;

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use common::{few_threads, serial, small_block};
use innfer::model::checkpoint::TrainingSummary;
use innfer::model::{CouplingKind, Dims, Model, ModelKind, ModelSpec};
use innfer::problem::kinematics::Kinematics;
use innfer::problem::Problem;
use innfer::train::adam::{AdamConfig, FlatAdam};
use innfer::train::bidirectional::Bidirectional;
use innfer::train::fit::{optimisation_step, Update};
use innfer::train::likelihood::MaximumLikelihood;
use innfer::train::objective::Objective;
use innfer::train::{fit, Hooks, LossWeights, Preset, Snapshot, Stop, TrainConfig, TrainingData};
use tch::{Device, Kind, Tensor};

fn weights() -> LossWeights {
    LossWeights::PAPER
}

/// Trains `steps` Adam steps on one fixed batch; returns the first and last values of each term.
fn steps_on_a_batch(model: &Model, objective: &dyn Objective, x: &Tensor, y: &Tensor, steps: usize) -> (Vec<f64>, Vec<f64>) {
    let adam = AdamConfig { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 };
    let mut optimiser = FlatAdam::new(&model.vars.trainable_variables(), adam).unwrap();
    let mut values = Vec::new();
    for _ in 0..steps {
        let (terms, _) = optimisation_step(&mut optimiser, model, objective, x, y, 1.0, Update { lr: 1e-3, clip: 0.0, clamp: None });
        values.push(Vec::<f64>::try_from(terms.to_kind(Kind::Double)).unwrap());
    }
    (values[0].clone(), values[steps - 1].clone())
}

#[test]
fn likelihood_steps_lower_the_loss_on_a_fixed_batch() {
    let _serial = serial();
    few_threads();
    tch::manual_seed(10);
    let (x, y) = Kinematics.sample_joint(256, Device::Cpu).unwrap();
    let spec = ModelSpec::cinn(4, 2, 3, small_block(CouplingKind::Glow), 1).unwrap();
    let model = Model::new(spec, Device::Cpu).unwrap();
    let (first, last) = steps_on_a_batch(&model, &MaximumLikelihood { y_noise: 0.0 }, &(x * 3.0), &y, 30);
    assert!(last[0] < first[0] - 0.1, "nll {} → {}", first[0], last[0]);
}

/// A small INN of `blocks` blocks for kinematics and the paper's losses with y and padding noise `noise`.
fn kinematics_inn(blocks: usize, noise: f64) -> (Model, Bidirectional) {
    let spec = ModelSpec::inn(Dims::new(4, 2, 2, 6).unwrap(), blocks, small_block(CouplingKind::Glow), 1);
    let objective = Bidirectional {
        weights: weights(),
        y_noise: noise,
        pad_noise: noise,
        noise_anneal: 1.0,
        kernel_widths: innfer::loss::TRAINING_WIDTHS.to_vec(),
    };
    (Model::new(spec, Device::Cpu).unwrap(), objective)
}

#[test]
fn bidirectional_steps_lower_the_forward_fit() {
    let _serial = serial();
    few_threads();
    tch::manual_seed(11);
    let (x, y) = Kinematics.sample_joint(256, Device::Cpu).unwrap();
    let (model, objective) = kinematics_inn(3, 0.0);
    assert_eq!(objective.terms(), ["l_y", "l_z", "l_x", "l_rec", "l_ml"]);
    let (first, last) = steps_on_a_batch(&model, &objective, &x, &y, 40);
    assert!(last[0] < 0.9 * first[0], "l_y {} → {}", first[0], last[0]);
    assert!(last.iter().all(|v| v.is_finite()));
}

/// With [z, y] as wide as the network (the mixture's INN: z 2 + y 8 = 10) there are no padding
/// outputs, and the paper's losses stay finite.
#[test]
fn the_paper_losses_train_a_network_without_padding_outputs() {
    let _serial = serial();
    few_threads();
    tch::manual_seed(12);
    let mixture = innfer::problem::gmm::GaussianMixture::new(innfer::problem::gmm::LabelMap::Some);
    let (x, y) = mixture.sample_joint(256, Device::Cpu).unwrap();
    let spec = ModelSpec::inn(Dims::new(2, 8, 2, 10).unwrap(), 2, small_block(CouplingKind::Glow), 1);
    let model = Model::new(spec, Device::Cpu).unwrap();
    let objective = Bidirectional {
        weights: weights(),
        y_noise: 0.1,
        pad_noise: 0.05,
        noise_anneal: 1.0,
        kernel_widths: innfer::loss::TRAINING_WIDTHS.to_vec(),
    };
    let (first, last) = steps_on_a_batch(&model, &objective, &x, &y, 20);
    assert!(first.iter().chain(&last).all(|v| v.is_finite()), "{first:?} → {last:?}");
    assert!(last[0] < first[0], "l_y {} → {}", first[0], last[0]);
}

/// L_x is ramped up over training: on the same batch and the same random draws, its value at the
/// start is 2·0.002 of its value at the end, and the other terms do not change.
#[test]
fn the_inverse_loss_is_ramped_up() {
    let _serial = serial();
    few_threads();
    tch::manual_seed(12);
    let (x, y) = Kinematics.sample_joint(128, Device::Cpu).unwrap();
    let (model, objective) = kinematics_inn(2, 0.01);
    let terms_at = |progress: f64| {
        tch::manual_seed(13);
        Vec::<f64>::try_from(objective.backward(&model, &x, &y, progress).to_kind(Kind::Double)).unwrap()
    };
    let (start, end) = (terms_at(0.0), terms_at(1.0));
    assert!(end[2] > 0.0);
    assert!((start[2] / end[2] - 0.004).abs() < 1e-6, "L_x at the start {} and at the end {}", start[2], end[2]);
    for term in [0, 1, 3] {
        assert_eq!(start[term], end[term], "term {term}");
    }
}

fn tiny_config(stop: Stop) -> TrainConfig {
    let mut config = TrainConfig::preset("kinematics", ModelKind::Cinn, Preset::Quick);
    config.block = small_block(CouplingKind::Glow);
    config.blocks = 2;
    config.batch = 64;
    config.samples = 1024;
    config.log_every = 5;
    config.stop = stop;
    config
}

/// Runs the loop on a tiny cINN; returns the summary, the log records' steps and checkpoint count.
fn run_loop(config: &TrainConfig, stop_now: bool) -> (TrainingSummary, Vec<u64>, usize) {
    let _serial = serial();
    few_threads();
    let model_spec = ModelSpec::cinn(4, 2, config.blocks, config.block, 1).unwrap();
    let mut model = Model::new(model_spec, Device::Cpu).unwrap();
    let (x, y) = Kinematics.sample_joint(config.samples, Device::Cpu).unwrap();
    let stop = AtomicBool::new(stop_now);
    let mut logged = Vec::new();
    let mut checkpoints = 0;
    let mut on_log = |record: &innfer::train::LogRecord| {
        logged.push(record.step);
        Ok(())
    };
    let mut on_checkpoint = |_: &Snapshot| {
        checkpoints += 1;
        Ok(())
    };
    let hooks = Hooks { stop: &stop, on_log: &mut on_log, on_checkpoint: &mut on_checkpoint };
    let summary =
        fit(&mut model, &MaximumLikelihood { y_noise: 0.0 }, TrainingData::Fixed { x, y, validation: None }, config, None, hooks).unwrap();
    (summary, logged, checkpoints)
}

#[test]
fn stops_after_the_given_steps() {
    let (summary, logged, checkpoints) = run_loop(&tiny_config(Stop { steps: Some(23), ..Stop::default() }), false);
    assert_eq!(summary.steps, 23);
    assert_eq!(logged, [5, 10, 15, 20, 23]);
    assert_eq!(checkpoints, 1, "a checkpoint at the end");
    assert!(summary.final_losses.contains_key("nll"));
}

#[test]
fn stops_after_the_given_epochs() {
    // 1024 rows in batches of 64: 16 steps per epoch.
    let (summary, _, _) = run_loop(&tiny_config(Stop { epochs: Some(2.0), ..Stop::default() }), false);
    assert_eq!(summary.steps, 32);
}

#[test]
fn stops_when_the_budget_is_spent() {
    let started = Instant::now();
    let stop = Stop { steps: Some(10_000_000), budget: Some(Duration::from_millis(700)), ..Stop::default() };
    let (summary, _, checkpoints) = run_loop(&tiny_config(stop), false);
    let elapsed = started.elapsed().as_secs_f64();
    assert!(summary.steps > 0 && summary.steps < 10_000_000);
    assert!(summary.seconds >= 0.7 && elapsed < 30.0, "{} s", summary.seconds);
    assert_eq!(checkpoints, 1);
}

#[test]
fn a_stop_request_ends_training_with_a_checkpoint() {
    let (summary, _, checkpoints) = run_loop(&tiny_config(Stop { steps: Some(1000), ..Stop::default() }), true);
    assert_eq!(summary.steps, 0);
    assert_eq!(checkpoints, 1);
}

#[test]
fn training_needs_a_limit_and_enough_rows() {
    let mut config = tiny_config(Stop::default());
    assert!(config.validate().unwrap_err().to_string().contains("--steps, --epochs or --budget"));
    config.stop.steps = Some(1);
    config.samples = 10;
    assert!(config.validate().unwrap_err().to_string().contains("smaller than one batch"));
}

/// Trains a tiny model of `kind` on kinematics into `dir`: 120 steps, a weight average, held-out rows
/// (the cINN: a fixed set of simulations) and logs every 10 steps; stops once the log reaches
/// `stop_after` (at the next step, which no log record falls on).
fn train_into(dir: &std::path::Path, kind: ModelKind, stop_after: Option<u64>) -> TrainingSummary {
    let mut config = tiny_config(Stop { steps: Some(120), ..Stop::default() });
    config.model = kind;
    config.seed = 5;
    config.weight_average = Some(0.9);
    config.log_every = 10;
    config.bounded = false;
    config.standardise = true;
    if kind == ModelKind::Cinn {
        // 1500 simulations, on the tiny network and schedule above.
        let tiny = config.clone();
        config.use_simulations(1500, None);
        (config.blocks, config.block, config.batch, config.stop) = (tiny.blocks, tiny.block, tiny.batch, tiny.stop);
        (config.weight_average, config.patience) = (tiny.weight_average, None);
    }
    let stop = AtomicBool::new(false);
    let on_log = &mut |record: &innfer::train::LogRecord| {
        if Some(record.step) == stop_after {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    };
    let output = innfer::train::RunOutput { dir, stop: &stop, on_log };
    innfer::train::train_problem(&Kinematics, &config, Device::Cpu, output).unwrap().1
}

/// The saved weights of a run folder, by name.
fn saved_weights(dir: &std::path::Path) -> Vec<(String, Tensor)> {
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let mut weights = Tensor::read_safetensors(dir.join(manifest["weights"]["file"].as_str().unwrap())).unwrap();
    weights.sort_by(|a, b| a.0.cmp(&b.0));
    weights
}

#[test]
fn a_resumed_run_ends_bit_for_bit_as_the_run_that_never_stopped() {
    let _serial = serial();
    few_threads();
    for kind in [ModelKind::Inn, ModelKind::Cinn] {
        let folder = tempfile::tempdir().unwrap();
        let straight = folder.path().join("straight");
        std::fs::create_dir(&straight).unwrap();
        let whole = train_into(&straight, kind, None);
        assert_eq!((whole.steps, whole.interrupted), (120, false));
        // Stopped after step 31 (mid-epoch, between log records) and again after 71, then resumed.
        let stopped = folder.path().join("stopped");
        std::fs::create_dir(&stopped).unwrap();
        let first = train_into(&stopped, kind, Some(30));
        assert_eq!((first.steps, first.interrupted), (31, true), "{kind}");
        let stop = AtomicBool::new(false);
        let stop_at_70 = &mut |record: &innfer::train::LogRecord| {
            if record.step == 70 {
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        };
        let output = innfer::train::RunOutput { dir: &stopped, stop: &stop, on_log: stop_at_70 };
        assert_eq!(innfer::train::resume(Device::Cpu, None, output).unwrap().1.steps, 71);
        let stop = AtomicBool::new(false);
        let output = innfer::train::RunOutput { dir: &stopped, stop: &stop, on_log: &mut |_| {} };
        let resumed = innfer::train::resume(Device::Cpu, None, output).unwrap().1;
        assert_eq!((resumed.steps, resumed.interrupted), (120, false));
        assert_eq!(resumed.best_validation, whole.best_validation, "{kind}: the same model kept");
        let (expected, found) = (saved_weights(&straight), saved_weights(&stopped));
        assert_eq!(expected.len(), found.len());
        for ((name, a), (_, b)) in expected.iter().zip(&found) {
            assert!(a.equal(b), "{kind}: {name} differs by {}", (a - b).abs().max());
        }
        // The log holds each step once, in order, up to the end.
        let metrics = std::fs::read_to_string(stopped.join("metrics.csv")).unwrap();
        let steps: Vec<u64> = metrics.lines().skip(1).map(|line| line.split(',').next().unwrap().parse().unwrap()).collect();
        assert!(steps.windows(2).all(|pair| pair[0] < pair[1]), "{kind}: {steps:?}");
        assert_eq!(steps.last(), Some(&120));
    }
}
