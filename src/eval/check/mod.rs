//! Calibration checks of posterior draws against known truths: simulation-based calibration, expected
//! coverage, TARP, z-scores and contraction, and a posterior predictive check. They need no reference
//! posterior, only pairs (θ*, y) from the joint and draws of q(θ | y) for each.

pub mod predictive;
pub mod ranks;
mod report;
pub mod uniformity;
pub mod zscore;

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

pub use predictive::{predictive_check, Predictive};
pub use report::CHECK_FILES;
pub use uniformity::{even_grid, test_uniformity, Band, Uniformity};
pub use zscore::{pair_scores, PairScores, ZScoreSummary};

use crate::error::{Error, Result};
use crate::model::{Model, ModelKind};
use crate::problem::Problem;
use crate::sample::{log_density, posterior};

/// Below this p-value (divided among the parameters) a check flags a posterior.
pub const SIGNIFICANCE: f64 = 0.01;
/// Grid points of the SBC rank ECDF.
const RANK_GRID: usize = 99;
/// Fewest pairs a check accepts.
pub const MIN_PAIRS: i64 = 10;

/// Refuses fewer than [`MIN_PAIRS`] pairs.
fn require_pairs(pairs: i64) -> Result<()> {
    match pairs < MIN_PAIRS {
        true => Err(Error::invalid(format!("a calibration check needs at least {MIN_PAIRS} pairs, not {pairs}"))),
        false => Ok(()),
    }
}

/// Nominal levels of the coverage and TARP curves: 0.05, 0.10, …, 0.95.
pub fn coverage_levels() -> Vec<f64> {
    (1..20).map(|i| i as f64 * 0.05).collect()
}

/// What a check says about the posterior.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// No departure found.
    Calibrated,
    /// Too narrow: truths fall outside the draws more often than they should.
    OverConfident,
    /// Too wide: truths fall in the middle of the draws more often than they should.
    UnderConfident,
    /// Off-centre: truths fall on one side of the draws.
    Biased,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Calibrated => "calibrated",
            Verdict::OverConfident => "over-confident",
            Verdict::UnderConfident => "under-confident",
            Verdict::Biased => "biased",
        })
    }
}

/// The verdict of a departure whose strength as bias and as spread are `bias` and `spread` (in standard
/// errors; spread positive when too narrow), flagged or not by `p_value` against `threshold`.
fn verdict_of(p_value: f64, threshold: f64, bias: f64, spread: f64) -> Verdict {
    if p_value >= threshold {
        Verdict::Calibrated
    } else if bias.abs() >= spread.abs() {
        Verdict::Biased
    } else if spread > 0.0 {
        Verdict::OverConfident
    } else {
        Verdict::UnderConfident
    }
}

/// The check's verdict: that of its most significant flagged curve, or calibrated.
fn overall<'a>(flagged: impl Iterator<Item = (f64, Verdict)> + 'a) -> Verdict {
    flagged
        .filter(|(_, verdict)| *verdict != Verdict::Calibrated)
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map_or(Verdict::Calibrated, |(_, v)| v)
}

/// One curve of a uniformity check: a parameter, or all of them jointly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Curve {
    /// The parameter's name, or `joint`.
    pub name: String,
    /// The test of its values.
    pub test: Uniformity,
    /// What it says.
    pub verdict: Verdict,
}

/// A check whose values are uniform on [0, 1] for a calibrated posterior.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UniformityCheck {
    /// The simultaneous 95% band of ECDF − uniform.
    pub band: Band,
    /// One curve per parameter (or one joint curve).
    pub curves: Vec<Curve>,
    /// The check's verdict.
    pub verdict: Verdict,
    /// The rule that decided it.
    pub rule: String,
}

/// How coverage is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Region {
    /// The model's own highest-density regions (a cINN, whose density is exact).
    HighestDensity,
    /// Central intervals of each parameter's marginal draws (no density needed).
    CentralIntervals,
}

/// Expected coverage: at each nominal level α, the share of truths inside their α-region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// The kind of region.
    pub region: Region,
    /// The check of the levels at which the truths enter their regions (coverage(α) − α is each
    /// curve's ECDF difference at α).
    pub check: UniformityCheck,
}

/// z-scores and contraction per parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZScoreCheck {
    /// One summary per parameter.
    pub parameters: Vec<ZScoreSummary>,
    /// What each says.
    pub verdicts: Vec<Verdict>,
    /// The check's verdict.
    pub verdict: Verdict,
    /// The rule that decided it.
    pub rule: String,
}

/// Everything `innfer check` measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckReport {
    /// Pairs (θ*, y) checked.
    pub pairs: i64,
    /// Posterior draws per pair.
    pub draws: i64,
    /// The parameters, in column order.
    pub parameters: Vec<String>,
    /// Simulation-based calibration: each truth's rank among its draws, per parameter.
    pub sbc: UniformityCheck,
    /// Expected coverage.
    pub coverage: Coverage,
    /// TARP: coverage of balls around random reference points, all parameters jointly.
    pub tarp: UniformityCheck,
    /// Posterior z-scores and contraction.
    pub z_scores: ZScoreCheck,
    /// The forward process of the draws against y (when there is one).
    pub predictive: Option<Predictive>,
    /// Per parameter, each pair's (contraction, z-score), for the picture.
    #[serde(skip)]
    pub scatter: Vec<Vec<(f64, f64)>>,
}

/// Draws of posteriors for pairs with known truths.
pub struct Draws<'a> {
    /// Names of the parameters.
    pub names: &'a [String],
    /// True parameters [N, P].
    pub truth: &'a Tensor,
    /// Posterior draws [N, L, P] (L for each pair).
    pub draws: &'a Tensor,
    /// The model's log density of each truth [N] and of each draw [N, L], when it has one.
    pub log_density: Option<(Tensor, Tensor)>,
}

impl Draws<'_> {
    fn validate(&self) -> Result<()> {
        let (truth, draws) = (self.truth.size(), self.draws.size());
        let parameters = self.names.len() as i64;
        if truth.len() != 2 || draws.len() != 3 || truth[0] != draws[0] || truth[1] != parameters || draws[2] != parameters {
            return Err(Error::invalid(format!(
                "truths {truth:?} and draws {draws:?} do not match: expected [N, {parameters}] and [N, L, {parameters}]"
            )));
        }
        require_pairs(truth[0])?;
        if draws[1] < 2 {
            return Err(Error::invalid(format!(
                "a calibration check needs at least two posterior draws per pair (z-scores need their spread), not {}",
                draws[1]
            )));
        }
        for (what, tensor) in [("true parameters", self.truth), ("posterior draws", self.draws)] {
            if !bool::try_from(tensor.isfinite().all())? {
                return Err(Error::invalid(format!("the {what} hold non-finite values")));
            }
        }
        Ok(())
    }
}

/// Runs every check but the predictive one on `draws`.
pub fn check_draws(draws: &Draws<'_>) -> Result<CheckReport> {
    draws.validate()?;
    let _no_grad = tch::no_grad_guard();
    let (pairs, per_pair) = (draws.draws.size()[0], draws.draws.size()[1]);
    let parameters = draws.names.len();
    let threshold = SIGNIFICANCE / parameters as f64;
    let names = draws.names;

    let parameter_ranks = ranks::parameter_ranks(draws.draws, draws.truth);
    let (band, tests) = test_uniformity(&parameter_ranks, &even_grid(RANK_GRID));
    let curves: Vec<Curve> = names
        .iter()
        .zip(tests)
        .map(|(name, test)| {
            let verdict = verdict_of(test.p_value, threshold, test.mean_score(pairs), test.spread_score(pairs));
            Curve { name: name.clone(), test, verdict }
        })
        .collect();
    let sbc = UniformityCheck {
        band,
        verdict: overall(curves.iter().map(|c| (c.test.p_value, c.verdict))),
        curves,
        rule: format!(
            "a parameter is flagged when its rank ECDF departs from the uniform with p < {SIGNIFICANCE}/{parameters} (simultaneous \
             ECDF test, Bonferroni over the parameters); it is biased when its mean rank departs from 1/2 by more standard errors \
             than its rank variance departs from 1/12, else over-confident when the ranks crowd at both ends (variance above 1/12) \
             and under-confident when they crowd in the middle; the check takes the verdict of its smallest p-value"
        ),
    };

    let coverage = coverage_check(draws, &sbc, &parameter_ranks, threshold);

    let (band, mut tests) = test_uniformity(&ranks::tarp_levels(draws.draws, draws.truth), &coverage_levels());
    let test = tests.remove(0);
    // Too narrow a posterior puts its draws nearer the reference than the truth (levels above ½, in
    // many dimensions) or pushes the levels to both ends (in few): either way, over-confident.
    let verdict = verdict_of(test.p_value, SIGNIFICANCE, 0.0, test.mean_score(pairs) + test.spread_score(pairs));
    let tarp = UniformityCheck {
        band,
        verdict,
        curves: vec![Curve { name: "joint".into(), test, verdict }],
        rule: format!(
            "flagged when the expected coverage of balls around random reference points departs from the diagonal with \
             p < {SIGNIFICANCE} (simultaneous ECDF test of the TARP levels); over-confident when the levels sit above ½ or crowd \
             at both ends (their mean and variance scores sum above 0), else under-confident; TARP cannot tell a bias from \
             a wrong width (a shifted posterior reads as over- or under-confident, depending on the dimension)"
        ),
    };

    let scores = pair_scores(draws.draws, draws.truth);
    let scatter = scatter_of(&scores)?;
    let parameters_z = zscore::summarise(&scores);
    let verdicts: Vec<Verdict> = parameters_z.iter().map(|s| verdict_of(s.p_value, threshold, s.bias_score, s.spread_score)).collect();
    let z_scores = ZScoreCheck {
        verdict: overall(parameters_z.iter().map(|s| s.p_value).zip(verdicts.iter().copied())),
        parameters: parameters_z,
        verdicts,
        rule: format!(
            "a parameter is flagged when its mean z-score departs from 0, or its mean squared z-score from 1, with \
             p < {SIGNIFICANCE}/{parameters} (normal tests, Bonferroni); biased when the mean departs by more standard errors, \
             else over-confident when mean z² is above 1 and under-confident when below"
        ),
    };
    Ok(CheckReport { pairs, draws: per_pair, parameters: names.to_vec(), sbc, coverage, tarp, z_scores, predictive: None, scatter })
}

/// Per parameter, each pair's (contraction, z-score).
fn scatter_of(scores: &PairScores) -> Result<Vec<Vec<(f64, f64)>>> {
    let contraction = Vec::<Vec<f64>>::try_from(scores.contraction.transpose(0, 1).contiguous())?;
    let z = Vec::<Vec<f64>>::try_from(scores.z.transpose(0, 1).contiguous())?;
    Ok(contraction.into_iter().zip(z).map(|(c, z)| c.into_iter().zip(z).collect()).collect())
}

/// Expected coverage: of the model's highest-density regions when it has a density, else of central
/// intervals per parameter (whose misses on one side, seen in the ranks, make a bias).
fn coverage_check(draws: &Draws<'_>, sbc: &UniformityCheck, parameter_ranks: &Tensor, threshold: f64) -> Coverage {
    let levels = coverage_levels();
    let pairs = draws.truth.size()[0];
    // A level above 1/2 on average means truths outside their regions: over-confident.
    let named = |name: &str, test: Uniformity, threshold: f64, bias: f64| {
        let spread = test.mean_score(pairs);
        Curve { name: name.to_string(), verdict: verdict_of(test.p_value, threshold, bias, spread), test }
    };
    let (region, band, curves) = match &draws.log_density {
        Some((truth_density, draws_density)) => {
            let (band, mut tests) = test_uniformity(&ranks::density_levels(truth_density, draws_density), &levels);
            (Region::HighestDensity, band, vec![named("joint", tests.remove(0), SIGNIFICANCE, 0.0)])
        }
        None => {
            let (band, tests) = test_uniformity(&ranks::central_interval_levels(parameter_ranks), &levels);
            let curves = sbc
                .curves
                .iter()
                .zip(tests)
                // Misses on one side show as a bias of the parameter's ranks.
                .map(|(rank, test)| named(&rank.name, test, threshold, rank.test.mean_score(pairs)))
                .collect();
            (Region::CentralIntervals, band, curves)
        }
    };
    let rule = match region {
        Region::HighestDensity => format!(
            "flagged when the share of truths inside the model's α-highest-density region departs from α with p < {SIGNIFICANCE} \
             (simultaneous ECDF test of the density levels); over-confident when truths fall outside more often than they should, \
             under-confident when less"
        ),
        Region::CentralIntervals => format!(
            "central intervals per parameter (the model has no tractable density); a parameter is flagged when its coverage \
             departs from α with p < {SIGNIFICANCE}/{} (simultaneous ECDF test, Bonferroni); biased when its misses fall on one \
             side (its SBC mean rank departs more than its interval levels do), else over-confident when truths fall outside \
             more often than they should, under-confident when less",
            draws.names.len()
        ),
    };
    let check = UniformityCheck { band, verdict: overall(curves.iter().map(|c| (c.test.p_value, c.verdict))), curves, rule };
    Coverage { region, check }
}

/// How many posterior draws a model check takes per pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckDraws {
    /// Posterior draws per pair.
    pub per_pair: i64,
    /// Of those, draws sent through the forward process (0: no predictive check).
    pub predictive: i64,
}

/// Pairs a check draws from the joint by default.
pub const DEFAULT_PAIRS: i64 = 1000;
/// Posterior draws per pair by default.
pub const DEFAULT_DRAWS: i64 = 1000;
/// Draws per pair sent through the forward process by default.
pub const DEFAULT_PREDICTIVE_DRAWS: i64 = 100;

impl Default for CheckDraws {
    fn default() -> Self {
        CheckDraws { per_pair: DEFAULT_DRAWS, predictive: DEFAULT_PREDICTIVE_DRAWS }
    }
}

/// Draws `draws.per_pair` posterior samples of `model` for each observation `y` [N, dim_y] of the pairs
/// with truths `truth` [N, P], with the model's log densities when it is a cINN, and checks them;
/// with a `problem` whose forward process runs, also the posterior predictive check.
pub fn check_model(
    model: &Model,
    names: &[String],
    truth: &Tensor,
    y: &Tensor,
    draws: CheckDraws,
    problem: Option<&dyn Problem>,
) -> Result<CheckReport> {
    let _no_grad = tch::no_grad_guard();
    let pairs = truth.size()[0];
    require_pairs(pairs)?;
    let device = model.device();
    let (truth, y) = (truth.to_device(device).to_kind(Kind::Float), y.to_device(device).to_kind(Kind::Float));
    let (samples, _) = posterior(model, &y, draws.per_pair)?;
    let samples = samples.view([pairs, draws.per_pair, -1]);
    let log_density = match model.spec.kind {
        ModelKind::Cinn => {
            let repeated = y.repeat_interleave_self_int(draws.per_pair, 0, None);
            let of_draws = log_density(model, &samples.view([pairs * draws.per_pair, -1]), &repeated)?.view([pairs, draws.per_pair]);
            Some((log_density(model, &truth, &y)?, of_draws))
        }
        ModelKind::Inn => None,
    };
    let mut report = check_draws(&Draws { names, truth: &truth, draws: &samples, log_density })?;
    if let (Some(problem), true) = (problem, draws.predictive > 0) {
        report.predictive = Some(predictive_check(problem, &truth, &y, &samples, draws.predictive)?);
    }
    Ok(report)
}
