//! Fixed random permutations of the columns between coupling blocks.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tch::{Device, Kind, Tensor};

use crate::error::{Error, Result};

/// `count` random permutations of `0..dim`, the same for the same seed on every machine.
pub fn random_permutations(dim: i64, count: usize, seed: u64) -> Vec<Vec<i64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            let mut order: Vec<i64> = (0..dim).collect();
            order.shuffle(&mut rng);
            order
        })
        .collect()
}

/// The inverse of the permutation `order` of `0..order.len()`, or an error when it is none.
pub fn inverse_of(order: &[i64]) -> Result<Vec<i64>> {
    let dim = order.len();
    let mut inverse = vec![-1i64; dim];
    for (position, &source) in order.iter().enumerate() {
        let slot = usize::try_from(source).ok().and_then(|source| inverse.get_mut(source));
        match slot {
            Some(slot) if *slot < 0 => *slot = position as i64,
            _ => return Err(Error::invalid(format!("{order:?} is not a permutation of 0..{dim}"))),
        }
    }
    Ok(inverse)
}

/// A column permutation and its inverse, as index tensors on a device.
#[derive(Debug)]
pub struct Permutation {
    forward: Tensor,
    inverse: Tensor,
}

impl Permutation {
    /// Builds the permutation that sends column `order[i]` of the input to column i of the output.
    pub fn new(order: &[i64], device: Device) -> Result<Self> {
        let inverse = inverse_of(order)?;
        let tensor = |indices: &[i64]| Tensor::from_slice(indices).to_kind(Kind::Int64).to_device(device);
        Ok(Permutation { forward: tensor(order), inverse: tensor(&inverse) })
    }

    /// Permutes the columns of a batch.
    pub fn apply(&self, rows: &Tensor) -> Tensor {
        rows.index_select(1, &self.forward)
    }

    /// Undoes [`Permutation::apply`].
    pub fn undo(&self, rows: &Tensor) -> Tensor {
        rows.index_select(1, &self.inverse)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_determinism() {
        let orders = random_permutations(7, 3, 42);
        assert_eq!(orders, random_permutations(7, 3, 42));
        assert_ne!(orders, random_permutations(7, 3, 43));
        let rows = Tensor::randn([5, 7], (Kind::Float, Device::Cpu));
        for order in &orders {
            let permutation = Permutation::new(order, Device::Cpu).unwrap();
            let permuted = permutation.apply(&rows);
            assert!(permuted.not_equal_tensor(&rows).any().int64_value(&[]) == 1);
            assert!(permutation.undo(&permuted).equal(&rows));
        }
    }

    #[test]
    fn rejects_non_permutations() {
        for bad in [vec![0, 0, 1], vec![0, 3, 1], vec![-1, 0, 1]] {
            assert!(Permutation::new(&bad, Device::Cpu).is_err(), "{bad:?}");
        }
    }
}
