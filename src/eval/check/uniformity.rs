//! Is a sample uniform on [0, 1]? The empirical CDF against the uniform one, with simultaneous
//! bands (Säilynoja, Bürkner and Vehtari 2022): SBC's ranks, coverage levels and TARP all reduce to it.
//!
//! At each grid point z the count of values ≤ z is Binomial(N, z) under uniformity. The test statistic
//! is the smallest pointwise two-sided binomial p-value over the grid; its distribution under
//! uniformity is simulated, which gives both the simultaneous band (the pointwise level γ whose
//! intervals hold the whole ECDF with probability 0.95) and a p-value for the observed ECDF.

use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

/// Uniform samples drawn to calibrate the test (p-values are multiples of 1/(SIMULATIONS + 1)).
const SIMULATIONS: i64 = 4000;
/// Most uniform draws held at once while simulating.
const SIMULATION_CELLS: i64 = 1 << 22;
/// Probability with which the band holds the whole ECDF of a uniform sample.
pub const BAND_LEVEL: f64 = 0.95;

/// The simultaneous band of the ECDF minus the uniform CDF, at each grid point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Band {
    /// Grid points in (0, 1).
    pub grid: Vec<f64>,
    /// Lowest ECDF(z) − z inside the band.
    pub lower: Vec<f64>,
    /// Highest ECDF(z) − z inside the band.
    pub upper: Vec<f64>,
}

/// One column's test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Uniformity {
    /// ECDF(z) − z at each grid point.
    pub ecdf_difference: Vec<f64>,
    /// Probability that a uniform sample's ECDF strays at least as far (simultaneously over the grid).
    pub p_value: f64,
    /// Mean of the values (½ when uniform).
    pub mean: f64,
    /// Variance of the values (1/12 when uniform).
    pub variance: f64,
}

impl Uniformity {
    /// Standardised departure of the mean from ½ (about N(0, 1) under uniformity).
    pub fn mean_score(&self, rows: i64) -> f64 {
        (self.mean - 0.5) / (1.0 / (12.0 * rows as f64)).sqrt()
    }

    /// Standardised departure of the variance from 1/12 (about N(0, 1) under uniformity; positive
    /// when the values crowd at both ends).
    pub fn spread_score(&self, rows: i64) -> f64 {
        (self.variance - 1.0 / 12.0) / (1.0 / (180.0 * rows as f64)).sqrt()
    }
}

/// `n` grid points i/(n + 1), i = 1…n.
pub fn even_grid(n: usize) -> Vec<f64> {
    (1..=n).map(|i| i as f64 / (n + 1) as f64).collect()
}

/// Tests each column of `values` ([rows, columns], in [0, 1]) for uniformity on `grid` (points in
/// (0, 1)). Draws from libtorch's generator to simulate the test's null distribution.
pub fn test_uniformity(values: &Tensor, grid: &[f64]) -> (Band, Vec<Uniformity>) {
    let _no_grad = tch::no_grad_guard();
    let device = values.device();
    let values = values.to_kind(Kind::Double);
    let rows = values.size()[0];
    let z = Tensor::from_slice(grid).to_device(device);
    let pointwise = pointwise_p_values(rows, &z);
    let minima = null_minima(&pointwise, rows, &z);
    let gamma = minima.kthvalue((SIMULATIONS / 20).max(1), 0, false).0.double_value(&[]);
    let band = band(&pointwise, gamma, rows, grid);

    let counts = counts_below(&values.transpose(0, 1), &z); // [columns, grid]
    let observed_min = smallest_p(&pointwise, &counts);
    let exceed = minima.unsqueeze(0).le_tensor(&observed_min.unsqueeze(1)).sum_dim_intlist(1, false, Kind::Double);
    let p_values = (exceed + 1.0) / (SIMULATIONS + 1) as f64;
    let ecdf = counts.to_kind(Kind::Double) / rows as f64 - z.unsqueeze(0);
    let means = values.mean_dim(0, false, Kind::Double);
    let variances = values.var_dim(0, false, false);
    let columns = values.size()[1];
    let tests = (0..columns)
        .map(|column| Uniformity {
            ecdf_difference: Vec::<f64>::try_from(ecdf.get(column)).unwrap_or_default(),
            p_value: p_values.double_value(&[column]),
            mean: means.double_value(&[column]),
            variance: variances.double_value(&[column]),
        })
        .collect();
    (band, tests)
}

/// The two-sided binomial p-value of every count 0…rows at every grid point: [grid, rows + 1].
fn pointwise_p_values(rows: i64, z: &Tensor) -> Tensor {
    let device = z.device();
    let counts = Tensor::arange(rows + 1, (Kind::Double, device));
    let n = rows as f64;
    let log_n_factorial = Tensor::full([1], n + 1.0, (Kind::Double, device)).lgamma();
    let log_choose = log_n_factorial - (&counts + 1.0).lgamma() - (-&counts + n + 1.0).lgamma();
    let z = z.unsqueeze(1);
    let log_pmf = log_choose.unsqueeze(0) + counts.unsqueeze(0) * z.log() + (-&counts + n).unsqueeze(0) * (-&z).log1p();
    let pmf = log_pmf.exp();
    let cdf = pmf.cumsum(1, Kind::Double);
    let survival = pmf.flip([1]).cumsum(1, Kind::Double).flip([1]);
    (cdf.minimum(&survival) * 2.0).clamp_max(1.0)
}

/// For each row of `values` ([columns, rows]), how many of its values are ≤ each grid point.
fn counts_below(values: &Tensor, z: &Tensor) -> Tensor {
    let sorted = values.contiguous().sort(1, false).0;
    let grid = z.unsqueeze(0).expand([sorted.size()[0], z.size()[0]], false).contiguous();
    grid.searchsorted(&sorted, false, true, "right", None::<Tensor>)
}

/// The smallest pointwise p-value over the grid of each row of `counts` ([columns, grid]).
fn smallest_p(pointwise: &Tensor, counts: &Tensor) -> Tensor {
    pointwise.gather(1, &counts.transpose(0, 1), false).min_dim(0, false).0
}

/// The smallest pointwise p-value of [`SIMULATIONS`] uniform samples of `rows` values.
fn null_minima(pointwise: &Tensor, rows: i64, z: &Tensor) -> Tensor {
    let device = z.device();
    let per_chunk = (SIMULATION_CELLS / rows.max(1)).clamp(1, SIMULATIONS);
    let mut minima = Vec::new();
    let mut done = 0;
    while done < SIMULATIONS {
        let chunk = per_chunk.min(SIMULATIONS - done);
        let uniform = Tensor::rand([chunk, rows], (Kind::Double, device));
        minima.push(smallest_p(pointwise, &counts_below(&uniform, z)));
        done += chunk;
    }
    Tensor::cat(&minima, 0)
}

/// The band: at each grid point, the counts whose pointwise p-value exceeds `gamma`, as ECDF − z.
fn band(pointwise: &Tensor, gamma: f64, rows: i64, grid: &[f64]) -> Band {
    let inside = pointwise.gt(gamma).to_kind(Kind::Int64);
    let lowest = inside.argmax(1, false);
    let highest = -inside.flip([1]).argmax(1, false) + rows;
    let as_ecdf = |counts: Tensor| -> Vec<f64> {
        let ecdf = Vec::<f64>::try_from(counts.to_kind(Kind::Double).to_device(Device::Cpu) / rows as f64).unwrap_or_default();
        ecdf.iter().zip(grid).map(|(e, z)| e - z).collect()
    };
    Band { grid: grid.to_vec(), lower: as_ecdf(lowest), upper: as_ecdf(highest) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(values: Tensor) -> Tensor {
        values.view([-1, 1])
    }

    #[test]
    fn uniform_samples_pass_and_skewed_ones_fail() {
        tch::manual_seed(11);
        let grid = even_grid(99);
        let options = (Kind::Double, Device::Cpu);
        let uniform = Tensor::rand([1000], options);
        let (band, tests) = test_uniformity(&column(uniform.shallow_clone()), &grid);
        assert!(tests[0].p_value > 0.05, "{:?}", tests[0].p_value);
        // The band is about ±1.36/√N wide in the middle (the Kolmogorov bound), narrower at the ends.
        let middle = band.upper[49] - band.lower[49];
        assert!((0.07..0.12).contains(&middle), "{middle}");
        assert!(band.upper[0] - band.lower[0] < middle);
        // Values squeezed towards the middle, pushed to the ends, or shifted: all rejected.
        for (name, bent) in [
            ("squeezed", (&uniform - 0.5) * 0.8 + 0.5),
            ("at the ends", (-(&uniform * std::f64::consts::PI).cos() + 1.0) * 0.5),
            ("shifted", uniform.pow_tensor_scalar(1.3)),
        ] {
            let (_, tests) = test_uniformity(&column(bent), &grid);
            assert!(tests[0].p_value < 0.01, "{name}: {}", tests[0].p_value);
        }
    }

    #[test]
    fn the_band_holds_uniform_samples_about_95_percent_of_the_time() {
        tch::manual_seed(12);
        let grid = even_grid(19);
        let samples = Tensor::rand([200, 400], (Kind::Double, Device::Cpu));
        let (_, tests) = test_uniformity(&samples, &grid);
        let rejected = tests.iter().filter(|test| test.p_value < 0.05).count();
        // Binomial(400, 0.05): mean 20, sd 4.4.
        assert!((8..=33).contains(&rejected), "{rejected} of 400 rejected at 0.05");
    }
}
