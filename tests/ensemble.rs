//! Ensembles of cINNs: their density is the equal-weight mixture of their members', their samples
//! are drawn from that mixture, and they travel through checkpoints and the command line.

mod common;

use common::{few_threads, innfer, randomise, serial, small_block};
use innfer::model::checkpoint::{self, ProblemInfo, TrainingSummary};
use innfer::model::{CouplingKind, Model, ModelSpec};
use innfer::sample::{log_density, posterior};
use innfer::train::likelihood::MaximumLikelihood;
use innfer::train::objective::Objective;
use tch::{Device, Kind, Tensor};

const MEMBERS: usize = 3;

fn spec(members: usize) -> ModelSpec {
    ModelSpec { members, ..ModelSpec::cinn(3, 2, 3, small_block(CouplingKind::Spline), 7).unwrap() }
}

/// An ensemble of [`MEMBERS`] members randomised from `seed` (on the tests' few threads), in double
/// precision, and one single-network model per member holding that member's weights.
fn ensemble_and_members(seed: i64) -> (Model, Vec<Model>) {
    few_threads();
    tch::manual_seed(seed);
    let mut ensemble = Model::new(spec(MEMBERS), Device::Cpu).unwrap();
    randomise(&ensemble, 0.3);
    ensemble.set_kind(Kind::Double);
    let weights = ensemble.vars.variables();
    let singles = (0..MEMBERS)
        .map(|index| {
            let mut single = Model::new(spec(1), Device::Cpu).unwrap();
            single.set_kind(Kind::Double);
            tch::no_grad(|| {
                for (name, mut variable) in single.vars.variables() {
                    let source = if index == 0 { name.clone() } else { format!("member{index}.{name}") };
                    variable.copy_(&weights[&source]);
                }
            });
            single
        })
        .collect();
    (ensemble, singles)
}

#[test]
fn an_ensemble_density_is_the_mixture_of_its_members() {
    let _serial = serial();
    let (ensemble, singles) = ensemble_and_members(5);
    let x = Tensor::randn([200, 3], (Kind::Double, Device::Cpu));
    let y = Tensor::randn([200, 2], (Kind::Double, Device::Cpu));
    let per_member: Vec<Tensor> = singles.iter().map(|single| log_density(single, &x, &y).unwrap()).collect();
    let per_member = Tensor::stack(&per_member, 0);
    let mixture = (per_member.exp().mean_dim(0, false, Kind::Double)).log();
    let got = log_density(&ensemble, &x, &y).unwrap();
    let error = (&got - &mixture).abs().max().double_value(&[]);
    assert!(error < 1e-9, "ensemble log density off the mixture of its members' by {error}");
    // The members differ, so a mixture is not any one of them.
    let spread = (per_member.get(0) - per_member.get(1)).abs().mean(Kind::Double).double_value(&[]);
    assert!(spread > 0.1, "randomised members must differ (mean |Δ log q| {spread})");

    // Early stopping watches the mixture's held-out loss (the model's standardisations are the
    // identity, so only the constant ½·d·log 2π separates it from −mean log q).
    let held_out = MaximumLikelihood { y_noise: 0.0 }.validation_loss(&ensemble, &x, &y).double_value(&[]);
    let expected = -mixture.mean(Kind::Double).double_value(&[]) - 1.5 * (2.0 * std::f64::consts::PI).ln();
    assert!((held_out - expected).abs() < 1e-9, "held-out loss {held_out}, the mixture's {expected}");

    // A checkpoint keeps every member.
    let folder = tempfile::tempdir().unwrap();
    let problem = ProblemInfo {
        name: "test".into(),
        options: Default::default(),
        x_names: vec!["x1".into(), "x2".into(), "x3".into()],
        y_names: vec!["y1".into(), "y2".into()],
    };
    checkpoint::save(folder.path(), &ensemble, &problem, &TrainingSummary::default(), None).unwrap();
    let mut loaded = checkpoint::load(folder.path(), Device::Cpu).unwrap().model;
    loaded.set_kind(Kind::Double);
    assert_eq!(loaded.spec.members, MEMBERS);
    assert!(log_density(&loaded, &x, &y).unwrap().equal(&got));
}

/// Mean of `n` posterior samples of `model` for the observation `y`, and its standard error.
fn sample_mean(model: &Model, y: &Tensor, n: i64) -> (Tensor, Tensor) {
    let (samples, _) = posterior(model, y, n).unwrap();
    (samples.mean_dim(0, false, Kind::Double), samples.std_dim(0, true, false) / (n as f64).sqrt())
}

#[test]
fn ensemble_samples_come_from_every_member_equally() {
    let _serial = serial();
    let (ensemble, singles) = ensemble_and_members(6);
    let y = Tensor::from_slice(&[0.5, -1.0]).to_kind(Kind::Double).view([1, 2]);
    let n = 60_000;
    let members: Vec<(Tensor, Tensor)> = singles.iter().map(|single| sample_mean(single, &y, n)).collect();
    let expected = members.iter().map(|(mean, _)| mean.shallow_clone()).sum::<Tensor>() / MEMBERS as f64;
    let (got, error) = sample_mean(&ensemble, &y, n);
    let z = ((&got - &expected) / &error).abs().max().double_value(&[]);
    assert!(z < 4.5, "ensemble sample mean {got:?} against the members' average {expected:?}: {z} standard errors");
    // The test has power: the members' means are far apart, so drawing from one member only would fail it.
    let apart = ((&members[0].0 - &members[1].0) / &members[0].1).abs().max().double_value(&[]);
    assert!(apart > 30.0, "members' means only {apart} standard errors apart");
}

#[test]
fn train_makes_an_ensemble_that_samples_and_reports_its_held_out_loss() {
    let runs = tempfile::tempdir().unwrap();
    let run = runs.path().join("ensemble");
    let args = ["train", "--problem", "gaussian_linear", "--model", "cinn", "--simulations", "300", "--ensemble", "2", "--steps", "40"];
    let output = innfer().args(args).arg("--out").arg(&run).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["model"]["members"], 2);
    assert!(manifest["training"]["best_validation"]["loss"].is_number());
    let samples = runs.path().join("samples.csv");
    let output = innfer()
        .args(["sample", "--run"])
        .arg(&run)
        .args(["--y", "0,0,0,0,0,0,0,0,0,0", "--n", "50", "--out"])
        .arg(&samples)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(std::fs::read_to_string(&samples).unwrap().lines().count(), 51);
}
