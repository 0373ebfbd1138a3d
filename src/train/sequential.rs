//! Sequential rounds for one observation: truncated sequential neural posterior estimation (TSNPE,
//! Deistler et al. 2022) with the cINN. Round 1 draws parameters from the prior; every later round
//! draws them from the prior truncated to the current posterior's highest-density region of mass
//! 1 − ε, and the cINN goes on training on all simulations so far (a truncated prior needs no
//! correction of the likelihood loss). The last round's model is the run's model; every pair a
//! round simulates is kept in the run folder ([`SIMULATIONS_FILE`]).

use tch::{Device, Kind, Tensor};

use super::metrics_log::MetricsLog;
use super::{continue_training, new_model, objective_for, split_off_validation, ModelBasis, RunOutput, TrainConfig, TrainingData};
use crate::error::{Error, Result};
use crate::io::table::write_table;
use crate::model::checkpoint::{self, RoundRecord, SequentialRecord, TrainingSummary};
use crate::model::{Model, ModelKind};
use crate::problem::data::{DataProblem, DataSpec};
use crate::problem::Problem;
use crate::sample::{log_density, model_draws};
use crate::seeding::{reseed, Stream};

/// Posterior mass outside the truncated region (TSNPE's ε).
pub const DEFAULT_EPSILON: f64 = 1e-4;
/// Posterior samples whose densities set the truncation threshold.
const THRESHOLD_SAMPLES: i64 = 100_000;
/// Prior draws tested at once against the threshold.
const PRIOR_CHUNK: i64 = 100_000;
/// The file of a sequential run's folder that keeps every simulation of its rounds (a column
/// `round`, then x and y), written as soon as a round has simulated.
pub const SIMULATIONS_FILE: &str = "simulations.csv";
/// Most prior draws one round may test before it gives up.
const MAX_PRIOR_DRAWS: i64 = 100_000_000;

/// How a sequential run is made.
pub struct Sequential<'a> {
    /// The observation (raw y, [1, dim_y]).
    pub observation: &'a Tensor,
    /// Rounds that share the config's simulations.
    pub rounds: usize,
    /// Posterior mass left outside the truncation.
    pub epsilon: f64,
    /// Pairs (x, y) for round 1 in place of prior draws (a run on data); each later round then
    /// simulates as many pairs as they hold, and the config needs no simulation count.
    pub first_round: Option<(Tensor, Tensor)>,
}

impl Sequential<'_> {
    /// Checks the plan and returns the number of new pairs of each round.
    fn round_sizes(&self, config: &TrainConfig, problem: &dyn Problem) -> Result<Vec<i64>> {
        if config.model != ModelKind::Cinn {
            return Err(Error::invalid("sequential rounds train the cINN (--model cinn): they need its density to truncate the prior"));
        }
        if self.rounds == 0 {
            return Err(Error::invalid("--rounds must be at least 1"));
        }
        let rounds = self.rounds as i64;
        let sizes: Vec<i64> = match (&self.first_round, config.simulations()) {
            (Some((x, _)), _) => vec![x.size()[0]; self.rounds],
            (None, Some(total)) => (1..=rounds).map(|round| total / rounds + if round == rounds { total % rounds } else { 0 }).collect(),
            (None, None) => return Err(Error::invalid("sequential rounds share --simulations N among them: give --simulations")),
        };
        if self.observation.size() != [1, problem.dim_y()] {
            return Err(Error::invalid(format!(
                "a sequential run is made for one observation of {} values, not {:?}",
                problem.dim_y(),
                self.observation.size()
            )));
        }
        if sizes[0] < config.batch * 2 {
            return Err(Error::invalid(format!(
                "{} simulations in {} rounds leave fewer than two batches ({}) per round",
                sizes.iter().sum::<i64>(),
                self.rounds,
                config.batch
            )));
        }
        if !(self.epsilon > 0.0 && self.epsilon < 1.0) {
            return Err(Error::invalid(format!("ε must be above 0 and below 1, not {}", self.epsilon)));
        }
        Ok(sizes)
    }
}

/// Trains a cINN for `sequential.observation` in rounds into the new run folder of `output`;
/// `on_round(round, rounds)` is told when each round starts. The run folder holds the last finished
/// round's model, with the rounds recorded in its manifest; a round that fails keeps the one before.
pub fn train_sequential(
    problem: &dyn Problem,
    config: &TrainConfig,
    sequential: &Sequential<'_>,
    device: Device,
    output: RunOutput<'_>,
    on_round: &mut dyn FnMut(usize, usize),
) -> Result<(Model, TrainingSummary)> {
    config.validate()?;
    let sizes = sequential.round_sizes(config, problem)?;
    let mut first_round = sequential.first_round.as_ref().map(|(x, y)| (x.to_device(device), y.to_device(device)));
    let observation = sequential.observation.to_device(device).to_kind(Kind::Float);
    let info = problem.info();
    let mut record =
        SequentialRecord { observation: Vec::<f64>::try_from(observation.view([-1]).to_kind(Kind::Double))?, rounds: Vec::new() };
    let validated = config.validation > 0.0;
    let mut metrics = MetricsLog::create_in_rounds(&output.dir.join("metrics.csv"), objective_for(config).terms(), validated)?;
    let (mut all_x, mut all_y): (Vec<Tensor>, Vec<Tensor>) = (Vec::new(), Vec::new());
    let simulation_columns: Vec<String> =
        ["round"].iter().map(|name| name.to_string()).chain(info.x_names.iter().cloned()).chain(info.y_names.iter().cloned()).collect();
    // Each round's simulations as [round, x, y] columns; `round` an integer.
    let mut simulated: [Vec<Tensor>; 3] = Default::default();
    let mut trained: Option<(Model, TrainingSummary)> = None;
    let (mut steps_so_far, mut seconds_so_far) = (0u64, 0.0f64);
    let rounds = sequential.rounds;
    for round in 1..=rounds {
        on_round(round, rounds);
        metrics.set_round(round);
        let in_round = |error: Error| Error::InRound { round, error: Box::new(error) };
        let count = sizes[round - 1];
        reseed(config.seed, Stream::Data, round as u64);
        let model = trained.as_ref().map(|(model, _)| model);
        let (theta, y, acceptance) = match first_round.take() {
            Some((x, y)) => (x, y, 1.0),
            None => {
                let (theta, y, acceptance) =
                    round_pairs(problem, model, &observation, sequential.epsilon, count, device).map_err(in_round)?;
                for (parts, part) in simulated.iter_mut().zip([
                    Tensor::full([count], round as i64, (Kind::Int64, device)),
                    theta.shallow_clone(),
                    y.shallow_clone(),
                ]) {
                    parts.push(part);
                }
                let columns = simulated.each_ref().map(|parts| Tensor::cat(parts, 0));
                write_table(&output.dir.join(SIMULATIONS_FILE), &simulation_columns, &columns.each_ref()).map_err(in_round)?;
                (theta, y, acceptance)
            }
        };
        all_x.push(theta);
        all_y.push(y);
        let (x, y) = (Tensor::cat(&all_x, 0), Tensor::cat(&all_y, 0));
        let rows = x.size()[0];
        let data = split_off_validation(x, y, config.validation);
        let TrainingData::Fixed { x: train_x, y: train_y, .. } = &data else { unreachable!("simulations are a fixed set") };
        let mut round_config = config.clone();
        match config.simulations() {
            Some(_) => round_config.simulations = Some(rows),
            None => round_config.samples = train_x.size()[0],
        }
        round_config.validate().map_err(in_round)?;
        // One network goes on across rounds (as sbi's sequential methods do), with the standardisation
        // and regression fitted in round 1.
        let model = match trained.take() {
            Some((model, _)) => model,
            None => new_model(&round_config, ModelBasis::of_problem(problem, &info, train_x, train_y), device).map_err(in_round)?,
        };
        let round_output = RunOutput { dir: output.dir, stop: output.stop, on_log: &mut *output.on_log };
        let (model, mut summary) =
            continue_training(model, info.clone(), data, &round_config, None, &mut metrics, round_output).map_err(in_round)?;
        record.rounds.push(RoundRecord {
            simulations: count,
            total: rows,
            acceptance,
            steps: summary.steps,
            held_out_loss: summary.best_validation.map(|best| best.loss),
        });
        // The run's totals count every round (the network went on through all of them).
        (steps_so_far, seconds_so_far) = (steps_so_far + summary.steps, seconds_so_far + summary.seconds);
        (summary.steps, summary.seconds) = (steps_so_far, seconds_so_far);
        summary.sequential = Some(record.clone());
        checkpoint::save(output.dir, &model, &info, &summary, None).map_err(in_round)?;
        let interrupted = summary.interrupted;
        trained = Some((model, summary));
        if interrupted {
            break;
        }
    }
    trained.ok_or_else(|| Error::invalid("no round ran"))
}

/// Trains a cINN in rounds on the pairs of `spec` for `sequential.observation`: round 1 on the pairs
/// themselves, each later round also on as many new pairs from the spec's simulator, at x rows of the
/// data (its empirical prior) inside the truncated region. Otherwise as [`train_sequential`].
pub fn train_data_sequential(
    spec: &DataSpec,
    config: &TrainConfig,
    sequential: Sequential<'_>,
    device: Device,
    output: RunOutput<'_>,
    on_round: &mut dyn FnMut(usize, usize),
) -> Result<(Model, TrainingSummary)> {
    if spec.simulator.is_none() {
        return Err(Error::invalid(
            "sequential rounds on data simulate new pairs after round 1: give the forward process with --simulator 'COMMAND'",
        ));
    }
    let config = TrainConfig { standardise: true, validation: spec.validation, ..config.clone() };
    let (x, y) = spec.read()?;
    let problem = DataProblem::new(spec.clone(), x.to_device(device));
    let sequential = Sequential { first_round: Some((x, y)), ..sequential };
    train_sequential(&problem, &config, &sequential, device, output, on_round)
}

/// A round's new pairs (x, y) and the share of prior draws accepted: `count` draws from the prior,
/// or with a `model` from the prior truncated to its posterior's region, simulated.
fn round_pairs(
    problem: &dyn Problem,
    model: Option<&Model>,
    observation: &Tensor,
    epsilon: f64,
    count: i64,
    device: Device,
) -> Result<(Tensor, Tensor, f64)> {
    let (theta, acceptance) = match model {
        None => (problem.sample_prior(count, device), 1.0),
        Some(model) => truncated_prior(problem, model, observation, epsilon, count)?,
    };
    let y = problem.simulate(&theta)?;
    Ok((theta, y, acceptance))
}

/// `count` draws of the prior inside the highest-density region of mass 1 − `epsilon` of `model`'s
/// posterior for `observation`, and the share of prior draws that fell inside.
pub fn truncated_prior(problem: &dyn Problem, model: &Model, observation: &Tensor, epsilon: f64, count: i64) -> Result<(Tensor, f64)> {
    let _no_grad = tch::no_grad_guard();
    let device = model.device();
    let observation = observation.to_device(device).to_kind(Kind::Float);
    // The threshold comes from the model's own draws, inside the prior's box or not: a model that
    // puts most of its mass outside still has a highest-density region, whose part inside is kept.
    let (samples, _) = model_draws(model, &observation, THRESHOLD_SAMPLES)?;
    let densities = log_density(model, &samples, &observation.repeat([THRESHOLD_SAMPLES, 1]))?;
    let rank = ((epsilon * THRESHOLD_SAMPLES as f64).floor() as i64).max(1);
    let threshold = densities.kthvalue(rank, 0, false).0.double_value(&[]);
    let repeated = observation.repeat([PRIOR_CHUNK, 1]);
    let (mut kept, mut inside, mut drawn) = (Vec::new(), 0i64, 0i64);
    while inside < count {
        if drawn >= MAX_PRIOR_DRAWS {
            return Err(Error::invalid(format!(
                "after {drawn} prior draws only {inside} of the {count} needed fell inside the truncated prior: the posterior \
                 is too narrow for rejection from the prior (fewer rounds, or more simulations per round)"
            )));
        }
        let theta = problem.sample_prior(PRIOR_CHUNK, device);
        let density = log_density(model, &theta, &repeated)?;
        let chosen = density.ge(threshold).nonzero().view([-1]);
        inside += chosen.size()[0];
        drawn += PRIOR_CHUNK;
        kept.push(theta.index_select(0, &chosen));
    }
    Ok((Tensor::cat(&kept, 0).narrow(0, 0, count), inside as f64 / drawn as f64))
}

/// The rows of the raw observations `y` ([m, dim_y]) that are not the observation a sequential run
/// was made for (within 10^-6 relative): its posterior is valid near that one only.
pub fn other_observations(record: &SequentialRecord, y: &Tensor) -> Vec<i64> {
    let own = Tensor::from_slice(&record.observation).to_device(y.device()).view([1, -1]);
    let y = y.to_kind(Kind::Double);
    let tolerance = (own.abs() * 1e-6).clamp_min(1e-6);
    let same = (y - &own).abs().le_tensor(&tolerance).all_dim(1, false);
    Vec::<i64>::try_from(same.logical_not().nonzero().view([-1])).unwrap_or_default()
}

/// The warning for asking a sequential run about `others` (rows of observations not its own).
pub fn other_observations_warning(record: &SequentialRecord, others: &[i64]) -> Option<String> {
    let first = others.first()?;
    let own: Vec<String> = record.observation.iter().map(|v| format!("{v}")).collect();
    Some(format!(
        "this run was made in {} sequential rounds for the observation ({}), and its posterior is valid near that one only; \
         {} of the observations asked about differ from it (the first: row {first})",
        record.rounds.len(),
        own.join(", "),
        others.len()
    ))
}
