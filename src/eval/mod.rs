//! Evaluation of a trained model against rejection ABC, with the literature's yardsticks.

pub mod c2st;
pub mod check;
pub mod metrics;
pub mod nll;

use std::time::Instant;

use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

pub use metrics::{calibration, mode_scores, posterior_mismatch, resimulation_error, Calibration, ModeScores};

use crate::abc::{rejection_abc, AbcSamples, Acceptance, DEFAULT_CHUNK};
use crate::error::{Error, Result};
use crate::model::{Model, ModelKind};
use crate::problem::gmm::GaussianMixture;
use crate::problem::Problem;
use crate::sample::{group_by_observation, posterior, predict_y, rows_of_observation};

/// How much evaluation to do.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EvalSettings {
    /// Model samples per target (re-simulation error, timing); the first 2000 enter the mismatch.
    pub posterior_samples: i64,
    /// Prior draws of the ABC reference computed on the fly.
    pub abc_draws: i64,
    /// Accepted draws per target of that reference (split in two halves: reference and floor).
    pub abc_keep: i64,
    /// (x, y) pairs for the calibration error.
    pub calibration_pairs: i64,
    /// Posterior samples per calibration pair.
    pub calibration_samples: i64,
}

impl Default for EvalSettings {
    fn default() -> Self {
        EvalSettings { posterior_samples: 4000, abc_draws: 100_000_000, abc_keep: 4000, calibration_pairs: 1000, calibration_samples: 500 }
    }
}

/// Results for one target y*.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetResult {
    /// The target.
    pub y: Vec<f64>,
    /// MMD² between model samples and the reference.
    pub mismatch: f64,
    /// MMD² between the two halves of the reference.
    pub floor: f64,
    /// Re-simulation error of the model's samples.
    pub resim_model: f64,
    /// Re-simulation error of the reference samples.
    pub resim_abc: f64,
}

/// The mixture's own scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MixtureReport {
    /// Share of test points whose predicted colour (argmax) is right (the INN only).
    pub forward_accuracy: Option<f64>,
    /// Precision and recall of inverse samples per colour.
    pub colours: Vec<ModeScores>,
}

/// Everything `innfer eval` measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// The model kind.
    pub model: ModelKind,
    /// Per-target results.
    pub targets: Vec<TargetResult>,
    /// Means over targets.
    pub mean_mismatch: f64,
    /// Mean floor.
    pub mean_floor: f64,
    /// Mean model re-simulation error.
    pub mean_resim_model: f64,
    /// Mean reference re-simulation error.
    pub mean_resim_abc: f64,
    /// Calibration of the model's posteriors.
    pub calibration: Calibration,
    /// Model: seconds per 4000 posterior samples of one target.
    pub model_seconds_per_4000: f64,
    /// ABC: seconds per target for its 4000-sample reference (None when the reference was given).
    pub abc_seconds_per_target: Option<f64>,
    /// Prior draws of the on-the-fly reference.
    pub abc_draws: Option<i64>,
    /// Mixture scores, for gmm.
    pub mixture: Option<MixtureReport>,
    /// The settings used.
    pub settings: EvalSettings,
}

/// Reference samples of each target, rows of x: from a given ABC run or computed now.
pub type Reference = Vec<Tensor>;

/// Splits ABC samples by observation.
pub fn split_by_observation(samples: &AbcSamples, observations: i64) -> Reference {
    group_by_observation(&samples.x, &samples.obs, observations)
}

/// Evaluates `model` on `targets` (raw y*, [m, dim_y]) against `reference` (computed with ABC when
/// None). `on_stage` is told what is being done.
pub fn evaluate(
    model: &Model,
    problem: &dyn Problem,
    targets: &Tensor,
    reference: Option<Reference>,
    settings: &EvalSettings,
    on_stage: &mut dyn FnMut(&str),
) -> Result<EvalReport> {
    let device = model.device();
    let targets = targets.to_device(device).to_kind(Kind::Float);
    let m = targets.size()[0];
    let _guard = tch::no_grad_guard();

    on_stage("sampling the model");
    let started = Instant::now();
    let (samples, obs) = posterior(model, &targets, settings.posterior_samples)?;
    let _ = samples.sum(Kind::Float).double_value(&[]); // wait for the device before reading the clock
    let model_seconds = started.elapsed().as_secs_f64() / m as f64 * (4000.0 / settings.posterior_samples as f64);

    let (reference, abc_seconds) = match reference {
        Some(reference) => (reference, None),
        None => {
            on_stage("computing the ABC reference");
            let started = Instant::now();
            let abc = rejection_abc(
                problem,
                &targets,
                settings.abc_draws,
                Acceptance::Nearest(settings.abc_keep),
                DEFAULT_CHUNK,
                device,
                &mut |_| {},
            )?;
            (split_by_observation(&abc, m), Some(started.elapsed().as_secs_f64() / m as f64))
        }
    };
    if reference.len() as i64 != m {
        return Err(Error::invalid(format!("the reference has {} observations, the evaluation {m}", reference.len())));
    }

    on_stage("measuring");
    let mut results = Vec::new();
    for (index, reference) in reference.iter().enumerate() {
        let rows = reference.size()[0];
        if rows < 4 {
            return Err(Error::invalid(format!("the reference of observation {index} has only {rows} samples")));
        }
        let target = targets.get(index as i64);
        let own = rows_of_observation(&samples, &obs, index as i64);
        let shuffled = reference.index_select(0, &Tensor::randperm(rows, (Kind::Int64, device)));
        let half = (rows / 2).min(2000);
        let (first, second) = (shuffled.narrow(0, 0, half), shuffled.narrow(0, half, half));
        results.push(TargetResult {
            y: Vec::<f64>::try_from(target.to_kind(Kind::Double))?,
            mismatch: posterior_mismatch(&own.narrow(0, 0, own.size()[0].min(2000)), &first),
            floor: posterior_mismatch(&first, &second),
            resim_model: resimulation_error(problem, &own, &target)?,
            resim_abc: resimulation_error(problem, reference, &target)?,
        });
    }
    let mean = |f: fn(&TargetResult) -> f64| results.iter().map(f).sum::<f64>() / results.len().max(1) as f64;

    on_stage("calibration");
    let (truth, y) = problem.sample_joint(settings.calibration_pairs, device)?;
    let (pair_samples, _) = posterior(model, &y, settings.calibration_samples)?;
    let pair_samples = pair_samples.view([settings.calibration_pairs, settings.calibration_samples, -1]);
    let calibration = calibration(&pair_samples, &truth);

    let mixture = match problem.info().name.as_str() {
        "gmm" => Some(mixture_report(model, problem, device)?),
        _ => None,
    };
    Ok(EvalReport {
        model: model.spec.kind,
        mean_mismatch: mean(|r| r.mismatch),
        mean_floor: mean(|r| r.floor),
        mean_resim_model: mean(|r| r.resim_model),
        mean_resim_abc: mean(|r| r.resim_abc),
        targets: results,
        calibration,
        model_seconds_per_4000: model_seconds,
        abc_seconds_per_target: abc_seconds,
        abc_draws: abc_seconds.map(|_| settings.abc_draws),
        mixture,
        settings: *settings,
    })
}

/// Forward accuracy and per-colour precision and recall on the mixture.
fn mixture_report(model: &Model, problem: &dyn Problem, device: Device) -> Result<MixtureReport> {
    let info = problem.info();
    let labels = info.options.get("labels").map_or(Ok(crate::problem::gmm::LabelMap::Some), |l| l.parse())?;
    let mixture = GaussianMixture::new(labels);
    let forward_accuracy = match model.spec.kind {
        ModelKind::Inn => {
            let (x, y) = problem.sample_joint(10_000, device)?;
            let predicted = predict_y(model, &x)?.argmax(1, false);
            Some(predicted.eq_tensor(&y.argmax(1, false)).to_kind(Kind::Double).mean(Kind::Double).double_value(&[]))
        }
        ModelKind::Cinn => None,
    };
    let colours = labels.used_colours();
    let one_hot = Tensor::arange(colours, (Kind::Int64, device)).one_hot(model.spec.dims.y).to_kind(Kind::Float);
    let (samples, obs) = posterior(model, &one_hot, 4000)?;
    let colours = (0..colours).map(|colour| mode_scores(&mixture, &rows_of_observation(&samples, &obs, colour), colour)).collect();
    Ok(MixtureReport { forward_accuracy, colours })
}

impl EvalReport {
    /// A short markdown table of the results.
    pub fn markdown(&self) -> String {
        let calibration = |values: &[f64]| values.iter().map(|v| format!("{v:.3}")).collect::<Vec<_>>().join(" / ");
        let mut text = String::new();
        text.push_str("| method | mismatch (MMD²) | re-sim error | calibration median abs error | calibration error at q=0.68 | seconds per 4000 samples |\n");
        text.push_str("|---|---|---|---|---|---|\n");
        text.push_str(&format!(
            "| {} | {:.4} | {:.4} | {} | {} | {:.4} |\n",
            self.model,
            self.mean_mismatch,
            self.mean_resim_model,
            calibration(&self.calibration.median_abs_error),
            calibration(&self.calibration.error_at_68),
            self.model_seconds_per_4000
        ));
        text.push_str(&format!(
            "| ABC reference | {:.4} (floor) | {:.4} | – | – | {} |\n",
            self.mean_floor,
            self.mean_resim_abc,
            self.abc_seconds_per_target.map_or("given".to_string(), |s| format!("{s:.2}"))
        ));
        if let Some(mixture) = &self.mixture {
            text.push('\n');
            if let Some(accuracy) = mixture.forward_accuracy {
                text.push_str(&format!("Forward accuracy: {:.2}%\n\n", accuracy * 100.0));
            }
            text.push_str("| colour | precision | recall |\n|---|---|---|\n");
            for scores in &mixture.colours {
                text.push_str(&format!("| {} | {:.2}% | {:.0}% |\n", scores.colour, scores.precision * 100.0, scores.recall * 100.0));
            }
        }
        text
    }
}
