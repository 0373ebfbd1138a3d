//! The tasks of the simulation-based inference benchmark (sbibm, Lueckmann et al., AISTATS 2021),
//! with its priors and simulators. Column names are sbibm's: `parameter_i` (x) and `data_i` (y).

mod distractors;
pub mod glm;
pub mod ode;

use std::path::PathBuf;

use std::f64::consts::FRAC_PI_2;

use tch::{Device, Kind, Tensor};

use super::{default_inn_widths, LogColumns, Problem};
use crate::error::Result;
use crate::model::checkpoint::ProblemInfo;
use crate::model::Bounds;

/// Which sbibm task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// θ ~ U(−1, 1)²; a crescent around a point that depends on |θ1 + θ2| and θ2 − θ1.
    TwoMoons,
    /// θ ~ U(−10, 10)²; y ~ N(θ, I) or N(θ, 0.01 I), equally likely.
    GaussianMixture,
    /// θ ~ U(−3, 3)⁵; four draws of a 2-D Gaussian with mean (θ1, θ2), scales θ3², θ4² and
    /// correlation tanh θ5.
    Slcp,
    /// θ ~ N(0, 0.1 I₁₀); y ~ N(θ, 0.1 I₁₀).
    GaussianLinear,
    /// θ ~ U(−1, 1)¹⁰; y ~ N(θ, 0.1 I₁₀).
    GaussianLinearUniform,
    /// θ ~ a Gaussian smoothness prior; spikes of a logistic GLM of a fixed stimulus, summarised by
    /// their ten sufficient statistics.
    BernoulliGlm,
    /// As [`Task::BernoulliGlm`], the 100 spikes themselves.
    BernoulliGlmRaw,
    /// SLCP's eight values among 92 distractors that do not depend on θ.
    SlcpDistractors,
    /// θ = (β, γ) log-normal; an SIR epidemic observed as ten binomial counts.
    Sir,
    /// θ = (α, β, γ, δ) log-normal; predator and prey counts at ten times with log-normal noise.
    LotkaVolterra,
}

impl Task {
    /// Every task built in.
    pub const ALL: [Task; 10] = [
        Task::TwoMoons,
        Task::GaussianMixture,
        Task::Slcp,
        Task::GaussianLinear,
        Task::GaussianLinearUniform,
        Task::BernoulliGlm,
        Task::BernoulliGlmRaw,
        Task::SlcpDistractors,
        Task::Sir,
        Task::LotkaVolterra,
    ];

    /// The task of an sbibm name.
    pub fn named(name: &str) -> Option<Task> {
        Task::ALL.into_iter().find(|task| task.name() == name)
    }

    /// The sbibm name.
    pub fn name(self) -> &'static str {
        match self {
            Task::TwoMoons => "two_moons",
            Task::GaussianMixture => "gaussian_mixture",
            Task::Slcp => "slcp",
            Task::GaussianLinear => "gaussian_linear",
            Task::GaussianLinearUniform => "gaussian_linear_uniform",
            Task::BernoulliGlm => "bernoulli_glm",
            Task::BernoulliGlmRaw => "bernoulli_glm_raw",
            Task::SlcpDistractors => "slcp_distractors",
            Task::Sir => "sir",
            Task::LotkaVolterra => "lotka_volterra",
        }
    }

    /// Widths of θ and of the data.
    pub fn dims(self) -> (i64, i64) {
        match self {
            Task::TwoMoons | Task::GaussianMixture => (2, 2),
            Task::Slcp => (5, 8),
            Task::GaussianLinear | Task::GaussianLinearUniform | Task::BernoulliGlm => (10, 10),
            Task::BernoulliGlmRaw => (10, 100),
            Task::SlcpDistractors => (5, 100),
            Task::Sir => (2, 10),
            Task::LotkaVolterra => (4, 20),
        }
    }

    /// Checks that what the task needs beyond its code is there (slcp_distractors: sbibm's
    /// distractor distribution, which scripts/setup.sh extracts).
    pub fn check_files(self) -> Result<()> {
        if self == Task::SlcpDistractors {
            distractors::Distractors::get()?;
        }
        Ok(())
    }
}

/// The folder of sbibm's files that scripts/setup.sh writes: `$INNFER_SBIBM`, or `sbibm-1.1.0` in
/// innfer's cache (`$INNFER_CACHE`, else `$XDG_CACHE_HOME/innfer`, else `~/.cache/innfer`).
pub fn files_folder() -> PathBuf {
    if let Some(folder) = std::env::var_os("INNFER_SBIBM") {
        return PathBuf::from(folder);
    }
    let cache = std::env::var_os("INNFER_CACHE").map(PathBuf::from).unwrap_or_else(|| {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache"));
        base.join("innfer")
    });
    cache.join("sbibm-1.1.0")
}

/// Independent log-normal draws: exp(N(loc, scale²)) per column, [n, loc.len()].
fn log_normal(n: i64, loc: &[f64], scale: &[f64], device: Device) -> Tensor {
    let options = (Kind::Float, device);
    let (loc, scale) =
        (Tensor::from_slice(loc).to_kind(Kind::Float).to_device(device), Tensor::from_slice(scale).to_kind(Kind::Float).to_device(device));
    (Tensor::randn([n, loc.size()[0]], options) * scale + loc).exp()
}

/// Uniform draws on (−bound, bound), shape [n, width].
fn uniform(n: i64, width: i64, bound: f64, device: Device) -> Tensor {
    (Tensor::rand([n, width], (Kind::Float, device)) * 2.0 - 1.0) * bound
}

fn names(prefix: &str, count: i64) -> Vec<String> {
    (1..=count).map(|index| format!("{prefix}_{index}")).collect()
}

/// SLCP's data for each row of θ: four draws of a 2-D Gaussian with mean (θ1, θ2), scales θ3² and
/// θ4², correlation tanh θ5 and 10^-6 added to the variances (as sbibm does), [n, 8].
fn slcp(x: &Tensor) -> Tensor {
    let (n, options) = (x.size()[0], (x.kind(), x.device()));
    let (mean, theta) = (x.narrow(1, 0, 2).unsqueeze(1), |i: i64| x.narrow(1, i, 1));
    let (s1, s2, rho) = (theta(2).square(), theta(3).square(), theta(4).tanh());
    // y = mean + L·ε with L the Cholesky factor of [[s1² + 10^-6, ρ s1 s2], [ρ s1 s2, s2² + 10^-6]].
    let l11 = (s1.square() + 1e-6).sqrt();
    let l21 = &rho * &s1 * &s2 / &l11;
    let l22 = (s2.square() + 1e-6 - l21.square()).sqrt();
    let noise = Tensor::randn([n, 4, 2], options);
    let (e1, e2) = (noise.select(2, 0), noise.select(2, 1));
    let second = &l21 * &e1 + l22 * e2;
    (Tensor::stack(&[l11 * e1, second], 2) + mean).view([n, 8])
}

impl Problem for Task {
    fn info(&self) -> ProblemInfo {
        let (dx, dy) = self.dims();
        ProblemInfo { name: self.name().into(), options: Default::default(), x_names: names("parameter", dx), y_names: names("data", dy) }
    }

    fn sample_prior(&self, n: i64, device: Device) -> Tensor {
        match self {
            Task::TwoMoons => uniform(n, 2, 1.0, device),
            Task::GaussianMixture => uniform(n, 2, 10.0, device),
            Task::Slcp => uniform(n, 5, 3.0, device),
            Task::GaussianLinear => Tensor::randn([n, 10], (Kind::Float, device)) * 0.1f64.sqrt(),
            Task::GaussianLinearUniform => uniform(n, 10, 1.0, device),
            Task::BernoulliGlm | Task::BernoulliGlmRaw => glm::sample_prior(n, device),
            Task::SlcpDistractors => uniform(n, 5, 3.0, device),
            Task::Sir => log_normal(n, &[0.4f64.ln(), 0.125f64.ln()], &[0.5, 0.2], device),
            Task::LotkaVolterra => log_normal(n, &[-0.125, -3.0, -0.125, -3.0], &[0.5; 4], device),
        }
    }

    fn simulate(&self, x: &Tensor) -> Result<Tensor> {
        let (n, options) = (x.size()[0], (x.kind(), x.device()));
        Ok(match self {
            Task::TwoMoons => {
                let angle = (Tensor::rand([n, 1], options) * 2.0 - 1.0) * FRAC_PI_2;
                let radius = Tensor::randn([n, 1], options) * 0.01 + 0.1;
                let crescent = Tensor::cat(&[angle.cos() * &radius + 0.25, angle.sin() * radius], 1);
                let (first, second) = (x.narrow(1, 0, 1), x.narrow(1, 1, 1));
                let shift = Tensor::cat(&[-(&first + &second).abs(), second - first], 1) / 2f64.sqrt();
                crescent + shift
            }
            Task::GaussianMixture => {
                let broad = Tensor::rand([n, 1], options).lt(0.5).to_kind(x.kind());
                let scale = &broad * 0.9 + 0.1;
                x + Tensor::randn([n, 2], options) * scale
            }
            Task::Slcp => slcp(x),
            Task::GaussianLinear | Task::GaussianLinearUniform => x + Tensor::randn([n, 10], options) * 0.1f64.sqrt(),
            Task::BernoulliGlm => glm::simulate(x, false),
            Task::BernoulliGlmRaw => glm::simulate(x, true),
            Task::SlcpDistractors => distractors::Distractors::get()?.hide(&slcp(x)),
            Task::Sir => ode::sir(x)?,
            Task::LotkaVolterra => ode::lotka_volterra(x)?,
        })
    }

    fn x_bounds(&self) -> Option<Bounds> {
        let bound = match self {
            Task::TwoMoons => 1.0,
            Task::GaussianMixture => 10.0,
            Task::Slcp | Task::SlcpDistractors => 3.0,
            Task::GaussianLinearUniform => 1.0,
            Task::GaussianLinear | Task::BernoulliGlm | Task::BernoulliGlmRaw | Task::Sir | Task::LotkaVolterra => return None,
        };
        Bounds::uniform(self.dims().0 as usize, -bound, bound).ok()
    }

    fn inn_widths(&self) -> (i64, i64) {
        let (dx, dy) = self.dims();
        default_inn_widths(dx, dy)
    }

    /// SIR's and Lotka–Volterra's priors are log-normal; Lotka–Volterra's data too (SIR's are
    /// binomial shares, which can be 0).
    fn log_scale_columns(&self) -> LogColumns {
        let (dx, dy) = self.dims();
        let all = |count: i64| vec![true; count as usize];
        match self {
            Task::Sir => LogColumns { x: all(dx), y: Vec::new() },
            Task::LotkaVolterra => LogColumns { x: all(dx), y: all(dy) },
            _ => LogColumns::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulators_have_the_published_moments() {
        tch::manual_seed(11);
        let n = 200_000;
        let device = Device::Cpu;
        // Gaussian linear: y − θ has variance 0.1 per dimension.
        let theta = Task::GaussianLinear.sample_prior(n, device);
        let y = Task::GaussianLinear.simulate(&theta).unwrap();
        let variance = (y - &theta).var_dim(0, true, false).mean(Kind::Float).double_value(&[]);
        assert!((variance - 0.1).abs() < 0.002, "{variance}");
        // Gaussian mixture: variance (1 + 0.01) / 2 around θ.
        let theta = Task::GaussianMixture.sample_prior(n, device);
        let y = Task::GaussianMixture.simulate(&theta).unwrap();
        let variance = (y - &theta).var_dim(0, true, false).mean(Kind::Float).double_value(&[]);
        assert!((variance - 0.505).abs() < 0.01, "{variance}");
        // SLCP at θ = (1, −1, 0.5, 1.2, atanh 0.6): scales 0.25 and 1.44, correlation 0.6.
        let theta = Tensor::from_slice(&[1.0f32, -1.0, 0.5, 1.2, 0.6f32.atanh()]).view([1, 5]).repeat([n / 4, 1]);
        let y = Task::Slcp.simulate(&theta).unwrap().view([-1, 2]);
        let mean = Vec::<f64>::try_from(y.mean_dim(0, false, Kind::Double)).unwrap();
        let std = Vec::<f64>::try_from(y.std_dim(0, true, false).to_kind(Kind::Double)).unwrap();
        let centred = &y - y.mean_dim(0, true, Kind::Float);
        let correlation = (centred.select(1, 0) * centred.select(1, 1)).mean(Kind::Float).double_value(&[]) / (std[0] * std[1]);
        assert!((mean[0] - 1.0).abs() < 0.01 && (mean[1] + 1.0).abs() < 0.02, "{mean:?}");
        assert!((std[0] - 0.25).abs() < 0.005 && (std[1] - 1.44).abs() < 0.02, "{std:?}");
        assert!((correlation - 0.6).abs() < 0.01, "{correlation}");
        // Two moons at θ = 0: a crescent of radius 0.1 around (0.25, 0), on its right half.
        let y = Task::TwoMoons.simulate(&Tensor::zeros([n, 2], (Kind::Float, device))).unwrap();
        let offset = &y - Tensor::from_slice(&[0.25f32, 0.0]);
        let radius = offset.square().sum_dim_intlist(1, false, Kind::Float).sqrt();
        assert!((radius.mean(Kind::Float).double_value(&[]) - 0.1).abs() < 0.001);
        assert!(offset.select(1, 0).min().double_value(&[]) >= -0.01);
        // θ = (0.5, 0.3) moves it by (−0.8, −0.2)/√2.
        let theta = Tensor::from_slice(&[0.5f32, 0.3]).view([1, 2]).repeat([n, 1]);
        let shifted = Task::TwoMoons.simulate(&theta).unwrap().mean_dim(0, false, Kind::Double) - y.mean_dim(0, false, Kind::Double);
        let expected = Tensor::from_slice(&[-0.8f64, -0.2]) / 2f64.sqrt();
        assert!(shifted.allclose(&expected, 0.0, 0.003, false), "{shifted:?}");
    }
}
