//! The classifier two-sample test (C2ST) as sbibm defines it: both sets z-scored by the reference, an
//! MLP with two hidden layers of 10·dim units (ReLU, Adam, batches of 200, L2 1e-4, stopped when the
//! training loss has not improved by 1e-4 for 10 epochs), 5-fold cross-validated accuracy.
//! 0.5: indistinguishable; 1.0: fully separable.
//!
//! Every fold of every pair of sets is its own classifier, and all of them train at once as one
//! batched network (one weight matrix per classifier, `baddbmm`).

use serde::{Deserialize, Serialize};
use tch::nn::{self, Init, OptimizerConfig};
use tch::{Device, Kind, Reduction, Tensor};

use crate::error::{Error, Result};
use crate::model::Model;
use crate::sample::{group_by_observation, posterior};

/// C2ST of a model's posteriors against reference samples, per observation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct C2stReport {
    /// C2ST accuracy for each observation.
    pub per_observation: Vec<f64>,
    /// Their mean.
    pub mean: f64,
    /// Model (and reference) samples per observation.
    pub samples: i64,
}

/// Draws as many posterior samples for each observation in `targets` [m, dim_y] as its reference set
/// holds (the fewest of all sets), and scores them with [`c2st`].
pub fn c2st_of_model(model: &Model, targets: &Tensor, reference: &[Tensor], settings: &C2stSettings) -> Result<C2stReport> {
    if reference.len() as i64 != targets.size()[0] {
        return Err(Error::invalid(format!("{} observations but {} reference sets", targets.size()[0], reference.len())));
    }
    let samples = reference.iter().map(|set| set.size()[0]).min().unwrap_or(0);
    let (x, obs) = posterior(model, targets, samples)?;
    let own = group_by_observation(&x, &obs, reference.len() as i64);
    let device = model.device();
    let pairs: Vec<(Tensor, Tensor)> =
        reference.iter().zip(own).map(|(set, own)| (set.narrow(0, 0, samples).to_device(device), own)).collect();
    let per_observation = c2st(&pairs, settings)?;
    let mean = per_observation.iter().sum::<f64>() / per_observation.len().max(1) as f64;
    Ok(C2stReport { per_observation, mean, samples })
}

/// How the test is run; the defaults are sbibm's (scikit-learn's MLPClassifier), except that
/// training stops after `max_epochs` at the latest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct C2stSettings {
    /// Cross-validation folds.
    pub folds: i64,
    /// Hidden units per input dimension.
    pub hidden_per_dim: i64,
    /// Rows per Adam step.
    pub batch: i64,
    /// Adam's learning rate.
    pub lr: f64,
    /// L2 penalty (scikit-learn's alpha).
    pub l2: f64,
    /// Improvement of the epoch's training loss that counts.
    pub tolerance: f64,
    /// Epochs without such improvement before a classifier stops.
    pub patience: u32,
    /// Epochs at most.
    pub max_epochs: u32,
}

impl Default for C2stSettings {
    fn default() -> Self {
        C2stSettings { folds: 5, hidden_per_dim: 10, batch: 200, lr: 1e-3, l2: 1e-4, tolerance: 1e-4, patience: 10, max_epochs: 500 }
    }
}

/// The weights of `m` MLP classifiers of one shape, trained together.
struct Classifiers {
    vars: nn::VarStore,
    layers: Vec<(Tensor, Tensor)>,
}

impl Classifiers {
    /// `m` classifiers with inputs of width `dim` and two hidden layers of `hidden` units, initialised
    /// as scikit-learn does (uniform, bound √(6 / (fan_in + fan_out))).
    fn new(m: i64, dim: i64, hidden: i64, device: Device) -> Classifiers {
        let vars = nn::VarStore::new(device);
        let root = vars.root();
        let widths = [dim, hidden, hidden, 1];
        let layers = widths
            .windows(2)
            .enumerate()
            .map(|(index, pair)| {
                let bound = (6.0 / (pair[0] + pair[1]) as f64).sqrt();
                let init = Init::Uniform { lo: -bound, up: bound };
                let weight = root.var(&format!("w{index}"), &[m, pair[0], pair[1]], init);
                let bias = root.var(&format!("b{index}"), &[m, 1, pair[1]], init);
                (weight, bias)
            })
            .collect();
        Classifiers { vars, layers }
    }

    /// Logits [m, rows] of inputs [m, rows, dim].
    fn logits(&self, input: &Tensor) -> Tensor {
        let last = self.layers.len() - 1;
        let mut activation = input.shallow_clone();
        for (index, (weight, bias)) in self.layers.iter().enumerate() {
            activation = activation.bmm(weight) + bias;
            if index < last {
                activation = activation.relu();
            }
        }
        activation.squeeze_dim(2)
    }

    /// Sum of squared weights of each classifier: [m].
    fn weight_norms(&self) -> Tensor {
        let squares: Vec<Tensor> =
            self.layers.iter().map(|(weight, _)| weight.square().sum_dim_intlist([1, 2].as_slice(), false, Kind::Float)).collect();
        Tensor::stack(&squares, 0).sum_dim_intlist(0, false, Kind::Float)
    }
}

/// C2ST accuracy for each pair (reference, samples): rows [n_i, dim] of both, on one device.
/// Each pair's sets are cut to the same number of rows.
pub fn c2st(pairs: &[(Tensor, Tensor)], settings: &C2stSettings) -> Result<Vec<f64>> {
    let Some((first, _)) = pairs.first() else { return Ok(Vec::new()) };
    let (device, dim) = (first.device(), first.size()[1]);
    let rows = pairs.iter().map(|(reference, samples)| reference.size()[0].min(samples.size()[0])).min().unwrap_or(0);
    if rows < settings.folds * 2 {
        return Err(Error::invalid(format!("C2ST needs at least {} samples per set, not {rows}", settings.folds * 2)));
    }
    if pairs.iter().any(|(reference, samples)| reference.size()[1] != dim || samples.size()[1] != dim) {
        return Err(Error::invalid("C2ST: every set must have the same columns"));
    }
    // Data [pairs, 2·rows, dim] z-scored by the reference; labels 0 (reference) and 1 (samples).
    let data: Vec<Tensor> = pairs
        .iter()
        .map(|(reference, samples)| {
            let (reference, samples) = (reference.narrow(0, 0, rows).to_kind(Kind::Float), samples.narrow(0, 0, rows).to_kind(Kind::Float));
            let (mean, std) = (reference.mean_dim(0, true, Kind::Float), reference.std_dim(0, true, true).clamp_min(1e-12));
            Tensor::cat(&[(reference - &mean) / &std, (samples - mean) / std], 0)
        })
        .collect();
    let data = Tensor::stack(&data, 0).to_device(device);
    let labels = Tensor::cat(&[Tensor::zeros([rows], (Kind::Float, device)), Tensor::ones([rows], (Kind::Float, device))], 0);

    // Folds: one shuffle of the 2·rows rows; classifier (pair p, fold f) holds out fold f of pair p.
    let total = 2 * rows;
    let order = Tensor::randperm(total, (Kind::Int64, device));
    let fold_size = total / settings.folds;
    let folds = settings.folds;
    let (mut train_x, mut train_y, mut test_x, mut test_y) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for pair in 0..pairs.len() as i64 {
        for fold in 0..folds {
            let test = order.narrow(0, fold * fold_size, fold_size);
            let train = Tensor::cat(
                &[order.narrow(0, 0, fold * fold_size), order.narrow(0, (fold + 1) * fold_size, total - (fold + 1) * fold_size)],
                0,
            );
            let set = data.get(pair);
            train_x.push(set.index_select(0, &train));
            train_y.push(labels.index_select(0, &train));
            test_x.push(set.index_select(0, &test));
            test_y.push(labels.index_select(0, &test));
        }
    }
    let (train_x, train_y) = (Tensor::stack(&train_x, 0), Tensor::stack(&train_y, 0));
    let (test_x, test_y) = (Tensor::stack(&test_x, 0), Tensor::stack(&test_y, 0));
    let classifiers = train(&train_x, &train_y, settings)?;
    let accuracy = tch::no_grad(|| {
        let predicted = classifiers.logits(&test_x).gt(0.0).to_kind(Kind::Float);
        predicted.eq_tensor(&test_y).to_kind(Kind::Double).mean_dim(1, false, Kind::Double)
    });
    let per_pair = accuracy.view([pairs.len() as i64, folds]).mean_dim(1, false, Kind::Double);
    Ok(Vec::<f64>::try_from(per_pair)?)
}

/// Trains one classifier per row of `x` [m, rows, dim] with labels `y` [m, rows]; each stops on its
/// own (its weights are frozen from then on), all together after `max_epochs`.
fn train(x: &Tensor, y: &Tensor, settings: &C2stSettings) -> Result<Classifiers> {
    let (m, rows, dim) = (x.size()[0], x.size()[1], x.size()[2]);
    let device = x.device();
    let classifiers = Classifiers::new(m, dim, settings.hidden_per_dim * dim, device);
    let frozen = Classifiers::new(m, dim, settings.hidden_per_dim * dim, device);
    let adam = nn::Adam { beta1: 0.9, beta2: 0.999, wd: 0.0, eps: 1e-8, amsgrad: false };
    let mut optimiser = adam.build(&classifiers.vars, settings.lr)?;
    let batch = settings.batch.min(rows);
    let batches = (rows + batch - 1) / batch;
    let mut active = Tensor::ones([m], (Kind::Float, device));
    let mut best = vec![f64::INFINITY; m as usize];
    let mut stale = vec![0u32; m as usize];
    for _ in 0..settings.max_epochs {
        let order = Tensor::randperm(rows, (Kind::Int64, device));
        let mut epoch_loss = Tensor::zeros([m], (Kind::Float, device));
        for index in 0..batches {
            let take = order.narrow(0, index * batch, batch.min(rows - index * batch));
            let (inputs, targets) = (x.index_select(1, &take), y.index_select(1, &take));
            let losses = classifiers
                .logits(&inputs)
                .binary_cross_entropy_with_logits::<Tensor>(&targets, None, None, Reduction::None)
                .mean_dim(1, false, Kind::Float);
            let penalised = &losses + classifiers.weight_norms() * (settings.l2 / (2.0 * take.size()[0] as f64));
            optimiser.zero_grad();
            (&penalised * &active).sum(Kind::Float).backward();
            optimiser.step();
            epoch_loss += penalised.detach() * take.size()[0] as f64;
        }
        // scikit-learn's rule: stop after `patience` epochs whose loss is not below best − tolerance.
        let epoch_loss = Vec::<f64>::try_from((epoch_loss / rows as f64).to_kind(Kind::Double))?;
        let mut stopping = vec![0f32; m as usize];
        let was_active = Vec::<f32>::try_from(&active)?;
        for model in 0..m as usize {
            if was_active[model] == 0.0 {
                continue;
            }
            if epoch_loss[model] > best[model] - settings.tolerance {
                stale[model] += 1;
            } else {
                stale[model] = 0;
            }
            best[model] = best[model].min(epoch_loss[model]);
            if stale[model] > settings.patience {
                stopping[model] = 1.0;
            }
        }
        let stopping = Tensor::from_slice(&stopping).to_device(device);
        freeze(&frozen, &classifiers, &stopping);
        active = &active * (1.0 - &stopping);
        if active.sum(Kind::Float).double_value(&[]) == 0.0 {
            break;
        }
    }
    freeze(&frozen, &classifiers, &active);
    Ok(frozen)
}

/// Copies the weights of the classifiers marked 1 in `which` [m] from `from` into `into`.
fn freeze(into: &Classifiers, from: &Classifiers, which: &Tensor) {
    tch::no_grad(|| {
        let mask = which.view([-1, 1, 1]);
        for ((into_weight, into_bias), (weight, bias)) in into.layers.iter().zip(&from.layers) {
            into_weight.shallow_clone().copy_(&(into_weight * (1.0 - &mask) + weight * &mask));
            into_bias.shallow_clone().copy_(&(into_bias * (1.0 - &mask) + bias * &mask));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_identical_from_disjoint_sets() {
        tch::manual_seed(3);
        let normal = |rows: i64, shift: f64| Tensor::randn([rows, 2], (Kind::Float, Device::Cpu)) + shift;
        let pairs =
            [(normal(1000, 0.0), normal(1000, 0.0)), (normal(1000, 0.0), normal(1000, 8.0)), (normal(1000, 0.0), normal(1000, 1.0))];
        let accuracy = c2st(&pairs, &C2stSettings::default()).unwrap();
        assert!((accuracy[0] - 0.5).abs() < 0.05, "{accuracy:?}");
        assert!(accuracy[1] > 0.99, "{accuracy:?}");
        // N(0, I) against N(1, I) in 2-D: the Bayes classifier gets Φ(√2 / 2) ≈ 0.76.
        assert!((accuracy[2] - 0.76).abs() < 0.04, "{accuracy:?}");
    }
}
