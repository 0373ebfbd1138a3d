//! Calibration checks with known answers. sbibm's gaussian_linear is conjugate: θ ~ N(0, 0.1·I),
//! y ~ N(θ, 0.1·I), so θ | y ~ N(y/2, 0.05·I) in each of its ten dimensions. A cINN whose coupling
//! blocks are the identity and whose linear head is that posterior samples it exactly; widening,
//! narrowing or shifting the head gives posteriors with known faults, which every check must name.

mod common;

use std::path::Path;

use innfer::eval::check::{check_draws, CheckReport, Draws, Verdict};
use innfer::eval::nll::held_out_nll;
use innfer::io::table::write_table;
use innfer::model::checkpoint::{self, TrainingSummary};
use innfer::model::{Bounds, LinearRegression, Model, ModelSpec};
use innfer::problem::sbibm::Task;
use innfer::problem::Problem;
use innfer::sample::log_density;
use serde_json::Value;
use tch::{Device, Kind, Tensor};

use common::{few_threads, innfer, serial, small_block};

const DIM: i64 = 10;
const POSTERIOR_VARIANCE: f64 = 0.05;

/// A posterior fault: draws scaled around the exact mean, then shifted, in posterior standard deviations.
#[derive(Debug, Clone, Copy)]
struct Fault {
    name: &'static str,
    scale: f64,
    shift: f64,
}

const EXACT: Fault = Fault { name: "exact", scale: 1.0, shift: 0.0 };
const WIDE: Fault = Fault { name: "widened ×1.5", scale: 1.5, shift: 0.0 };
const NARROW: Fault = Fault { name: "narrowed ×0.6", scale: 0.6, shift: 0.0 };
const SHIFTED: Fault = Fault { name: "shifted +0.5σ", scale: 1.0, shift: 0.5 };

/// The cINN of gaussian_linear whose samples are the exact posterior with `fault`.
fn posterior_model(fault: Fault) -> Model {
    let task = Task::GaussianLinear;
    let spec = ModelSpec::cinn(DIM, DIM, 2, small_block(innfer::model::CouplingKind::Glow), 1).unwrap();
    let sd = POSTERIOR_VARIANCE.sqrt();
    let coefficients = (0..DIM as usize)
        .map(|i| {
            (0..=DIM as usize)
                .map(|j| {
                    if j == i {
                        0.5
                    } else if j == DIM as usize {
                        fault.shift * sd
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect();
    let regression = LinearRegression { coefficients, residual_std: vec![sd * fault.scale; DIM as usize] };
    let spec = ModelSpec { x_regression: Some(regression), ..spec };
    let model = Model::new(spec, Device::Cpu).unwrap();
    assert_eq!(task.dim_x(), DIM);
    model
}

/// Saves `model` as a trained gaussian_linear run in `dir`.
fn save_run(dir: &Path, model: &Model) {
    std::fs::create_dir_all(dir).unwrap();
    let training = TrainingSummary { steps: 1, ..TrainingSummary::default() };
    checkpoint::save(dir, model, &Task::GaussianLinear.info(), &training, None).unwrap();
}

fn verdicts(report: &Value) -> [String; 4] {
    let verdict = |pointer: &str| report.pointer(pointer).and_then(Value::as_str).unwrap_or("missing").to_string();
    [verdict("/sbc/verdict"), verdict("/coverage/check/verdict"), verdict("/tarp/verdict"), verdict("/z_scores/verdict")]
}

/// Expected verdicts of SBC, coverage, TARP and z-scores ("flagged": anything but calibrated).
/// Coverage by the cINN's highest-density regions cannot tell a shift from over-confidence (truths
/// fall outside either way), and TARP cannot tell a shift from a wrong width.
fn expected(fault: Fault, density: bool) -> [&'static str; 4] {
    match fault.name {
        "exact" => ["calibrated"; 4],
        "widened ×1.5" => ["under-confident"; 4],
        "narrowed ×0.6" => ["over-confident"; 4],
        _ if density => ["biased", "over-confident", "flagged", "biased"],
        _ => ["biased", "biased", "flagged", "biased"],
    }
}

/// Asserts that `report`'s verdicts are the `expected` ones.
fn assert_verdicts(report: &Value, expected: [&str; 4], context: &str) {
    let got = verdicts(report);
    let matches = got.iter().zip(expected).all(|(got, expected)| match expected {
        "flagged" => got != "calibrated",
        _ => got == expected,
    });
    assert!(matches, "{context}: got {got:?}, expected {expected:?}");
}

#[test]
fn the_exact_head_has_the_closed_form_density() {
    let _serial = serial();
    few_threads();
    tch::manual_seed(21);
    let model = posterior_model(EXACT);
    let y = Tensor::randn([50, DIM], (Kind::Float, Device::Cpu));
    let x = &y / 2.0 + Tensor::randn([50, DIM], (Kind::Float, Device::Cpu)) * 0.3;
    let got = log_density(&model, &x, &y).unwrap().to_kind(Kind::Double);
    let residual = (&x - &y / 2.0).to_kind(Kind::Double);
    let expected = residual.square().sum_dim_intlist(1, false, Kind::Double) * (-0.5 / POSTERIOR_VARIANCE)
        - 0.5 * DIM as f64 * (2.0 * std::f64::consts::PI * POSTERIOR_VARIANCE).ln();
    let error = (got - expected).abs().max().double_value(&[]);
    assert!(error < 1e-3, "log density off by {error}");
}

/// −log q(θ | y) of each pair for a posterior of the exact mean and `scale` times the exact
/// deviation, in closed form; averaged over the joint it is per dimension ½ log(2π·0.05·scale²) +
/// 1/(2·scale²) (entropy plus mismatch).
fn scaled_posterior_nll(theta: &Tensor, y: &Tensor, scale: f64) -> Tensor {
    let variance = POSTERIOR_VARIANCE * scale * scale;
    let residual = (theta - y / 2.0).to_kind(Kind::Double);
    residual.square().sum_dim_intlist(1, false, Kind::Double) / (2.0 * variance)
        + 0.5 * DIM as f64 * (2.0 * std::f64::consts::PI * variance).ln()
}

#[test]
fn the_held_out_loss_of_known_posteriors_is_their_cross_entropy() {
    let _serial = serial();
    tch::manual_seed(23);
    let folder = tempfile::tempdir().unwrap();
    let pairs = folder.path().join("pairs.csv");
    let task = Task::GaussianLinear;
    let (theta, y) = task.sample_joint(4000, Device::Cpu).unwrap();
    let info = task.info();
    write_table(&pairs, &[info.x_names, info.y_names].concat(), &[&theta, &y]).unwrap();
    for fault in [EXACT, WIDE] {
        let run = folder.path().join(fault.name.replace(' ', "-"));
        save_run(&run, &posterior_model(fault));
        innfer().args(["eval", "--metric", "nll", "--run"]).arg(&run).arg("--pairs-file").arg(&pairs).assert().success();
        let report: Value = serde_json::from_str(&std::fs::read_to_string(run.join("nll.json")).unwrap()).unwrap();
        let (mean, error) = (report["mean"].as_f64().unwrap(), report["standard_error"].as_f64().unwrap());
        let nll = scaled_posterior_nll(&theta, &y, fault.scale);
        let on_these_pairs = nll.mean(Kind::Double).double_value(&[]);
        let error_of_these = nll.std(true).double_value(&[]) / 4000f64.sqrt();
        assert!((mean - on_these_pairs).abs() < 1e-3, "{}: held-out loss {mean}, closed form {on_these_pairs}", fault.name);
        assert!((error / error_of_these - 1.0).abs() < 1e-3, "{}: standard error {error} against {error_of_these}", fault.name);
        let over_the_joint =
            DIM as f64 * (0.5 * (2.0 * std::f64::consts::PI * POSTERIOR_VARIANCE * fault.scale.powi(2)).ln() + 0.5 / fault.scale.powi(2));
        assert!((mean - over_the_joint).abs() < 4.0 * error, "{}: {mean} ± {error} against {over_the_joint} over the joint", fault.name);
        assert_eq!((report["pairs"].as_i64(), report["mass_inside"].as_f64()), (Some(4000), Some(1.0)));
    }
}

/// Kept inside a box, the exact posterior's density is renormalised by its mass inside, which is a
/// product of normal probabilities.
#[test]
fn the_held_out_loss_renormalises_a_posterior_kept_inside_a_box() {
    let _serial = serial();
    few_threads();
    tch::manual_seed(29);
    let mut model = posterior_model(EXACT);
    model.spec.x_bounds = Some(Bounds::uniform(DIM as usize, -0.6, 0.6).unwrap());
    let (theta, y) = Task::GaussianLinear.sample_joint(2000, Device::Cpu).unwrap();
    let report = held_out_nll(&model, &theta, &y).unwrap();

    let (mean, sd) = (y.to_kind(Kind::Double) / 2.0, POSTERIOR_VARIANCE.sqrt());
    let normal_cdf = |t: Tensor| (t / 2f64.sqrt()).erf() * 0.5 + 0.5;
    let inside = (normal_cdf((0.6 - &mean) / sd) - normal_cdf((-0.6 - &mean) / sd)).prod_dim_int(1, false, Kind::Double);
    let unboxed = posterior_model(EXACT);
    let exact = (inside.log() - log_density(&unboxed, &theta, &y).unwrap().to_kind(Kind::Double)).mean(Kind::Double).double_value(&[]);
    let expected_inside = inside.mean(Kind::Double).double_value(&[]);
    assert!((0.3..0.9).contains(&expected_inside), "the box should cut the posteriors: {expected_inside}");
    assert!((report.mass_inside - expected_inside).abs() < 0.005, "mass inside {} against {expected_inside}", report.mass_inside);
    assert!((report.mean - exact).abs() < 0.01, "held-out loss {} against {exact}", report.mean);
}

#[test]
fn a_run_with_a_known_posterior_gets_the_right_verdicts() {
    let folder = tempfile::tempdir().unwrap();
    for fault in [EXACT, WIDE, NARROW, SHIFTED] {
        let run = folder.path().join(fault.name.replace(' ', "-"));
        {
            let _serial = serial();
            save_run(&run, &posterior_model(fault));
        }
        let out = run.join("check");
        let output = innfer()
            .args(["--seed", "5", "check", "--run"])
            .arg(&run)
            .args(["--pairs", "1000", "--draws", "200", "--predictive-draws", "50", "--out"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}: {}", fault.name, String::from_utf8_lossy(&output.stderr));
        let report: Value = serde_json::from_str(&std::fs::read_to_string(out.join("check.json")).unwrap()).unwrap();
        assert_verdicts(&report, expected(fault, true), fault.name);
        assert_eq!(report.pointer("/coverage/region").and_then(Value::as_str), Some("highest-density"));
        if fault.name == "exact" {
            assert_eq!(report.pointer("/predictive/consistent"), Some(&Value::Bool(true)));
            for picture in ["sbc.png", "coverage.png", "contraction.png"] {
                let size = image::image_dimensions(out.join(picture)).unwrap();
                assert!(size.0 > 600 && size.1 > 300, "{picture}: {size:?}");
            }
        }
    }
}

/// Pairs of gaussian_linear and `draws` draws of each pair's posterior with `fault`.
fn pairs_and_draws(pairs: i64, draws: i64, fault: Fault) -> (Tensor, Tensor, Tensor) {
    let task = Task::GaussianLinear;
    let (theta, y) = task.sample_joint(pairs, Device::Cpu).unwrap();
    let sd = POSTERIOR_VARIANCE.sqrt();
    let noise = Tensor::randn([pairs, draws, DIM], (Kind::Float, Device::Cpu)) * (sd * fault.scale);
    let samples = (&y / 2.0 + fault.shift * sd).unsqueeze(1) + noise;
    (theta, y, samples)
}

fn library_report(fault: Fault) -> CheckReport {
    let names = Task::GaussianLinear.info().x_names;
    let (theta, _, samples) = pairs_and_draws(1000, 200, fault);
    check_draws(&Draws { names: &names, truth: &theta, draws: &samples, log_density: None }).unwrap()
}

#[test]
fn samples_from_anywhere_get_the_right_verdicts() {
    let _serial = serial();
    few_threads();
    tch::manual_seed(22);
    for fault in [EXACT, WIDE, NARROW, SHIFTED] {
        let report = serde_json::to_value(library_report(fault)).unwrap();
        assert_verdicts(&report, expected(fault, false), fault.name);
    }
}

#[test]
fn files_of_draws_get_the_right_verdicts() {
    let folder = tempfile::tempdir().unwrap();
    let names = Task::GaussianLinear.info();
    for fault in [WIDE, SHIFTED] {
        let (truth_path, posterior_path) = (folder.path().join("pairs.csv"), folder.path().join("post.csv"));
        {
            let _serial = serial();
            few_threads();
            tch::manual_seed(23);
            let (theta, y, samples) = pairs_and_draws(1000, 100, fault);
            let header: Vec<String> = names.x_names.iter().chain(&names.y_names).cloned().collect();
            write_table(&truth_path, &header, &[&theta, &y]).unwrap();
            let obs = Tensor::arange(1000, (Kind::Int64, Device::Cpu)).repeat_interleave_self_int(100, 0, None);
            let header: Vec<String> = std::iter::once("obs".to_string()).chain(names.x_names.iter().cloned()).collect();
            write_table(&posterior_path, &header, &[&obs, &samples.view([-1, DIM])]).unwrap();
        }
        let out = folder.path().join(fault.name.replace(' ', "-"));
        innfer()
            .args(["check", "--truth"])
            .arg(&truth_path)
            .arg("--posterior")
            .arg(&posterior_path)
            .arg("--out")
            .arg(&out)
            .assert()
            .success();
        let report: Value = serde_json::from_str(&std::fs::read_to_string(out.join("check.json")).unwrap()).unwrap();
        assert_verdicts(&report, expected(fault, false), fault.name);
        assert_eq!(report.pointer("/coverage/region").and_then(Value::as_str), Some("central-intervals"));
        assert!(report.get("predictive").is_some_and(Value::is_null));
    }
}

#[test]
fn verdicts_follow_the_rules() {
    let _serial = serial();
    few_threads();
    tch::manual_seed(24);
    let report = library_report(NARROW);
    // Every parameter of a narrowed posterior is flagged by ranks and z-scores alike.
    assert!(report.sbc.curves.iter().all(|curve| curve.verdict == Verdict::OverConfident && curve.test.variance > 1.0 / 12.0));
    assert!(report.z_scores.parameters.iter().all(|summary| summary.mean_square_z > 2.0));
    // Contraction of the exact posterior: 1 − 0.05/0.1 = 0.5 in every dimension.
    let exact = library_report(EXACT);
    assert!(exact.z_scores.parameters.iter().all(|summary| (summary.contraction - 0.5).abs() < 0.1), "{:?}", exact.z_scores.parameters);
}

#[test]
fn a_run_on_data_is_checked_on_its_held_out_rows() {
    let folder = tempfile::tempdir().unwrap();
    let pairs = folder.path().join("pairs.csv");
    innfer().args(["generate", "--problem", "gaussian_linear", "--n", "2000", "--out"]).arg(&pairs).assert().success();
    let header = std::fs::read_to_string(&pairs).unwrap().lines().next().unwrap().to_string();
    let columns: Vec<&str> = header.split(',').collect();
    let (x, y) = (columns[..10].join(","), columns[10..].join(","));
    let train = |val: &str, out: &Path| {
        innfer()
            .args(["train", "--model", "cinn", "--steps", "20", "--hidden", "16", "--blocks", "2", "--data"])
            .arg(&pairs)
            .args(["--x", &x, "--y", &y, "--val", val, "--out"])
            .arg(out)
            .assert()
            .success();
    };
    let run = folder.path().join("run");
    train("0.1", &run);
    let output = innfer().args(["check", "--draws", "100", "--run"]).arg(&run).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("no posterior predictive check"), "{stderr}");
    assert!(stderr.contains("held out 200 rows"), "{stderr}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(run.join("check/check.json")).unwrap()).unwrap();
    assert_eq!(report["pairs"], 200);
    assert!(report["predictive"].is_null());

    let unheld = folder.path().join("unheld");
    train("0", &unheld);
    let output = innfer().args(["check", "--run"]).arg(&unheld).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && stderr.contains("kept no held-out rows") && stderr.contains("--pairs-file"), "{stderr}");
    // Pairs from a file check it instead (the first 50 rows of the data, for the test's sake).
    let some_pairs = folder.path().join("some.csv");
    let text: Vec<&str> = std::fs::read_to_string(&pairs).unwrap().leak().lines().take(51).collect();
    std::fs::write(&some_pairs, text.join("\n")).unwrap();
    innfer().args(["check", "--draws", "100", "--run"]).arg(&unheld).arg("--pairs-file").arg(&some_pairs).assert().success();
}

#[test]
fn corner_plots_draw_at_most_twelve_parameters_and_say_so() {
    let folder = tempfile::tempdir().unwrap();
    let names: Vec<String> = (1..=13).map(|i| format!("p{i}")).collect();
    let (posterior, reference, truth) = (folder.path().join("post.csv"), folder.path().join("ref.csv"), folder.path().join("truth.csv"));
    {
        let _serial = serial();
        tch::manual_seed(25);
        let obs = Tensor::arange(2, (Kind::Int64, Device::Cpu)).repeat_interleave_self_int(500, 0, None);
        let header: Vec<String> = std::iter::once("obs".to_string()).chain(names.iter().cloned()).collect();
        let draws = || Tensor::randn([1000, 13], (Kind::Float, Device::Cpu));
        write_table(&posterior, &header, &[&obs, &draws()]).unwrap();
        write_table(&reference, &header, &[&obs, &(draws() + 0.5)]).unwrap();
        write_table(&truth, &names, &[&Tensor::zeros([2, 13], (Kind::Float, Device::Cpu))]).unwrap();
    }
    let out = folder.path().join("corner.png");
    let plot = |extra: &[&str]| {
        let mut command = innfer();
        command.args(["plot", "--posterior"]).arg(&posterior).arg("--reference").arg(&reference).arg("--truth").arg(&truth);
        command.arg("--out").arg(&out).args(extra);
        command.output().unwrap()
    };
    let output = plot(&["--obs", "1"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success() && stderr.contains("first 12 of 13 parameters"), "{stderr}");
    assert_eq!(image::image_dimensions(&out).unwrap(), (160 * 12 + 20, 160 * 12 + 60));
    let output = plot(&["--params", "p13,p1"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(image::image_dimensions(&out).unwrap(), (360 * 2 + 20, 360 * 2 + 60));
    let output = plot(&["--obs", "2"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && stderr.contains("no draws of obs 2"), "{stderr}");
    let output = plot(&["--params", "p1,q"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && stderr.contains("missing column 'q'"), "{stderr}");
}
