//! Adam over one flat buffer: every parameter and every gradient of a model is a view into one
//! contiguous tensor, so that clearing, clipping and updating them all are a handful of tensor
//! operations instead of a handful per parameter (a coupling network has dozens of small
//! parameters, and on a CPU each operation costs microseconds of dispatch whatever its size).

use tch::{Kind, Tensor};

use crate::error::{Error, Result};

/// Adam's constants (weight decay as an L2 term added to the gradient, as `torch.optim.Adam` does).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamConfig {
    /// Decay of the running mean of gradients.
    pub beta1: f64,
    /// Decay of the running mean of squared gradients.
    pub beta2: f64,
    /// Added to the root of the second moment.
    pub eps: f64,
    /// L2 weight decay.
    pub weight_decay: f64,
}

/// Adam whose parameters and gradients alias two flat buffers.
#[derive(Debug)]
pub struct FlatAdam {
    config: AdamConfig,
    parameters: Tensor,
    gradients: Tensor,
    first_moment: Tensor,
    second_moment: Tensor,
    steps: i32,
    /// Decay and running exponential average of the parameters, when one is kept.
    average: Option<(f64, Tensor)>,
    /// Whether the parameters hold the average (and the average's buffer the parameters): see
    /// [`FlatAdam::swap_average`].
    swapped: bool,
}

/// What Adam needs to continue exactly where it stopped, as named flat tensors: the parameters (the
/// last ones, not their average), both moments and, when one is kept, the average.
pub type OptimiserState = Vec<(String, Tensor)>;

const PARAMETERS: &str = "parameters";
const FIRST_MOMENT: &str = "first_moment";
const SECOND_MOMENT: &str = "second_moment";
const AVERAGE: &str = "average";

impl FlatAdam {
    /// Moves the values of `variables` into one buffer and makes each variable, and its gradient, a
    /// view into a flat buffer. The variables keep their identity (a VarStore still saves and loads
    /// them); all must share a device and kind.
    pub fn new(variables: &[Tensor], config: AdamConfig) -> Result<Self> {
        let first = variables.first().ok_or_else(|| Error::invalid("the optimiser was given no parameters"))?;
        let options = (first.kind(), first.device());
        if variables.iter().any(|variable| (variable.kind(), variable.device()) != options) {
            return Err(Error::invalid("the optimiser's parameters must share one device and one kind"));
        }
        let total = variables.iter().map(|variable| variable.numel() as i64).sum::<i64>();
        let parameters = Tensor::empty([total], options);
        let gradients = Tensor::zeros([total], options);
        materialise_gradients(variables)?;
        tch::no_grad(|| {
            for (variable, slot) in variables.iter().zip(views(&parameters, variables)) {
                let mut variable = variable.shallow_clone();
                slot.shallow_clone().copy_(&variable);
                variable.set_data(&slot);
            }
            for (variable, slot) in variables.iter().zip(views(&gradients, variables)) {
                variable.grad().set_data(&slot);
            }
        });
        let moment = || Tensor::zeros([total], options);
        let (first_moment, second_moment) = (moment(), moment());
        Ok(FlatAdam { config, parameters, gradients, first_moment, second_moment, steps: 0, average: None, swapped: false })
    }

    /// Keeps an exponential moving average of the parameters, updated after every step with `decay`
    /// (starting from the current values).
    pub fn keep_average(&mut self, decay: f64) {
        self.average = Some((decay, self.parameters.copy()));
    }

    /// Exchanges the parameters with their average, so that the model holds the average (until the
    /// next swap back); returns false, and does nothing, when no average is kept.
    pub fn swap_average(&mut self) -> bool {
        let Some((_, average)) = &mut self.average else { return false };
        tch::no_grad(|| {
            let parameters = self.parameters.copy();
            self.parameters.copy_(average);
            average.copy_(&parameters);
        });
        self.swapped = !self.swapped;
        true
    }

    /// The state to save for a resume (copies on the CPU), whichever way the average is swapped.
    pub fn state(&self) -> OptimiserState {
        let (last, average) = match (&self.average, self.swapped) {
            (Some((_, average)), true) => (average, Some(&self.parameters)),
            (average, _) => (&self.parameters, average.as_ref().map(|(_, average)| average)),
        };
        let named = [
            (PARAMETERS, Some(last)),
            (FIRST_MOMENT, Some(&self.first_moment)),
            (SECOND_MOMENT, Some(&self.second_moment)),
            (AVERAGE, average),
        ];
        named
            .into_iter()
            .filter_map(|(name, tensor)| tensor.map(|tensor| (name.to_string(), tensor.to_device(tch::Device::Cpu).copy())))
            .collect()
    }

    /// Restores a state saved by [`FlatAdam::state`] after `steps` steps: the model's parameters,
    /// the moments and the average (which must be kept, or not, as when it was saved).
    pub fn restore(&mut self, state: &OptimiserState, steps: u64) -> Result<()> {
        let size = self.parameters.size();
        let find = |name: &str| {
            let tensor = state.iter().find(|(key, _)| key == name).map(|(_, tensor)| tensor);
            match tensor {
                Some(tensor) if tensor.size() == size => Ok(Some(tensor)),
                Some(tensor) => {
                    Err(Error::invalid(format!("the saved optimiser state's {name} has {:?} values, the model {size:?}", tensor.size())))
                }
                None => Ok(None),
            }
        };
        let required = |name: &str| find(name)?.ok_or_else(|| Error::invalid(format!("the saved optimiser state has no {name}")));
        let saved_average = find(AVERAGE)?;
        if saved_average.is_some() != self.average.is_some() {
            return Err(Error::invalid("the saved optimiser state and the run disagree on keeping a weight average"));
        }
        let (parameters, first, second) = (required(PARAMETERS)?, required(FIRST_MOMENT)?, required(SECOND_MOMENT)?);
        tch::no_grad(|| -> Result<()> {
            self.parameters.f_copy_(parameters)?;
            self.first_moment.f_copy_(first)?;
            self.second_moment.f_copy_(second)?;
            if let (Some((_, average)), Some(saved)) = (&mut self.average, saved_average) {
                average.f_copy_(saved)?;
            }
            Ok(())
        })?;
        self.steps = i32::try_from(steps).map_err(|_| Error::invalid(format!("{steps} optimiser steps are too many to resume")))?;
        self.swapped = false;
        Ok(())
    }

    /// Sets every gradient to zero.
    pub fn zero_grad(&mut self) {
        let _ = self.gradients.zero_();
    }

    /// Clamps every gradient entry to ±`clamp` (if given), then scales the gradients so that their
    /// joint norm is at most `max` (0: no limit), without reading anything back to the host (a GPU
    /// keeps running); returns the norm before the norm clip.
    pub fn clip_gradients(&mut self, max: f64, clamp: Option<f64>) -> Tensor {
        if let Some(bound) = clamp {
            let _ = self.gradients.clamp_(-bound, bound);
        }
        let norm = self.gradients.norm();
        if max > 0.0 {
            let scale = (max / (&norm + 1e-6)).clamp_max(1.0);
            let _ = self.gradients.g_mul_(&scale);
        }
        norm
    }

    /// One Adam update with learning rate `lr`.
    pub fn step(&mut self, lr: f64) {
        let AdamConfig { beta1, beta2, eps, weight_decay } = self.config;
        self.steps += 1;
        let first_correction = 1.0 - beta1.powi(self.steps);
        let second_correction = 1.0 - beta2.powi(self.steps);
        tch::no_grad(|| {
            let gradient = match weight_decay {
                0.0 => self.gradients.shallow_clone(),
                decay => &self.gradients + &self.parameters * decay,
            };
            let _ = self.first_moment.lerp_(&gradient, 1.0 - beta1);
            let _ = self.second_moment.g_mul_scalar_(beta2).addcmul_(&(&gradient * (1.0 - beta2)), &gradient);
            // p ← p − lr·m̂ / (√v̂ + eps), as p + m / d with d = −(√v/√c₂ + eps)·c₁/lr.
            let step_size = -first_correction / lr;
            let mut denominator = self.second_moment.sqrt();
            let _ = denominator.g_mul_scalar_(step_size / second_correction.sqrt()).g_add_scalar_(eps * step_size);
            let _ = self.parameters.addcdiv_(&self.first_moment, &denominator);
            if let Some((decay, average)) = &mut self.average {
                let _ = average.lerp_(&self.parameters, 1.0 - *decay);
            }
        });
    }
}

/// Views into the flat `buffer`, one per variable, shaped like it and in order.
fn views<'a>(buffer: &'a Tensor, variables: &'a [Tensor]) -> impl Iterator<Item = Tensor> + 'a {
    variables.iter().scan(0, move |offset, variable| {
        let numel = variable.numel() as i64;
        let view = buffer.narrow(0, *offset, numel).view(variable.size().as_slice());
        *offset += numel;
        Some(view)
    })
}

/// Gives every variable a gradient tensor (zeros), so that it can be re-pointed into the flat buffer
/// before the first real backward pass.
fn materialise_gradients(variables: &[Tensor]) -> Result<()> {
    tch::with_grad(|| {
        let touched: Vec<Tensor> = variables.iter().map(|variable| (variable * 0.0).sum(Kind::Float)).collect();
        Tensor::stack(&touched, 0).sum(Kind::Float).f_backward()
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use tch::{nn, nn::OptimizerConfig, Device};

    use super::*;

    const PLAIN: AdamConfig = AdamConfig { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0 };

    type Net = (nn::Linear, nn::Linear);

    fn layers(path: &nn::Path) -> Net {
        (nn::linear(path / "a", 3, 5, Default::default()), nn::linear(path / "b", 5, 2, Default::default()))
    }

    fn loss((first, second): &Net, x: &Tensor) -> Tensor {
        x.apply(first).tanh().apply(second).square().mean(Kind::Float)
    }

    fn batch() -> Tensor {
        Tensor::randn([7, 3], (Kind::Float, Device::Cpu))
    }

    /// The variables of `store`, flattened and joined in order.
    fn joined(store: &nn::VarStore, part: impl Fn(&Tensor) -> Tensor) -> Tensor {
        let parts: Vec<Tensor> = store.trainable_variables().iter().map(|v| part(v).view([-1])).collect();
        Tensor::cat(&parts, 0)
    }

    /// A small network and a plain optimiser over it.
    fn network() -> (nn::VarStore, Net, FlatAdam) {
        let store = nn::VarStore::new(Device::Cpu);
        let net = layers(&store.root());
        let adam = FlatAdam::new(&store.trainable_variables(), PLAIN).unwrap();
        (store, net, adam)
    }

    #[test]
    fn parameters_and_gradients_are_views_of_the_buffers() {
        let store = nn::VarStore::new(Device::Cpu);
        let net = layers(&store.root());
        let before = joined(&store, Tensor::copy);
        let mut adam = FlatAdam::new(&store.trainable_variables(), PLAIN).unwrap();
        assert!(before.equal(&adam.parameters), "values survive the move into the buffer");
        adam.zero_grad();
        loss(&net, &batch()).backward();
        assert!(joined(&store, Tensor::grad).equal(&adam.gradients));
        assert!(adam.gradients.abs().sum(Kind::Float).double_value(&[]) > 0.0);
        let _ = adam.parameters.shallow_clone().g_add_scalar_(1.0);
        assert!(joined(&store, Tensor::shallow_clone).equal(&adam.parameters), "the model sees the buffer's update");
    }

    #[test]
    fn updates_match_libtorch_adam() {
        let (ours, mut theirs) = (nn::VarStore::new(Device::Cpu), nn::VarStore::new(Device::Cpu));
        let (net_ours, net_theirs) = (layers(&ours.root()), layers(&theirs.root()));
        theirs.copy(&ours).unwrap();
        let config = AdamConfig { beta1: 0.9, beta2: 0.99, eps: 1e-6, weight_decay: 1e-3 };
        let mut flat = FlatAdam::new(&ours.trainable_variables(), config).unwrap();
        let reference = nn::Adam { beta1: 0.9, beta2: 0.99, wd: 1e-3, eps: 1e-6, amsgrad: false };
        let mut reference = reference.build(&theirs, 1e-2).unwrap();
        for step in 0..20 {
            let x = batch();
            flat.zero_grad();
            loss(&net_ours, &x).backward();
            flat.step(1e-2);
            reference.zero_grad();
            loss(&net_theirs, &x).backward();
            reference.step();
            let gap = (joined(&ours, Tensor::shallow_clone) - joined(&theirs, Tensor::shallow_clone)).abs().max();
            assert!(gap.double_value(&[]) < 1e-5, "step {step}: parameters differ by {gap}");
        }
    }

    #[test]
    fn the_average_trails_the_parameters() {
        let (store, net, mut adam) = network();
        assert!(!adam.swap_average(), "no average kept yet");
        adam.keep_average(0.75);
        let start = adam.parameters.copy();
        adam.zero_grad();
        loss(&net, &batch()).backward();
        adam.step(0.1);
        assert!(!start.allclose(&adam.parameters, 1e-4, 1e-4, false), "the step moved the parameters");
        let last = adam.parameters.copy();
        let expected = &start * 0.75 + &last * 0.25;
        assert!(adam.swap_average());
        let gap = (joined(&store, Tensor::shallow_clone) - expected).abs().max().double_value(&[]);
        assert!(gap < 1e-6, "the model holds the average: off by {gap}");
        assert!(adam.swap_average());
        assert!(adam.parameters.equal(&last), "swapping back restores the last parameters");
    }

    #[test]
    fn clipping_bounds_the_joint_norm() {
        let (store, net, mut adam) = network();
        adam.zero_grad();
        (loss(&net, &batch()) * 1e4).backward();
        let norm = adam.clip_gradients(0.5, None).double_value(&[]);
        assert!(norm > 0.5);
        let after = joined(&store, Tensor::grad).norm().double_value(&[]);
        assert!((after - 0.5).abs() < 1e-4, "norm after clipping {after}");
    }

    #[test]
    fn clamping_bounds_each_entry_and_no_norm_clip_keeps_the_rest() {
        let (store, net, mut adam) = network();
        adam.zero_grad();
        (loss(&net, &batch()) * 1e4).backward();
        let before = joined(&store, Tensor::grad);
        let bound = before.abs().max().double_value(&[]) / 2.0;
        let _ = adam.clip_gradients(0.0, Some(bound));
        let after = joined(&store, Tensor::grad);
        assert!(after.equal(&before.clamp(-bound, bound)), "each entry clamped, nothing scaled");
        assert!(before.abs().lt(bound).any().int64_value(&[]) == 1, "some entries were inside the bound");
    }
}
