//! The eight-mode Gaussian mixture: 2-D points, their mode's colour as a one-hot label.

use std::str::FromStr;

use tch::{Device, Kind, Tensor};

use super::{numbered, Problem};
use crate::error::{parse_choice, Error, Result};
use crate::model::checkpoint::ProblemInfo;

/// Standard deviation of each mode.
pub const MODE_STD: f64 = 0.2;
/// Width of the one-hot label.
pub const COLOURS: i64 = 8;
const A: f32 = 2.4142;
const B: f32 = 1.0;
/// Centres of the eight modes, in the order that the label maps refer to.
pub const CENTRES: [[f32; 2]; 8] = [[A, B], [A, -B], [-A, B], [-A, -B], [B, A], [B, -A], [-B, A], [-B, -A]];

/// How the eight modes are coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LabelMap {
    /// Each mode its own colour.
    All,
    /// Modes 1–4 colour 0, modes 5–6 colour 1, mode 7 colour 2, mode 8 colour 3.
    Some,
}

impl LabelMap {
    /// The colour of each mode.
    pub fn colours(self) -> [i64; 8] {
        match self {
            LabelMap::All => [0, 1, 2, 3, 4, 5, 6, 7],
            LabelMap::Some => [0, 0, 0, 0, 1, 1, 2, 3],
        }
    }

    /// Number of colours in use.
    pub fn used_colours(self) -> i64 {
        self.colours().iter().max().map_or(0, |c| c + 1)
    }

    fn name(self) -> &'static str {
        match self {
            LabelMap::All => "all",
            LabelMap::Some => "some",
        }
    }
}

impl FromStr for LabelMap {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        parse_choice(text, "gmm label map", &["all", "some"])
    }
}

/// The mixture with a label map.
#[derive(Debug, Clone, Copy)]
pub struct GaussianMixture {
    /// How modes are coloured.
    pub labels: LabelMap,
}

impl GaussianMixture {
    /// The mixture with the given colouring.
    pub fn new(labels: LabelMap) -> Self {
        GaussianMixture { labels }
    }

    /// The mode centres, [8, 2].
    pub fn centres(device: Device) -> Tensor {
        Tensor::from_slice(CENTRES.as_flattened()).view([8, 2]).to_device(device)
    }

    /// The colour of each mode, [8] (int64).
    pub fn mode_colours(&self, device: Device) -> Tensor {
        Tensor::from_slice(&self.labels.colours()).to_device(device)
    }

    /// The index of the nearest mode of each row of x.
    pub fn nearest_mode(x: &Tensor) -> Tensor {
        let centres = Self::centres(x.device()).to_kind(x.kind());
        (x.unsqueeze(1) - centres.unsqueeze(0)).square().sum_dim_intlist(2, false, x.kind()).argmin(1, false)
    }

    /// `n` points and the modes that generated them.
    fn draw(&self, n: i64, device: Device) -> (Tensor, Tensor) {
        let modes = Tensor::randint(8, [n], (Kind::Int64, device));
        let x = Self::centres(device).index_select(0, &modes) + Tensor::randn([n, 2], (Kind::Float, device)) * MODE_STD;
        (x, modes)
    }

    fn one_hot_colour(&self, modes: &Tensor) -> Tensor {
        self.mode_colours(modes.device()).index_select(0, modes).one_hot(COLOURS).to_kind(Kind::Float)
    }
}

impl Problem for GaussianMixture {
    fn info(&self) -> ProblemInfo {
        ProblemInfo {
            name: "gmm".into(),
            options: [("labels".to_string(), self.labels.name().to_string())].into(),
            x_names: numbered("x", 2),
            y_names: numbered("y", COLOURS as usize),
        }
    }

    fn sample_prior(&self, n: i64, device: Device) -> Tensor {
        self.draw(n, device).0
    }

    /// The colour of the nearest mode (the modes are ten standard deviations apart).
    fn simulate(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.one_hot_colour(&Self::nearest_mode(x)))
    }

    /// The label is the colour of the generating mode.
    fn sample_joint(&self, n: i64, device: Device) -> Result<(Tensor, Tensor)> {
        let (x, modes) = self.draw(n, device);
        Ok((x, self.one_hot_colour(&modes)))
    }

    fn inn_widths(&self) -> (i64, i64) {
        (2, 16)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_the_map() {
        tch::manual_seed(0);
        let problem = GaussianMixture::new(LabelMap::Some);
        let (x, y) = problem.sample_joint(10_000, Device::Cpu).unwrap();
        assert_eq!(y.size(), [10_000, 8]);
        // The simulated colour agrees with the generating mode's colour.
        assert!(problem.simulate(&x).unwrap().equal(&y));
        let counts = Vec::<f32>::try_from(y.sum_dim_intlist(0, false, Kind::Float)).unwrap();
        assert!((counts[0] / 10_000.0 - 0.5).abs() < 0.03, "{counts:?}");
        assert_eq!(&counts[4..], &[0.0; 4]);
        assert_eq!(LabelMap::All.used_colours(), 8);
        assert_eq!(LabelMap::Some.used_colours(), 4);
    }
}
