//! The invertible network: coupling blocks with a fixed permutation (after a learned linear map, if
//! chosen) after each.

use serde::{Deserialize, Serialize};
use tch::{nn, Device, Tensor};

use super::coupling::{clamp_in_range, BlockConfig, CouplingBlock, CouplingKind, MAX_BINS, MAX_CLAMP, MIN_CLAMP};
use super::mixing::Mixing;
use super::permutation::{inverse_of, random_permutations, Permutation};
use crate::error::{Error, Result};

/// Everything that fixes the network as a function, apart from its weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkSpec {
    /// Width of the rows the network maps (at least 2).
    pub width: i64,
    /// Width of the condition given to every block (0 for none).
    pub condition: i64,
    /// The shape of each block.
    pub block: BlockConfig,
    /// One column permutation after each block.
    pub permutations: Vec<Vec<i64>>,
}

impl NetworkSpec {
    /// A network of `blocks` blocks whose permutations are drawn from `seed`.
    pub fn new(width: i64, condition: i64, blocks: usize, block: BlockConfig, seed: u64) -> Self {
        NetworkSpec { width, condition, block, permutations: random_permutations(width, blocks, seed) }
    }

    /// Checks that the spec describes a network that can be built.
    pub fn validate(&self) -> Result<()> {
        let fail = |message: String| Err(Error::invalid(message));
        if self.width < 2 {
            return fail(format!("an invertible network needs a width of at least 2, not {}", self.width));
        }
        if self.condition < 0 {
            return fail(format!("condition width must not be negative, not {}", self.condition));
        }
        if self.permutations.is_empty() {
            return fail("a network needs at least one coupling block".into());
        }
        if self.block.hidden < 1 {
            return fail(format!("subnet width must be at least 1, not {}", self.block.hidden));
        }
        if !clamp_in_range(self.block.clamp) {
            return fail(format!("clamp must be from {MIN_CLAMP} to {MAX_CLAMP}, not {}", self.block.clamp));
        }
        if self.block.coupling == CouplingKind::Spline && !(2..=MAX_BINS).contains(&self.block.bins) {
            return fail(format!("a spline needs from 2 to {MAX_BINS} bins, not {}", self.block.bins));
        }
        if let Some(order) = self.permutations.iter().find(|order| order.len() as i64 != self.width) {
            return fail(format!("permutation of length {} in a network of width {}", order.len(), self.width));
        }
        for order in &self.permutations {
            inverse_of(order)?;
        }
        Ok(())
    }
}

/// A stack of coupling blocks and mixings, invertible by construction.
#[derive(Debug)]
pub struct InvertibleNetwork {
    blocks: Vec<CouplingBlock>,
    mixings: Vec<Mixing>,
    condition: i64,
}

impl InvertibleNetwork {
    /// Creates the network's variables under `path`.
    pub fn new(path: &nn::Path, spec: &NetworkSpec) -> Result<Self> {
        spec.validate()?;
        let device: Device = path.device();
        let blocks = (0..spec.permutations.len())
            .map(|index| CouplingBlock::new(&(path / format!("block{index}")), spec.width, spec.condition, &spec.block))
            .collect();
        let mixings = (spec.permutations.iter().enumerate())
            .map(|(index, order)| {
                let permutation = Permutation::new(order, device)?;
                Ok(Mixing::new(&(path / format!("mix{index}")), spec.block.mixing, permutation, spec.width))
            })
            .collect::<Result<_>>()?;
        Ok(InvertibleNetwork { blocks, mixings, condition: spec.condition })
    }

    /// Maps rows u to v; returns v and log|det ∂v/∂u| per row.
    pub fn forward(&self, u: &Tensor, condition: Option<&Tensor>) -> (Tensor, Tensor) {
        let condition = self.condition_or_none(condition);
        let mut v = u.shallow_clone();
        let mut log_det = Tensor::zeros([u.size()[0]], (u.kind(), u.device()));
        for (block, mixing) in self.blocks.iter().zip(&self.mixings) {
            let (out, block_log_det) = block.forward(&v, condition);
            log_det += block_log_det;
            v = mixing.apply(&out, &mut log_det);
        }
        (v, log_det)
    }

    /// Maps rows v back to u; returns u and log|det ∂u/∂v| per row.
    pub fn inverse(&self, v: &Tensor, condition: Option<&Tensor>) -> (Tensor, Tensor) {
        let mut log_det = Tensor::zeros([v.size()[0]], (v.kind(), v.device()));
        let u = self.invert(v, condition, Some(&mut log_det));
        (u, log_det)
    }

    /// Maps rows v back to u without the log-determinant (posterior sampling needs none).
    pub fn inverse_rows(&self, v: &Tensor, condition: Option<&Tensor>) -> Tensor {
        self.invert(v, condition, None)
    }

    fn invert(&self, v: &Tensor, condition: Option<&Tensor>, mut log_det: Option<&mut Tensor>) -> Tensor {
        let condition = self.condition_or_none(condition);
        let mut u = v.shallow_clone();
        for (block, mixing) in self.blocks.iter().zip(&self.mixings).rev() {
            let unmixed = mixing.undo(&u, log_det.as_deref_mut());
            u = block.inverse(&unmixed, condition, log_det.as_deref_mut());
        }
        u
    }

    /// An unconditional network ignores any condition it is given.
    fn condition_or_none<'a>(&self, condition: Option<&'a Tensor>) -> Option<&'a Tensor> {
        condition.filter(|_| self.condition > 0)
    }
}
