//! The dense subnets that compute a coupling block's scale and shift.

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use tch::{nn, Tensor};

use crate::error::{parse_choice, Error, Result};

/// Non-linearity between the dense layers of a subnet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    /// max(0, x).
    Relu,
    /// max(0.01·x, x).
    LeakyRelu,
}

impl FromStr for Activation {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        parse_choice(text, "activation", &["relu", "leaky-relu"])
    }
}

/// A multilayer perceptron: `layers` hidden layers of width `hidden`, then a linear output layer that
/// starts at zero, so that a coupling block built on it starts as the identity.
#[derive(Debug)]
pub struct Subnet {
    hidden_layers: Vec<nn::Linear>,
    output: nn::Linear,
    activation: Activation,
}

impl Subnet {
    /// Creates the subnet's variables under `path`.
    pub fn new(path: &nn::Path, inputs: i64, outputs: i64, hidden: i64, layers: usize, activation: Activation) -> Self {
        let mut width = inputs;
        let hidden_layers = (0..layers)
            .map(|index| {
                let layer = nn::linear(path / format!("hidden{index}"), width, hidden, Default::default());
                width = hidden;
                layer
            })
            .collect();
        let zero = nn::LinearConfig { ws_init: nn::Init::Const(0.0), bs_init: Some(nn::Init::Const(0.0)), bias: true };
        let output = nn::linear(path / "output", width, outputs, zero);
        Subnet { hidden_layers, output, activation }
    }

    /// Applies the subnet to a batch of rows.
    pub fn forward(&self, input: &Tensor) -> Tensor {
        let mut hidden = input.shallow_clone();
        for layer in &self.hidden_layers {
            // In place: the linear layer's output is needed by nothing else, its gradient included.
            let mut linear = hidden.apply(layer);
            hidden = match self.activation {
                Activation::Relu => linear.relu_(),
                Activation::LeakyRelu => linear.leaky_relu_(),
            };
        }
        hidden.apply(&self.output)
    }
}
