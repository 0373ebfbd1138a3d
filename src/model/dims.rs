//! The widths of a model and the padding that brings x and [z, y] to a common width.

use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::error::{Error, Result};

/// Widths of x, y, the latent z and the network (x padded, and [z, pad, y], both have width `total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dims {
    /// Width of x.
    pub x: i64,
    /// Width of y.
    pub y: i64,
    /// Width of the latent z.
    pub z: i64,
    /// Width of the network.
    pub total: i64,
}

impl Dims {
    /// Checked widths: all positive, and `total` at least as wide as x and as [z, y].
    pub fn new(x: i64, y: i64, z: i64, total: i64) -> Result<Self> {
        let dims = Dims { x, y, z, total };
        dims.validate()?;
        Ok(dims)
    }

    /// Checks the widths as [`Dims::new`] does (for widths read from a file).
    pub fn validate(&self) -> Result<()> {
        let Dims { x, y, z, total } = *self;
        if x < 1 || y < 1 || z < 0 {
            return Err(Error::invalid(format!("invalid widths: x {x}, y {y}, z {z}")));
        }
        if total < x || total < y + z {
            return Err(Error::invalid(format!("network width {total} is narrower than x ({x}) or than [z, y] ({z} + {y})")));
        }
        Ok(())
    }

    /// Padding columns on the x side.
    pub fn x_padding(&self) -> i64 {
        self.total - self.x
    }

    /// Padding columns between z and y on the output side.
    pub fn zy_padding(&self) -> i64 {
        self.total - self.y - self.z
    }

    /// [x, padding]: padding is zero, or Gaussian noise of scale `noise`.
    pub fn pad_x(&self, x: &Tensor, noise: f64) -> Tensor {
        Tensor::cat(&[x.shallow_clone(), padding(x, self.x_padding(), noise)], 1)
    }

    /// The x columns of a padded row.
    pub fn unpad_x(&self, padded: &Tensor) -> Tensor {
        padded.narrow(1, 0, self.x)
    }

    /// [z, padding, y] with the padding zero or Gaussian noise of scale `noise`.
    pub fn join_zy(&self, z: &Tensor, y: &Tensor, noise: f64) -> Tensor {
        Tensor::cat(&[z.shallow_clone(), padding(y, self.zy_padding(), noise), y.shallow_clone()], 1)
    }

    /// Splits [z, padding, y] into its three parts.
    pub fn split_zy(&self, joined: &Tensor) -> (Tensor, Tensor, Tensor) {
        (joined.narrow(1, 0, self.z), joined.narrow(1, self.z, self.zy_padding()), joined.narrow(1, self.total - self.y, self.y))
    }
}

/// `columns` columns of padding for the rows of `like`: zeros, or noise of scale `noise`.
fn padding(like: &Tensor, columns: i64, noise: f64) -> Tensor {
    let shape = [like.size()[0], columns];
    if noise > 0.0 {
        Tensor::randn(shape, (like.kind(), like.device())) * noise
    } else {
        Tensor::zeros(shape, (like.kind(), like.device()))
    }
}

#[cfg(test)]
mod tests {
    use tch::{Device, Kind};

    use super::*;

    #[test]
    fn padding_round_trips() {
        let dims = Dims::new(2, 8, 2, 16).unwrap();
        let x = Tensor::randn([5, 2], (Kind::Float, Device::Cpu));
        let padded = dims.pad_x(&x, 0.0);
        assert_eq!(padded.size(), [5, 16]);
        assert!(dims.unpad_x(&padded).equal(&x));
        assert_eq!(padded.narrow(1, 2, 14).abs().sum(Kind::Float).double_value(&[]), 0.0);
        assert!(dims.unpad_x(&dims.pad_x(&x, 0.1)).equal(&x));

        let z = Tensor::randn([5, 2], (Kind::Float, Device::Cpu));
        let y = Tensor::randn([5, 8], (Kind::Float, Device::Cpu));
        let joined = dims.join_zy(&z, &y, 0.05);
        let (z2, pad, y2) = dims.split_zy(&joined);
        assert!(z2.equal(&z) && y2.equal(&y));
        assert_eq!(pad.size(), [5, 6]);
        assert!(pad.abs().sum(Kind::Float).double_value(&[]) > 0.0);
    }

    #[test]
    fn rejects_narrow_totals() {
        assert!(Dims::new(4, 2, 2, 4).is_ok());
        assert!(Dims::new(4, 2, 3, 4).is_err());
        assert!(Dims::new(5, 2, 2, 4).is_err());
        assert!(Dims::new(0, 2, 2, 4).is_err());
    }
}
