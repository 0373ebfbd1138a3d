//! The main job: the seed's experiments reproduced in one folder — the mixture with the paper's INN,
//! inverse kinematics with the INN, the cINN and rejection ABC — with CSVs, pictures and a report.
//!
//! Pictures are drawn from the CSVs alone ([`draw_pictures`]), so they can be redrawn later.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use tch::{Device, Kind, Tensor};

use innfer::abc::{rejection_abc, Acceptance, DEFAULT_CHUNK};
use innfer::error::{Error, Result};
use innfer::eval::check::{check_model, CheckDraws, CheckReport};
use innfer::eval::{evaluate, EvalReport, EvalSettings};
use innfer::io::atomic::write_text_atomically;
use innfer::io::posterior::read_draws_of;
use innfer::io::table::{read_table, write_table, Table};
use innfer::model::checkpoint::TrainingSummary;
use innfer::model::{Model, ModelKind};
use innfer::plot::corner::{corner_plot, Corner};
use innfer::plot::{self, ArmPanel, ColouredPoints, Curves};
use innfer::problem::gmm::{GaussianMixture, LabelMap};
use innfer::problem::kinematics::Kinematics;
use innfer::problem::Problem;
use innfer::sample::{posterior, predict_y, rows_of_observation};
use innfer::train::{train_problem, LogRecord, Preset, RunOutput, Stop, TrainConfig};

/// The nine showcase targets of inverse kinematics: y1 ∈ {1.0, 1.5, 1.9} × y2 ∈ {−0.5, 0, 0.5}.
pub const TARGETS: [[f32; 2]; 9] =
    [[1.0, -0.5], [1.0, 0.0], [1.0, 0.5], [1.5, -0.5], [1.5, 0.0], [1.5, 0.5], [1.9, -0.5], [1.9, 0.0], [1.9, 0.5]];
/// Posterior samples per target.
const SAMPLES: i64 = 4000;
/// Arms drawn per panel.
const ARMS_PER_PANEL: usize = 300;
/// Stages of the main job, for progress counters.
pub const STAGES: usize = 7;
/// The showcase target whose cINN posterior is drawn against ABC in a corner plot: (1.5, 0.0).
const CORNER_TARGET: i64 = 4;

/// Settings of the main job.
#[derive(Debug, Clone)]
pub struct ShowcaseSettings {
    /// quick (minutes on a laptop CPU) or paper (for a GPU).
    pub preset: Preset,
    /// Prior draws of the ABC reference.
    pub abc_draws: i64,
    /// Override of every training's number of steps (tests use a tiny one).
    pub steps: Option<u64>,
    /// Pairs (θ*, y) of the kinematics calibration checks.
    pub check_pairs: i64,
    /// Seed of all randomness.
    pub seed: u64,
}

/// What the main job tells its caller as it goes.
pub enum Event<'a> {
    /// A new stage starts (1-based index).
    Stage(usize, &'a str),
    /// A training log record of the current stage.
    Training(&'a LogRecord),
    /// ABC draws done of the total.
    Abc(i64, i64),
}

/// Runs the main job into `dir` (which must exist and be empty). A stop request ends it after the
/// current stage with [`Error::Interrupted`], and a `report.md` that says so.
pub fn run(dir: &Path, settings: &ShowcaseSettings, device: Device, stop: &AtomicBool, on_event: &mut dyn FnMut(Event)) -> Result<()> {
    let kinematics = Kinematics;
    let mixture = GaussianMixture::new(LabelMap::Some);
    let stopped = |stage: &str| -> Result<()> {
        if !stop.load(Ordering::Relaxed) {
            return Ok(());
        }
        let path = dir.join("report.md");
        let text = format!("# innfer main job\n\nInterrupted during stage: {stage}. Later stages did not run; the run folders written so far are kept (`innfer train --resume DIR` continues an interrupted training).\n");
        write_text_atomically(&path, &text)?;
        Err(Error::Interrupted { what: format!("the main job, during {stage}; see {}", path.display()) })
    };
    let train = |stage: usize, problem: &dyn Problem, model: ModelKind, on_event: &mut dyn FnMut(Event)| {
        let name = format!("{}-{}", problem.info().name, model);
        let title = format!("training {} {}", problem.info().name, model_title(model));
        on_event(Event::Stage(stage, &title));
        let mut config = TrainConfig::preset(&problem.info().name, model, settings.preset);
        config.seed = settings.seed;
        if let Some(steps) = settings.steps {
            config.stop = Stop { steps: Some(steps), ..Stop::default() };
        }
        let run_dir = dir.join(&name);
        std::fs::create_dir_all(&run_dir).map_err(|source| Error::io(&run_dir, source))?;
        let output = RunOutput { dir: &run_dir, stop, on_log: &mut |record| on_event(Event::Training(record)) };
        let trained = train_problem(problem, &config, device, output)?;
        stopped(&title)?;
        Ok::<_, Error>(trained)
    };

    // 1. The mixture: forward predictions of test points, inverse samples for every colour.
    let (gmm_model, gmm_summary) = train(1, &mixture, ModelKind::Inn, on_event)?;
    let colours = write_mixture_samples(dir, &gmm_model, &mixture, device)?;

    // 2. Inverse kinematics: INN, cINN and ABC on the nine targets.
    let targets = Tensor::from_slice(TARGETS.as_flattened()).view([9, 2]).to_device(device);
    write_table(&dir.join("kinematics-targets.csv"), &names(&["y1", "y2"]), &[&targets])?;
    let mut kinematic_runs = Vec::new();
    for (stage, model) in [(2, ModelKind::Inn), (3, ModelKind::Cinn)] {
        let (trained, summary) = train(stage, &kinematics, model, on_event)?;
        let (x, obs) = posterior(&trained, &targets, SAMPLES)?;
        write_table(&dir.join(format!("kinematics-{model}.csv")), &names(&["obs", "x1", "x2", "x3", "x4"]), &[&obs, &x])?;
        kinematic_runs.push((trained, summary));
    }
    on_event(Event::Stage(4, "rejection ABC on the nine targets"));
    let started = std::time::Instant::now();
    let abc = rejection_abc(&kinematics, &targets, settings.abc_draws, Acceptance::Nearest(SAMPLES), DEFAULT_CHUNK, device, &mut |done| {
        on_event(Event::Abc(done, settings.abc_draws))
    })?;
    let abc_seconds = started.elapsed().as_secs_f64() / TARGETS.len() as f64;
    stopped("rejection ABC")?;
    write_table(
        &dir.join("kinematics-abc.csv"),
        &names(&["obs", "x1", "x2", "x3", "x4", "distance"]),
        &[&abc.obs, &abc.x, &abc.distance.unsqueeze(1)],
    )?;

    // 3. Yardsticks of every model against the ABC reference.
    on_event(Event::Stage(5, "evaluating against ABC"));
    let eval_settings = EvalSettings { abc_draws: settings.abc_draws, ..EvalSettings::default() };
    let models: Vec<&Model> = kinematic_runs.iter().map(|(model, _)| model).collect();
    let reports = models
        .iter()
        .map(|model| {
            let reference = innfer::eval::split_by_observation(&abc, 9);
            let report = evaluate(model, &kinematics, &targets, Some(reference), &eval_settings, &mut |_| {})?;
            Ok(EvalReport { abc_seconds_per_target: None, ..report })
        })
        .collect::<Result<Vec<_>>>()?;
    let gmm_targets = colours.shallow_clone();
    let gmm_report =
        evaluate(&gmm_model, &mixture, &gmm_targets, None, &EvalSettings { abc_draws: 1_000_000, ..eval_settings }, &mut |_| {})?;
    stopped("evaluation")?;

    // 4. Calibration of both kinematics models on the same pairs from the joint.
    on_event(Event::Stage(6, "calibration checks of the kinematics models"));
    let checks = check_kinematics(dir, &models, settings.check_pairs, device)?;
    stopped("calibration checks")?;

    on_event(Event::Stage(7, "pictures and report"));
    draw_pictures(dir)?;
    let summaries = [("gmm-inn", &gmm_summary), ("kinematics-inn", &kinematic_runs[0].1), ("kinematics-cinn", &kinematic_runs[1].1)];
    let results = Results { reports: &reports, gmm_report: &gmm_report, checks: &checks, abc_seconds };
    write_report(dir, settings, device, &summaries, &results)
}

/// The mixture's forward predictions of test points and inverse samples for every colour, as CSVs;
/// returns the colours asked for (one-hot rows).
fn write_mixture_samples(dir: &Path, model: &Model, mixture: &GaussianMixture, device: Device) -> Result<Tensor> {
    let (test_x, test_y) = mixture.sample_joint(4000, device)?;
    let predicted = predict_y(model, &test_x)?.argmax(1, false);
    let colours = Tensor::arange(LabelMap::Some.used_colours(), (Kind::Int64, device)).one_hot(8).to_kind(Kind::Float);
    let (inverse_x, inverse_obs) = posterior(model, &colours, 1000)?;
    write_table(
        &dir.join("gmm-forward.csv"),
        &names(&["x1", "x2", "colour", "predicted"]),
        &[&test_x, &test_y.argmax(1, true), &predicted.unsqueeze(1)],
    )?;
    write_table(&dir.join("gmm-inverse.csv"), &names(&["obs", "x1", "x2"]), &[&inverse_obs, &inverse_x])?;

    Ok(colours)
}

/// Calibration checks of the kinematics `models` on the same `pairs` pairs from the joint, each
/// written into its run's `check` folder.
fn check_kinematics(dir: &Path, models: &[&Model], pairs: i64, device: Device) -> Result<Vec<CheckReport>> {
    let (truth, y) = Kinematics.sample_joint(pairs, device)?;
    let names = Kinematics.info().x_names;
    let mut checks = Vec::new();
    for model in models {
        let check = check_model(model, &names, &truth, &y, CheckDraws::default(), Some(&Kinematics))?;
        check.write_to(&dir.join(format!("kinematics-{}", model.spec.kind)).join("check"))?;
        checks.push(check);
    }
    Ok(checks)
}

/// What the main job measured.
struct Results<'a> {
    /// Yardsticks of the kinematics INN and cINN against ABC.
    reports: &'a [EvalReport],
    /// The mixture's yardsticks.
    gmm_report: &'a EvalReport,
    /// Calibration checks of the kinematics INN and cINN.
    checks: &'a [CheckReport],
    /// ABC's seconds per target.
    abc_seconds: f64,
}

/// The calibration checks of both kinematics models side by side, and the corner plot.
fn calibration_section(text: &mut String, checks: &[CheckReport]) {
    let Some(first) = checks.first() else { return };
    let _ = writeln!(text, "## Calibration, inverse kinematics\n");
    let _ = writeln!(
        text,
        "{} pairs (θ*, y) from the prior and the arm, {} posterior draws each (`innfer check`): where each θ* falls among \
         its draws. Coverage uses central intervals for the INN (it has no tractable density) and the cINN's own \
         highest-density regions.\n",
        first.pairs, first.draws
    );
    let _ = writeln!(text, "| check | INN (paper) | cINN |\n|---|---|---|");
    let verdicts = |pick: fn(&CheckReport) -> String| checks.iter().map(pick).collect::<Vec<_>>().join(" | ");
    let _ = writeln!(text, "| simulation-based calibration | {} |", verdicts(|c| c.sbc.verdict.to_string()));
    let _ = writeln!(text, "| expected coverage | {} |", verdicts(|c| c.coverage.check.verdict.to_string()));
    let _ = writeln!(text, "| TARP | {} |", verdicts(|c| c.tarp.verdict.to_string()));
    let _ = writeln!(text, "| z-scores | {} |", verdicts(|c| c.z_scores.verdict.to_string()));
    let predictive = |c: &CheckReport| c.predictive.as_ref().map_or("–".to_string(), |p| format!("{:.4}", p.resimulation_error));
    let _ = writeln!(text, "| predictive re-simulation error | {} |", verdicts(predictive));
    let _ = writeln!(text, "\n| INN (paper) | cINN |\n|---|---|");
    for picture in ["sbc", "coverage", "contraction"] {
        let _ = writeln!(
            text,
            "| ![INN {picture}](kinematics-inn/check/{picture}.png) | ![cINN {picture}](kinematics-cinn/check/{picture}.png) |"
        );
    }
    let _ = writeln!(text, "\nReports: [INN](kinematics-inn/check/check.md), [cINN](kinematics-cinn/check/check.md).\n");
    let target = TARGETS[CORNER_TARGET as usize];
    let _ = writeln!(text, "### The cINN's posterior against ABC at y* = ({}, {})\n\n![corner](corner-cinn.png)\n", target[0], target[1]);
}

fn model_title(model: ModelKind) -> &'static str {
    match model {
        ModelKind::Inn => "INN (paper)",
        ModelKind::Cinn => "cINN",
    }
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn read(dir: &Path, file: &str) -> Result<(Table, PathBuf)> {
    let path = dir.join(file);
    Ok((read_table(&path)?, path))
}

/// Column `name` of a table as f64 values.
fn column(table: &Table, path: &Path, name: &str) -> Result<Vec<f64>> {
    Ok(Vec::<f64>::try_from(table.select(&[name.to_string()], path)?.view([-1]).to_kind(Kind::Double))?)
}

/// Draws every picture of a main-job folder from its CSVs: gmm.png, arms-*.png, corner-cinn.png,
/// losses.png.
pub fn draw_pictures(dir: &Path) -> Result<()> {
    let (forward, forward_path) = read(dir, "gmm-forward.csv")?;
    let (inverse, inverse_path) = read(dir, "gmm-inverse.csv")?;
    let points = |table: &Table, path: &Path| -> Result<Vec<(f64, f64)>> {
        Ok(column(table, path, "x1")?.into_iter().zip(column(table, path, "x2")?).collect())
    };
    let as_index = |values: Vec<f64>| values.into_iter().map(|v| v.max(0.0) as usize).collect::<Vec<_>>();
    let (test_points, predicted) = (points(&forward, &forward_path)?, as_index(column(&forward, &forward_path, "predicted")?));
    let (inverse_points, asked) = (points(&inverse, &inverse_path)?, as_index(column(&inverse, &inverse_path, "obs")?));
    plot::mixture_figure(
        &dir.join("gmm.png"),
        &[
            ColouredPoints { title: "Forward: test points coloured by predicted colour", points: &test_points, colours: &predicted },
            ColouredPoints { title: "Inverse: samples coloured by the colour asked for", points: &inverse_points, colours: &asked },
        ],
    )?;

    let (targets, targets_path) = read(dir, "kinematics-targets.csv")?;
    let targets: Vec<(f64, f64)> = column(&targets, &targets_path, "y1")?.into_iter().zip(column(&targets, &targets_path, "y2")?).collect();
    for (file, title) in [("inn", "INN (paper's method)"), ("cinn", "Conditional INN"), ("abc", "Rejection ABC (reference)")] {
        let (table, path) = read(dir, &format!("kinematics-{file}.csv"))?;
        let x = table.select(&names(&["x1", "x2", "x3", "x4"]), &path)?;
        let obs = table.select(&names(&["obs"]), &path)?.view([-1]).to_kind(Kind::Int64);
        let panels = (0..targets.len() as i64)
            .map(|index| {
                let rows = rows_of_observation(&x, &obs, index);
                let rows = rows.narrow(0, 0, rows.size()[0].min(ARMS_PER_PANEL as i64));
                let joints = Vec::<f64>::try_from(Kinematics::joints(&rows).to_kind(Kind::Double).view([-1]))?;
                let arms = joints.chunks(8).map(|arm| arm.chunks(2).map(|p| (p[0], p[1])).collect()).collect();
                Ok(ArmPanel { target: targets[index as usize], arms })
            })
            .collect::<Result<Vec<_>>>()?;
        plot::arm_grid(&dir.join(format!("arms-{file}.png")), title, &panels)?;
    }

    let x_names = names(&["x1", "x2", "x3", "x4"]);
    let (_, cinn) = read_draws_of(&dir.join("kinematics-cinn.csv"), Some(&x_names), CORNER_TARGET)?;
    let (_, abc) = read_draws_of(&dir.join("kinematics-abc.csv"), Some(&x_names), CORNER_TARGET)?;
    let target = TARGETS[CORNER_TARGET as usize];
    let title = format!("cINN posterior against ABC, y* = ({}, {})", target[0], target[1]);
    corner_plot(
        &dir.join("corner-cinn.png"),
        &Corner { title: &title, names: &x_names, samples: &cinn, reference: Some(&abc), truth: None },
    )?;

    let mut curves = Vec::new();
    let titles = [("gmm-inn", "gmm: INN"), ("kinematics-inn", "kinematics: INN"), ("kinematics-cinn", "kinematics: cINN")];
    for (run, _) in titles {
        let (table, path) = read(&dir.join(run), "metrics.csv")?;
        let steps = column(&table, &path, "step")?;
        let mut series = Vec::new();
        for term in table.names.iter().skip(5) {
            let values = column(&table, &path, term)?;
            // Terms of weight zero (all zero) are left out.
            if values.iter().any(|&value| value != 0.0) {
                series.push((term.clone(), steps.iter().copied().zip(values).collect()));
            }
        }
        curves.push(series);
    }
    let runs: Vec<Curves> = titles.iter().zip(curves).map(|((_, title), series)| Curves { title, series }).collect();
    plot::loss_curves(&dir.join("losses.png"), &runs)
}

fn write_report(
    dir: &Path,
    settings: &ShowcaseSettings,
    device: Device,
    summaries: &[(&str, &TrainingSummary)],
    results: &Results<'_>,
) -> Result<()> {
    let (reports, gmm_report, abc_seconds) = (results.reports, results.gmm_report, results.abc_seconds);
    let mut text = String::new();
    let _ = writeln!(text, "# innfer main job\n");
    let _ = writeln!(
        text,
        "innfer {} on libtorch {}, device {}, preset {:?}, seed {}.\n",
        env!("CARGO_PKG_VERSION"),
        innfer::LIBTORCH_VERSION,
        innfer::device::describe(device),
        settings.preset,
        settings.seed
    );
    let _ = writeln!(text, "## Training\n\nEach training stops after a fixed number of steps, so that the same seed gives the same numbers on any machine of the same kind with the same number of threads (the seconds depend on its speed).\n");
    let _ = writeln!(text, "| run | steps | seconds | device | final losses |\n|---|---|---|---|---|");
    for (run, summary) in summaries {
        let losses: Vec<String> = summary.final_losses.iter().map(|(k, v)| format!("{k} {v:.4}")).collect();
        let _ =
            writeln!(text, "| [{run}]({run}/) | {} | {:.1} | {} | {} |", summary.steps, summary.seconds, summary.device, losses.join(", "));
    }
    let _ = writeln!(text, "\n![training curves](losses.png)\n");
    let _ = writeln!(text, "## Eight-mode Gaussian mixture (`some` labels), paper's INN\n\n![gmm](gmm.png)\n");
    let _ = writeln!(text, "{}", gmm_report.markdown());
    let _ = writeln!(text, "CSV: [forward predictions](gmm-forward.csv), [inverse samples](gmm-inverse.csv).\n");
    let _ = writeln!(text, "## Inverse kinematics, nine targets\n");
    let _ = writeln!(
        text,
        "Reference: rejection ABC keeping the {SAMPLES} nearest of {:.0e} prior draws per target.\n",
        settings.abc_draws as f64
    );
    let _ = writeln!(text, "| method | mismatch (MMD²) | re-sim error | calibration median abs error (x1/x2/x3/x4) | seconds per 4000 samples |\n|---|---|---|---|---|");
    for report in reports {
        let calibration: Vec<String> = report.calibration.median_abs_error.iter().map(|v| format!("{v:.3}")).collect();
        let _ = writeln!(
            text,
            "| {} | {:.4} | {:.4} | {} | {:.4} |",
            model_title(report.model),
            report.mean_mismatch,
            report.mean_resim_model,
            calibration.join(" / "),
            report.model_seconds_per_4000
        );
    }
    if let Some(report) = reports.first() {
        let _ = writeln!(
            text,
            "| rejection ABC | {:.4} (floor: two halves of the reference) | {:.4} | – | {abc_seconds:.2} |",
            report.mean_floor, report.mean_resim_abc
        );
    }
    let _ = writeln!(text, "\nMismatch and floor: MMD² with inverse multiquadric kernels (widths 0.05, 0.2, 0.9), 2000 samples each; calibration over 1000 (x, y) pairs of the joint.\n");
    for (file, title) in [("inn", "INN (paper's method)"), ("cinn", "Conditional INN"), ("abc", "Rejection ABC")] {
        let _ = writeln!(text, "### {title}\n\n![{file}](arms-{file}.png)\n\nSamples: [kinematics-{file}.csv](kinematics-{file}.csv)\n");
    }
    calibration_section(&mut text, results.checks);
    let path = dir.join("report.md");
    write_text_atomically(&path, &text)
}
