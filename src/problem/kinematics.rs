//! Inverse kinematics of a planar arm with three segments on a vertical rail.
//!
//! x = (rail height, three joint angles) ~ N(0, diag(σ²)), σ = (0.25, 0.5, 0.5, 0.5); segment lengths
//! (0.5, 0.5, 1.0); y = the end point of the arm.

use tch::{Device, Kind, Tensor};

use super::{numbered, Problem};
use crate::error::Result;
use crate::model::checkpoint::ProblemInfo;

/// Prior standard deviations of (rail height, angle 1, angle 2, angle 3).
pub const PRIOR_STD: [f32; 4] = [0.25, 0.5, 0.5, 0.5];
/// Segment lengths.
pub const SEGMENTS: [f32; 3] = [0.5, 0.5, 1.0];

/// The arm on a rail.
#[derive(Debug, Clone, Copy, Default)]
pub struct Kinematics;

impl Kinematics {
    /// The horizontal and vertical extent of each segment: two tensors of shape [rows, 3].
    fn segments(x: &Tensor) -> (Tensor, Tensor) {
        let lengths = Tensor::from_slice(&SEGMENTS).to_kind(x.kind()).to_device(x.device());
        let angles = x.narrow(1, 1, 3).cumsum(1, x.kind());
        (angles.cos() * &lengths, angles.sin() * lengths)
    }

    /// The joints of each arm: rail position, then the end of each segment; shape [rows, 4, 2].
    pub fn joints(x: &Tensor) -> Tensor {
        let (across, up) = Self::segments(x);
        let steps = Tensor::stack(&[across, up], 2);
        let start = Tensor::stack(&[x.narrow(1, 0, 1).zeros_like(), x.narrow(1, 0, 1)], 2);
        Tensor::cat(&[start.shallow_clone(), start + steps.cumsum(1, x.kind())], 1)
    }
}

impl Problem for Kinematics {
    fn info(&self) -> ProblemInfo {
        ProblemInfo { name: "kinematics".into(), options: Default::default(), x_names: numbered("x", 4), y_names: numbered("y", 2) }
    }

    fn sample_prior(&self, n: i64, device: Device) -> Tensor {
        let std = Tensor::from_slice(&PRIOR_STD).to_device(device);
        Tensor::randn([n, 4], (Kind::Float, device)) * std
    }

    fn simulate(&self, x: &Tensor) -> Result<Tensor> {
        let (across, up) = Self::segments(x);
        let reach = across.sum_dim_intlist(1, true, x.kind());
        let height = x.narrow(1, 0, 1) + up.sum_dim_intlist(1, true, x.kind());
        Ok(Tensor::cat(&[reach, height], 1))
    }

    fn inn_widths(&self) -> (i64, i64) {
        (2, 6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_point_of_known_poses() {
        // Straight arm at height 0.1: reaches (2, 0.1); folded up by 90°: (0, 2.1).
        let x = Tensor::from_slice(&[0.1f32, 0.0, 0.0, 0.0, 0.1, std::f32::consts::FRAC_PI_2, 0.0, 0.0]).view([2, 4]);
        let y = Vec::<f32>::try_from(Kinematics.simulate(&x).unwrap().view([-1])).unwrap();
        let expected = [2.0, 0.1, 0.0, 2.1];
        assert!(y.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-6), "{y:?}");
        let joints = Kinematics::joints(&x);
        assert_eq!(joints.size(), [2, 4, 2]);
        assert!(joints.select(1, 3).allclose(&Kinematics.simulate(&x).unwrap(), 1e-6, 1e-6, false));
    }

    #[test]
    fn prior_has_the_stated_scales() {
        tch::manual_seed(0);
        let x = Kinematics.sample_prior(200_000, Device::Cpu);
        let std = Vec::<f32>::try_from(x.std_dim(0, true, false)).unwrap();
        for (got, want) in std.iter().zip(PRIOR_STD) {
            assert!((got - want).abs() < 0.01 * want, "{std:?}");
        }
    }
}
