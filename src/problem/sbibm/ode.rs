//! Ordinary differential equations solved in batches on the device: an adaptive Dormand–Prince 5(4)
//! solver with a step size of its own for each row, and the two sbibm tasks built on one, SIR and
//! Lotka–Volterra. Both are solved in the logarithms of their populations, which stay positive and
//! span orders of magnitude.

use tch::{Kind, Tensor};

use crate::error::{Error, Result};

/// Dormand–Prince 5(4): the stages' coefficients (row i: how stage i+2 combines stages 1..i+1).
const STAGES: [&[f64]; 6] = [
    &[1.0 / 5.0],
    &[3.0 / 40.0, 9.0 / 40.0],
    &[44.0 / 45.0, -56.0 / 15.0, 32.0 / 9.0],
    &[19372.0 / 6561.0, -25360.0 / 2187.0, 64448.0 / 6561.0, -212.0 / 729.0],
    &[9017.0 / 3168.0, -355.0 / 33.0, 46732.0 / 5247.0, 49.0 / 176.0, -5103.0 / 18656.0],
    &[35.0 / 384.0, 0.0, 500.0 / 1113.0, 125.0 / 192.0, -2187.0 / 6784.0, 11.0 / 84.0],
];
/// The fifth-order solution minus the embedded fourth-order one, per stage: the error estimate.
const ERROR: [f64; 7] = [
    35.0 / 384.0 - 5179.0 / 57600.0,
    0.0,
    500.0 / 1113.0 - 7571.0 / 16695.0,
    125.0 / 192.0 - 393.0 / 640.0,
    -2187.0 / 6784.0 + 92097.0 / 339200.0,
    11.0 / 84.0 - 187.0 / 2100.0,
    -1.0 / 40.0,
];
/// Relative and absolute tolerance of each step (on the logarithms).
const TOLERANCE: f64 = 1e-8;
/// Most steps a batch may take before the solver gives up.
const MAX_STEPS: usize = 200_000;

/// u(t) for du/dt = f(u) from u(0) = `start` ([n, d], float64), at each of the ascending `times`
/// (≥ 0): [n, times, d]. Every row takes its own steps, each accepted when its error estimate is
/// within the tolerance.
pub fn solve(start: &Tensor, f: &dyn Fn(&Tensor) -> Tensor, times: &[f64]) -> Result<Tensor> {
    let n = start.size()[0];
    let options = (Kind::Double, start.device());
    let (mut u, mut t) = (start.shallow_clone(), Tensor::zeros([n, 1], options));
    let mut h = Tensor::full([n, 1], 1e-3, options);
    let (mut states, mut steps) = (Vec::with_capacity(times.len()), 0);
    for &target in times {
        loop {
            let remaining = -&t + target;
            let active = remaining.gt(1e-12);
            if !bool::try_from(active.any())? {
                break;
            }
            steps += 1;
            if steps > MAX_STEPS {
                return Err(Error::invalid(format!("the ODE solver did not reach t = {target} within {MAX_STEPS} steps")));
            }
            let step = h.minimum(&remaining.clamp_min(0.0));
            let mut stages = vec![f(&u)];
            for weights in &STAGES[..5] {
                let increment = combine(weights, &stages, &u);
                stages.push(f(&(&u + &step * increment)));
            }
            // The fifth-order solution; its slope is the last stage of the error estimate.
            let next = &u + &step * combine(STAGES[5], &stages, &u);
            stages.push(f(&next));
            let estimate = &step * combine(&ERROR, &stages, &u);
            let scale = u.abs().maximum(&next.abs()) * TOLERANCE + TOLERANCE;
            let error = (estimate / scale).square().mean_dim(1, true, Kind::Double).sqrt();
            let finite = error.isfinite().logical_and(&next.isfinite().all_dim(1, true));
            let accept = error.le(1.0).logical_and(&finite).logical_and(&active);
            u = u.where_self(&accept.logical_not(), &next);
            t = t.where_self(&accept.logical_not(), &(&t + &step));
            let factor = (error.pow_tensor_scalar(-0.2) * 0.9).clamp(0.2, 5.0).where_scalarother(&finite, 0.2);
            h = h.where_self(&active.logical_not(), &(step * factor));
        }
        states.push(u.shallow_clone());
    }
    Ok(Tensor::stack(&states, 1))
}

/// The weighted sum of the stages' slopes.
fn combine(weights: &[f64], stages: &[Tensor], like: &Tensor) -> Tensor {
    weights.iter().zip(stages).fold(Tensor::zeros_like(like), |sum, (weight, slope)| sum + slope * *weight)
}

/// The infected share I(t)/N of sbibm's SIR epidemic at t = 0, 17, …, 153 days, for each row of
/// θ = (β, γ) ([n, 2], contact and recovery rates): a population of 10^6 with one infected at t = 0.
/// [n, 10], float64.
pub fn sir_infected(theta: &Tensor) -> Result<Tensor> {
    let parameters = theta.to_kind(Kind::Double);
    let (beta, gamma) = (parameters.narrow(1, 0, 1), parameters.narrow(1, 1, 1));
    // The logarithms of the susceptible and infected shares: (ln s)' = −β i, (ln i)' = β s − γ.
    let slope = |u: &Tensor| Tensor::cat(&[-(&beta * u.narrow(1, 1, 1).exp()), &beta * u.narrow(1, 0, 1).exp() - &gamma], 1);
    let infected_at_start = 1e-6;
    let start = Tensor::from_slice(&[(1.0f64 - infected_at_start).ln(), infected_at_start.ln()]).to_device(theta.device());
    let times: Vec<f64> = (0..10).map(|k| 17.0 * k as f64).collect();
    Ok(solve(&start.view([1, 2]).repeat([theta.size()[0], 1]), &slope, &times)?.select(2, 1).exp())
}

/// sbibm's SIR data: ten Binomial(1000, I(t)/N) counts ([`sir_infected`]), [n, 10].
pub fn sir(theta: &Tensor) -> Result<Tensor> {
    let infected = sir_infected(theta)?.clamp(0.0, 1.0).to_kind(Kind::Float);
    Ok(Tensor::binomial(&infected.full_like(1000.0), &infected).to_kind(theta.kind()))
}

/// The populations of sbibm's Lotka–Volterra model, x' = αx − βxy (prey), y' = −γy + δxy (predators),
/// from 30 prey and 1 predator, at t = 0, 2.1, …, 18.9 for each row of θ = (α, β, γ, δ) ([n, 4]): the
/// ten prey counts, then the ten predator counts, [n, 20], float64.
pub fn lotka_volterra_populations(theta: &Tensor) -> Result<Tensor> {
    let parameters = theta.to_kind(Kind::Double);
    let column = |index: i64| parameters.narrow(1, index, 1);
    let (alpha, beta, gamma, delta) = (column(0), column(1), column(2), column(3));
    // In logarithms: (ln x)' = α − βy, (ln y)' = −γ + δx.
    let slope = |u: &Tensor| Tensor::cat(&[&alpha - &beta * u.narrow(1, 1, 1).exp(), &delta * u.narrow(1, 0, 1).exp() - &gamma], 1);
    let start = Tensor::from_slice(&[30f64.ln(), 0.0]).to_device(theta.device());
    let times: Vec<f64> = (0..10).map(|k| 2.1 * k as f64).collect();
    let n = theta.size()[0];
    Ok(solve(&start.view([1, 2]).repeat([n, 1]), &slope, &times)?.exp().transpose(1, 2).reshape([n, 20]))
}

/// sbibm's Lotka–Volterra data: the populations ([`lotka_volterra_populations`]) clamped to
/// [10^-10, 10^4], each times a log-normal noise of scale 0.1, [n, 20].
pub fn lotka_volterra(theta: &Tensor) -> Result<Tensor> {
    let series = lotka_volterra_populations(theta)?.clamp(1e-10, 1e4);
    let noise = (series.randn_like() * 0.1).exp();
    Ok((series * noise).to_kind(theta.kind()))
}

#[cfg(test)]
mod tests {
    use tch::Device;

    use super::*;

    #[test]
    fn exponential_decay_matches_its_closed_form() {
        // u' = −k u: u(t) = e^{−kt}, rows with rates from 0.1 to 10.
        let rates = Tensor::from_slice(&[0.1f64, 1.0, 3.0, 10.0]).view([4, 1]);
        let times = [0.5, 1.0, 2.0, 4.0];
        let solution = solve(&Tensor::ones([4, 1], (Kind::Double, Device::Cpu)), &|u: &Tensor| -(&rates * u), &times).unwrap();
        let exact = (-(&rates * Tensor::from_slice(&times).view([1, 4]))).exp();
        let error = (solution.squeeze_dim(2) - &exact).abs().max().double_value(&[]);
        assert!(error < 1e-7, "largest error {error}");
    }

    #[test]
    fn lotka_volterra_keeps_its_first_integral() {
        // V = δx − γ ln x + βy − α ln y is constant along every orbit; prior draws of θ.
        tch::manual_seed(5);
        let theta =
            (Tensor::randn([200, 4], (Kind::Double, Device::Cpu)) * 0.5 + Tensor::from_slice(&[-0.125f64, -3.0, -0.125, -3.0])).exp();
        let populations = lotka_volterra_populations(&theta).unwrap();
        let (prey, predators) = (populations.narrow(1, 0, 10), populations.narrow(1, 10, 10));
        let column = |index: i64| theta.narrow(1, index, 1);
        let first_integral = column(3) * &prey - column(2) * prey.log() + column(1) * &predators - column(0) * predators.log();
        let drift = (&first_integral - first_integral.narrow(1, 0, 1)).abs().max().double_value(&[]);
        assert!(drift < 1e-5, "V drifted by {drift}");
    }
}
