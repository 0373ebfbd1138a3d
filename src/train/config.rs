//! Training settings and the per-problem presets.

use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{parse_choice, Error, Result};
use crate::loss::TRAINING_WIDTHS;
use crate::model::coupling::{clamp_in_range, MAX_CLAMP, MIN_CLAMP};
use crate::model::{BlockConfig, CouplingKind, ModelKind, SummaryKind, SummarySpec, DEFAULT_BINS, MAX_MEMBERS};

/// When training stops: whichever limit comes first. At least one must be set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Stop {
    /// Optimiser steps.
    pub steps: Option<u64>,
    /// Passes over the training set.
    pub epochs: Option<f64>,
    /// Wall-clock time.
    #[serde(with = "humantime_serde_option")]
    pub budget: Option<Duration>,
}

impl Stop {
    /// Checks that there is a limit and that each limit given can be reached.
    pub fn validate(&self) -> Result<()> {
        if self.steps.is_none() && self.epochs.is_none() && self.budget.is_none() {
            return Err(Error::invalid("training needs a limit: --steps, --epochs or --budget"));
        }
        if self.steps == Some(0) {
            return Err(Error::invalid("--steps must be at least 1"));
        }
        if let Some(epochs) = self.epochs.filter(|epochs| !(epochs.is_finite() && *epochs > 0.0)) {
            return Err(Error::invalid(format!("--epochs must be a positive number, not {epochs}")));
        }
        if self.budget.is_some_and(|budget| budget.is_zero()) {
            return Err(Error::invalid("--budget must be longer than zero"));
        }
        Ok(())
    }
}

mod humantime_serde_option {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<Duration>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(duration) => serializer.serialize_some(&humantime::format_duration(*duration).to_string()),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Duration>, D::Error> {
        let text: Option<String> = Option::deserialize(deserializer)?;
        text.map(|text| humantime::parse_duration(&text).map_err(serde::de::Error::custom)).transpose()
    }
}

/// What the cINN takes on a simulation budget unless told otherwise, per problem: each choice is the
/// one that lowers the held-out loss by more than 0.05 nats on average over seeds at each budget
/// measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct BudgetDefaults {
    /// The coupling: splines, except affine GLOW blocks for the Bernoulli GLM (summarised or raw)
    /// (docs/experiments.md, "affine blocks for the Bernoulli GLM").
    coupling: CouplingKind,
    /// The fewest simulations with which the cINN takes the linear regression head: any number,
    /// but 5000 for slcp and slcp_distractors (without the head at 10^3, with it at 10^4) and none
    /// for sir and lotka_volterra, whose flows do better on standardised x itself
    /// (docs/experiments.md, "the regression head per task").
    head_from: i64,
    /// The fewest simulations with which the cINN conditions on a summary network (`--summary mlp`)
    /// when the problem has none of its own: 5000 for slcp_distractors, whose flow finds slcp's eight
    /// values among 92 distractors better through one at 10^4 but not at 10^3, and never for the
    /// others (docs/experiments.md, "a summary network for slcp_distractors at 10^4").
    summary_from: i64,
}

impl BudgetDefaults {
    /// The defaults of `problem`.
    fn of(problem: &str) -> Self {
        BudgetDefaults {
            coupling: match problem {
                "bernoulli_glm" | "bernoulli_glm_raw" => CouplingKind::Glow,
                _ => CouplingKind::Spline,
            },
            head_from: match problem {
                "slcp" | "slcp_distractors" => 5000,
                "sir" | "lotka_volterra" => i64::MAX,
                _ => 0,
            },
            summary_from: match problem {
                "slcp_distractors" => 5000,
                _ => i64::MAX,
            },
        }
    }
}

impl Default for BudgetDefaults {
    /// Those of a configuration read back without its problem's: splines, the regression head, and
    /// no summary network of the budget's own.
    fn default() -> Self {
        BudgetDefaults { coupling: CouplingKind::Spline, head_from: 0, summary_from: i64::MAX }
    }
}

/// Weights of the loss terms of the paper's bidirectional training.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LossWeights {
    /// L_y: fit of the predicted y (and padding outputs to zero).
    pub y: f64,
    /// L_z: MMD of [z, y] against [N(0, I), y].
    pub z: f64,
    /// L_x: MMD of inverse samples against the prior (ramped up over training).
    pub x: f64,
    /// Reconstruction of x from the network's own [z, y].
    pub reconstruction: f64,
    /// L_ml: negative log-likelihood of padded x through the forward pass, per dimension, with
    /// z ~ N(0, I), the padding outputs ~ N(0, pad_noise²) and the y outputs ~ N(y, y_noise²).
    #[serde(default)]
    pub likelihood: f64,
}

impl LossWeights {
    /// The paper's MMD training: L_y 3, L_z 300, L_x 400, reconstruction 3.
    pub const PAPER: LossWeights = LossWeights { y: 3.0, z: 300.0, x: 400.0, reconstruction: 3.0, likelihood: 0.0 };
    /// Training by likelihood alone (L_ml 1): the INN presets (docs/experiments.md, "the mixture INN
    /// trained by likelihood").
    pub const LIKELIHOOD: LossWeights = LossWeights { y: 0.0, z: 0.0, x: 0.0, reconstruction: 0.0, likelihood: 1.0 };
}

/// Which losses train the paper's INN: its own MMD losses, or the likelihood.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LossSet {
    /// [`LossWeights::LIKELIHOOD`].
    Likelihood,
    /// [`LossWeights::PAPER`].
    Paper,
}

impl FromStr for LossSet {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        parse_choice(text, "losses", &["likelihood", "paper"])
    }
}

impl LossSet {
    /// The weights of the set.
    pub fn weights(self) -> LossWeights {
        match self {
            LossSet::Likelihood => LossWeights::LIKELIHOOD,
            LossSet::Paper => LossWeights::PAPER,
        }
    }
}

/// Everything training needs besides the problem and the device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Seed of every random choice of training: data, initial weights, order, noise.
    #[serde(default)]
    pub seed: u64,
    /// INN (the paper's) or cINN.
    pub model: ModelKind,
    /// Number of coupling blocks.
    pub blocks: usize,
    /// Shape of each block.
    pub block: BlockConfig,
    /// Width of the INN's latent z and of the whole network (ignored by the cINN).
    pub inn_widths: Option<(i64, i64)>,
    /// Rows per step.
    pub batch: i64,
    /// Initial learning rate of Adam.
    pub lr: f64,
    /// Learning rate at the end of training, as a fraction of the initial one (exponential decay).
    pub lr_end_factor: f64,
    /// Adam weight decay.
    pub weight_decay: f64,
    /// Adam's decays of its running means of gradients and of squared gradients.
    #[serde(default = "default_adam_betas")]
    pub adam_betas: (f64, f64),
    /// Gradient norm clip (0: none).
    pub grad_clip: f64,
    /// Elementwise clamp of every gradient entry to ±this, before the norm clip (the official
    /// mixture code clamps to 15 and clips no norm).
    #[serde(default)]
    pub grad_clamp: Option<f64>,
    /// Initialise every parameter as this scale times N(0, 1) (the official mixture code: 0.05)
    /// instead of coupling blocks that start as the identity.
    #[serde(default)]
    pub init_scale: Option<f64>,
    /// Size of the generated training set.
    pub samples: i64,
    /// Draw fresh samples every step instead of a fixed training set.
    pub fresh: bool,
    /// Train on exactly this many simulations (a fixed set, part of it held out), as in sbibm. Set
    /// only by [`TrainConfig::use_simulations`], with what was measured best for such budgets, so
    /// that every caller gets the model the command line gets; read with
    /// [`TrainConfig::simulations`].
    #[serde(default)]
    pub(super) simulations: Option<i64>,
    /// Share of the simulations held out to validate, with `simulations`.
    #[serde(default)]
    pub validation: f64,
    /// Stop when the held-out loss has not improved for this many epochs (needs held-out rows).
    #[serde(default)]
    pub patience: Option<f64>,
    /// Keep an exponential moving average of the weights with this decay per step, and save and
    /// return it instead of the last weights.
    #[serde(default)]
    pub weight_average: Option<f64>,
    /// When to stop.
    pub stop: Stop,
    /// Loss weights of the bidirectional training.
    pub losses: LossWeights,
    /// Widths of the inverse multiquadric kernels of the MMD losses.
    pub kernel_widths: Vec<f64>,
    /// Standard deviation of the noise added to (standardised) y during training.
    pub y_noise: f64,
    /// Standard deviation of the noise in padding columns during training.
    pub pad_noise: f64,
    /// The INN's noises (y and padding) start this many times wider and shrink geometrically to
    /// their values over the first half of training (1: constant).
    #[serde(default = "no_noise_anneal")]
    pub noise_anneal: f64,
    /// Standardise x and y with training-set statistics.
    pub standardise: bool,
    /// cINN: keep posterior samples inside the box the problem's prior lies in (drawing again for
    /// those outside).
    #[serde(default)]
    pub bounded: bool,
    /// cINN: model the residual of (standardised) x after a linear regression on y.
    #[serde(default)]
    pub regression: bool,
    /// cINN: a summary network of y trained with the flow, whose output conditions it.
    #[serde(default)]
    pub summary: Option<SummaryConfig>,
    /// cINN: networks trained side by side from their own initial weights, on the same batches;
    /// the model's density is the mixture of theirs (1: a single network).
    #[serde(default = "crate::model::member::one_member")]
    pub members: usize,
    /// Standardise the logarithms of the columns the problem declares log-scaled (positive,
    /// log-normal), with `standardise`.
    #[serde(default)]
    pub log_scale: bool,
    /// Steps between reading the losses back (one host–device synchronisation each).
    pub log_every: u64,
    /// Time between checkpoints during training.
    #[serde(with = "humantime_serde")]
    pub checkpoint_every: Duration,
    /// The cINN's coupling (when [`TrainConfig::use_simulations`] is not told one) and regression
    /// head on a simulation budget: the problem's, set by the preset.
    #[serde(skip)]
    pub(super) budget: BudgetDefaults,
}

/// A summary network as the command line chooses it (its output width defaults to the problem's).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SummaryConfig {
    /// Which network.
    pub kind: SummaryKind,
    /// Width of its hidden layers.
    pub width: i64,
    /// Width of its output (default: [`SummarySpec::default_outputs`]).
    pub outputs: Option<i64>,
}

impl SummaryConfig {
    /// Width of the hidden layers unless told otherwise.
    pub const DEFAULT_WIDTH: i64 = 64;

    /// The network's shape for x of width `x` and y of width `y`.
    pub fn spec(&self, x: i64, y: i64) -> SummarySpec {
        SummarySpec { kind: self.kind, width: self.width, outputs: self.outputs.unwrap_or_else(|| SummarySpec::default_outputs(x, y)) }
    }
}

/// Constant noises.
fn no_noise_anneal() -> f64 {
    1.0
}

/// Adam's usual decays (0.9, 0.999).
fn default_adam_betas() -> (f64, f64) {
    (0.9, 0.999)
}

mod humantime_serde {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&humantime::format_duration(*value).to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        humantime::parse_duration(&String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// Steps of the quick presets: the paper's INN (kinematics and the rest), the mixture's INN, and the
/// cINN. On 2 CPU cores the main job's three trainings take about 6 minutes (docs/experiments.md).
pub const INN_STEPS: u64 = 4000;
/// See [`INN_STEPS`].
pub const MIXTURE_INN_STEPS: u64 = 16_000;
/// See [`INN_STEPS`].
pub const CINN_STEPS: u64 = 22_000;
/// Steps of the `paper` preset (meant for a GPU).
pub const PAPER_STEPS: u64 = 40_000;

/// Most passes over the training set of a run on a fixed number of simulations (early stopping
/// usually ends it first).
pub const SIMULATIONS_MAX_EPOCHS: f64 = 150.0;

/// The seed of runs that name none.
pub const DEFAULT_SEED: u64 = 42;

/// The presets: `quick` for minutes on a laptop CPU, `paper` for the seed's scale on a GPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// Good results within minutes on two CPU cores (the main job: about 7).
    #[default]
    Quick,
    /// The seed's 10^6 samples and a paper-sized budget.
    Paper,
}

impl FromStr for Preset {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        parse_choice(text, "preset", &["quick", "paper"])
    }
}

impl TrainConfig {
    /// The preset settings for a problem and model.
    pub fn preset(problem: &str, model: ModelKind, preset: Preset) -> Self {
        let gmm = problem == "gmm";
        let block = BlockConfig::glow(128, 2);
        let mut config = TrainConfig {
            seed: DEFAULT_SEED,
            model,
            blocks: 6,
            block,
            inn_widths: None,
            batch: 500,
            lr: 1e-3,
            lr_end_factor: 0.05,
            weight_decay: 1e-5,
            adam_betas: default_adam_betas(),
            grad_clip: 10.0,
            grad_clamp: None,
            init_scale: None,
            samples: 1_000_000,
            fresh: false,
            simulations: None,
            validation: 0.1,
            patience: None,
            weight_average: None,
            stop: Stop { steps: Some(if model == ModelKind::Cinn { CINN_STEPS } else { INN_STEPS }), ..Stop::default() },
            losses: if model == ModelKind::Inn { LossWeights::LIKELIHOOD } else { LossWeights::PAPER },
            kernel_widths: TRAINING_WIDTHS.to_vec(),
            y_noise: 0.01,
            pad_noise: 0.01,
            noise_anneal: no_noise_anneal(),
            standardise: model == ModelKind::Cinn,
            bounded: model == ModelKind::Cinn,
            regression: false,
            summary: None,
            members: 1,
            log_scale: true,
            log_every: 50,
            checkpoint_every: Duration::from_secs(120),
            budget: BudgetDefaults::of(problem),
        };
        match (model, gmm) {
            (ModelKind::Inn, true) => {
                // Width 10 (x padded by 8; [z, y] needs no padding), the official notebook's noises
                // (here the widths of the output densities), lr 3e-3 and the weight average
                // (docs/experiments.md, "the mixture INN trained by likelihood"); 16 blocks of
                // subnets 2×48, deep rather than wide, separate the modes ("the mixture INN deeper
                // and narrower, with the flush").
                config.inn_widths = Some((2, 10));
                config.blocks = 16;
                config.block.hidden = 48;
                config.stop.steps = Some(MIXTURE_INN_STEPS);
                config.weight_average = Some(0.999);
                config.kernel_widths = vec![0.05, 0.2, 0.9];
                config.lr = 3e-3;
                config.y_noise = 0.1;
                config.pad_noise = 0.05;
            }
            (ModelKind::Cinn, true) => config.y_noise = 0.01,
            (ModelKind::Inn, false) => {
                // The forward pass must learn the forward process: 20 blocks of subnets 2×80, deep
                // rather than wide (docs/experiments.md, "the kinematics INN deeper and narrower").
                config.lr = 2e-3;
                config.blocks = 20;
                config.block.hidden = 80;
            }
            (ModelKind::Cinn, false) => {}
        }
        if problem == "slcp" && model == ModelKind::Cinn {
            // slcp's data are four independent draws of one 2-D Gaussian: a deep set of elements of
            // 2, which ignores their order, lowers the held-out loss at every seed measured
            // (docs/experiments.md, "a deep set for slcp").
            config.summary = Some(SummaryConfig { kind: SummaryKind::DeepSet { element: 2 }, width: 128, outputs: None });
        }
        if problem == "kinematics" && model == ModelKind::Cinn {
            // Subnets of width 64 sample twice as fast as 128 with posteriors as good
            // (docs/experiments.md, "kinematics subnet width").
            config.block.hidden = 64;
        }
        if preset == Preset::Paper {
            config.stop = Stop { steps: Some(PAPER_STEPS), ..Stop::default() };
            config.block.hidden = 256;
            config.blocks = 8;
        }
        config
    }

    /// The number of simulations to train on, when the run trains on a fixed number.
    pub fn simulations(&self) -> Option<i64> {
        self.simulations
    }

    /// Trains on exactly `simulations` simulations, with the settings measured best for such budgets
    /// (docs/experiments.md, "sbibm defaults", "spline couplings" and "batches of 1000 at 10^5"):
    /// batches of 50 (25 below 50 000, and five spline blocks or ten affine ones; subnets of one
    /// layer of 64 below 5000), stopping when the held-out loss has not improved for 50 epochs (or
    /// after [`SIMULATIONS_MAX_EPOCHS`]), and for the cINN the weight average and its problem's regression
    /// head ([`BudgetDefaults`]). `coupling` is the user's choice of coupling, if any; without one
    /// the cINN takes its problem's (splines but for the Bernoulli GLM tasks) and the INN keeps its
    /// preset's.
    pub fn use_simulations(&mut self, simulations: i64, coupling: Option<CouplingKind>) {
        self.simulations = Some(simulations);
        self.batch = 50;
        self.patience = Some(50.0);
        self.stop = Stop { epochs: Some(SIMULATIONS_MAX_EPOCHS), ..Stop::default() };
        self.block.coupling = match (coupling, self.model) {
            (Some(chosen), _) => chosen,
            (None, ModelKind::Cinn) => self.budget.coupling,
            (None, ModelKind::Inn) => self.block.coupling,
        };
        if self.model == ModelKind::Cinn {
            self.regression = simulations >= self.budget.head_from;
            if self.summary.is_none() && simulations >= self.budget.summary_from {
                self.summary = Some(SummaryConfig { kind: SummaryKind::Mlp, width: SummaryConfig::DEFAULT_WIDTH, outputs: None });
            }
            self.weight_average = Some(0.999);
        }
        if simulations < 50_000 {
            // Spline blocks bend more each: five do better than ten by held-out loss
            // (docs/experiments.md, "spline couplings").
            self.blocks = if self.block.coupling == CouplingKind::Spline { 5 } else { 10 };
            self.batch = 25;
        }
        if simulations < 5000 {
            self.block.layers = 1;
            self.block.hidden = 64;
        }
    }

    /// Checks that the options of one model kind are not given to the other.
    fn validate_model_options(&self) -> Result<()> {
        if self.noise_anneal != 1.0 && self.model != ModelKind::Inn {
            return Err(Error::invalid("--noise-anneal is for the paper's INN (--model inn)"));
        }
        if !(1..=MAX_MEMBERS).contains(&self.members) {
            return Err(Error::invalid(format!("--ensemble must be from 1 to {MAX_MEMBERS} networks, not {}", self.members)));
        }
        if self.model == ModelKind::Cinn {
            return Ok(());
        }
        if self.regression {
            return Err(Error::invalid("--regression is for the cINN (--model cinn)"));
        }
        if self.summary.is_some() {
            return Err(Error::invalid("--summary is for the cINN (--model cinn): the paper's INN predicts y itself"));
        }
        if self.members > 1 {
            return Err(Error::invalid("--ensemble is for the cINN (--model cinn): the paper's INN has no density to mix"));
        }
        if self.bounded {
            return Err(Error::invalid("--bounded is for the cINN (--model cinn)"));
        }
        Ok(())
    }

    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        let positive = positive_number;
        positive("batch", self.batch as f64)?;
        positive("lr", self.lr)?;
        if !(self.lr_end_factor > 0.0 && self.lr_end_factor <= 1.0) {
            return Err(Error::invalid(format!("--lr-end must be above 0 and at most 1, not {}", self.lr_end_factor)));
        }
        positive("samples", self.samples as f64)?;
        if !clamp_in_range(self.block.clamp) {
            return Err(Error::invalid(format!(
                "--clamp must be from {MIN_CLAMP} to {MAX_CLAMP} (s/clamp and exp(clamp) must stay finite), not {}",
                self.block.clamp
            )));
        }
        positive("hidden", self.block.hidden as f64)?;
        positive("blocks", self.blocks as f64)?;
        if self.kernel_widths.is_empty() || self.kernel_widths.iter().any(|h| !(h.is_finite() && *h > 0.0)) {
            return Err(Error::invalid(format!("kernel widths must be positive numbers, not {:?}", self.kernel_widths)));
        }
        self.stop.validate()?;
        let LossWeights { y, z, x, reconstruction, likelihood } = self.losses;
        for (name, value) in [
            ("--w-y", y),
            ("--w-z", z),
            ("--w-x", x),
            ("--w-rec", reconstruction),
            ("--w-ml", likelihood),
            ("--y-noise", self.y_noise),
            ("the padding noise", self.pad_noise),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(Error::invalid(format!("{name} must be a number of at least 0, not {value}")));
            }
        }
        if !(self.noise_anneal.is_finite() && self.noise_anneal >= 1.0) {
            return Err(Error::invalid(format!("--noise-anneal must be a number of at least 1, not {}", self.noise_anneal)));
        }
        if self.model == ModelKind::Inn && likelihood > 0.0 && (self.y_noise == 0.0 || self.pad_noise == 0.0) {
            return Err(Error::invalid("--w-ml needs a --y-noise and a --pad-noise above 0 (they are the widths of its output densities)"));
        }
        if self.block.bins != DEFAULT_BINS && self.block.coupling != CouplingKind::Spline {
            return Err(Error::invalid("--bins is for spline couplings (--coupling spline)"));
        }
        self.validate_model_options()?;
        if self.fresh && self.simulations.is_some() {
            return Err(Error::invalid("--fresh and --simulations exclude each other"));
        }
        self.validate_optimiser()?;
        if !(0.0..1.0).contains(&self.validation) {
            return Err(Error::invalid(format!("--val must be at least 0 and below 1, not {}", self.validation)));
        }
        if let Some(patience) = self.patience {
            positive("patience", patience)?;
        }
        if let Some(decay) = self.weight_average {
            if !(0.0..1.0).contains(&decay) {
                return Err(Error::invalid(format!("--average must be at least 0 and below 1, not {decay}")));
            }
        }
        let rows = match self.simulations {
            Some(simulations) => (simulations as f64 * (1.0 - self.validation)).round() as i64,
            None => self.samples,
        };
        if !self.fresh && rows < self.batch {
            return Err(Error::invalid(format!("the training set ({rows} samples) is smaller than one batch ({})", self.batch)));
        }
        Ok(())
    }

    /// Checks Adam's and the gradients' settings.
    fn validate_optimiser(&self) -> Result<()> {
        let (beta1, beta2) = self.adam_betas;
        if !((0.0..1.0).contains(&beta1) && (0.0..1.0).contains(&beta2)) {
            return Err(Error::invalid(format!("--adam-betas must both be at least 0 and below 1, not {beta1},{beta2}")));
        }
        if !(self.grad_clip >= 0.0 && self.grad_clip.is_finite()) {
            return Err(Error::invalid(format!("--grad-clip must be a finite number of at least 0 (0: none), not {}", self.grad_clip)));
        }
        if let Some(bound) = self.grad_clamp {
            positive_number("grad-clamp", bound)?;
        }
        if let Some(scale) = self.init_scale {
            positive_number("init-scale", scale)?;
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            return Err(Error::invalid(format!("--weight-decay must be a finite number of at least 0, not {}", self.weight_decay)));
        }
        Ok(())
    }
}

/// Fails unless `value` (of the option `--name`) is a finite number above zero.
fn positive_number(name: &str, value: f64) -> Result<()> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(Error::invalid(format!("--{name} must be a positive number, not {value}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cINN's configuration for `problem` trained on `simulations` simulations.
    fn cinn_on_budget(problem: &str, simulations: i64) -> TrainConfig {
        let mut cinn = TrainConfig::preset(problem, ModelKind::Cinn, Preset::Quick);
        cinn.use_simulations(simulations, None);
        cinn
    }

    #[test]
    fn simulation_budgets_size_the_network_by_the_chosen_coupling() {
        for model in [ModelKind::Inn, ModelKind::Cinn] {
            for (coupling, blocks) in [(CouplingKind::Spline, 5), (CouplingKind::Glow, 10)] {
                let mut config = TrainConfig::preset("two_moons", model, Preset::Quick);
                config.use_simulations(1000, Some(coupling));
                assert_eq!((config.block.coupling, config.blocks), (coupling, blocks), "{model:?}");
            }
        }
        for (problem, coupling, blocks) in [
            ("two_moons", CouplingKind::Spline, 5),
            ("bernoulli_glm", CouplingKind::Glow, 10),
            ("bernoulli_glm_raw", CouplingKind::Glow, 10),
        ] {
            let cinn = cinn_on_budget(problem, 1000);
            assert_eq!((cinn.block.coupling, cinn.blocks), (coupling, blocks), "{problem}");
        }
    }

    #[test]
    fn simulation_budgets_set_the_batch_size() {
        for (simulations, batch) in [(1000, 25), (10_000, 25), (50_000, 50), (100_000, 50)] {
            assert_eq!(cinn_on_budget("two_moons", simulations).batch, batch, "{simulations} simulations");
        }
    }

    #[test]
    fn simulation_budgets_take_the_regression_head_where_it_lowers_the_held_out_loss() {
        for (problem, heads) in [
            ("two_moons", [true, true]),
            ("bernoulli_glm", [true, true]),
            ("slcp", [false, true]),
            ("slcp_distractors", [false, true]),
            ("sir", [false, false]),
            ("lotka_volterra", [false, false]),
        ] {
            for (simulations, head) in [1000, 10_000].into_iter().zip(heads) {
                let mut cinn = TrainConfig::preset(problem, ModelKind::Cinn, Preset::Quick);
                assert!(!cinn.regression, "{problem}: no head without a budget");
                cinn.use_simulations(simulations, None);
                assert_eq!(cinn.regression, head, "{problem}, {simulations} simulations");
            }
        }
        let mut inn = TrainConfig::preset("two_moons", ModelKind::Inn, Preset::Quick);
        inn.use_simulations(1000, None);
        assert!(!inn.regression, "the INN has no head");
    }

    #[test]
    fn slcp_distractors_takes_a_summary_network_from_5000_simulations() {
        let mlp = Some(SummaryKind::Mlp);
        let deep_set = Some(SummaryKind::DeepSet { element: 2 });
        for (problem, simulations, kind) in [
            ("slcp_distractors", 1000, None),
            ("slcp_distractors", 5000, mlp),
            ("slcp_distractors", 10_000, mlp),
            ("slcp", 10_000, deep_set),
            ("two_moons", 10_000, None),
            ("bernoulli_glm_raw", 10_000, None),
        ] {
            let summary = cinn_on_budget(problem, simulations).summary;
            assert_eq!(summary.map(|summary| summary.kind), kind, "{problem}, {simulations} simulations");
        }
    }
}
