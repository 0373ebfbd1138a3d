//! Summary networks: a learned embedding of the observations, trained with the cINN, that conditions
//! it in place of the standardised observations themselves, for observations of many columns (most of
//! them uninformative, or exchangeable draws of one kind).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use tch::{nn, Tensor};

use crate::error::{Error, Result};

/// Which summary network, as `--summary` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SummaryKind {
    /// A multilayer perceptron of the whole observation.
    Mlp,
    /// A deep set: the observation is a set of exchangeable elements of `element` values each,
    /// each mapped by one network, averaged, then mapped again (the order of the elements is lost).
    DeepSet {
        /// Values per element.
        element: i64,
    },
}

impl FromStr for SummaryKind {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        match text.split_once(':') {
            None if text == "mlp" => Ok(SummaryKind::Mlp),
            Some(("deepset", element)) => match element.parse::<i64>() {
                Ok(element) if element >= 1 => Ok(SummaryKind::DeepSet { element }),
                _ => Err(Error::invalid(format!(
                    "deepset:K needs K, the values per set element, a whole number of at least 1, not '{element}'"
                ))),
            },
            _ => Err(Error::invalid(format!(
                "unknown summary network '{text}': expected mlp, or deepset:K for observations that are sets of elements of K values"
            ))),
        }
    }
}

impl fmt::Display for SummaryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SummaryKind::Mlp => f.write_str("mlp"),
            SummaryKind::DeepSet { element } => write!(f, "deepset:{element}"),
        }
    }
}

/// A summary network's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummarySpec {
    /// Which network.
    #[serde(flatten)]
    pub kind: SummaryKind,
    /// Width of its hidden layers.
    pub width: i64,
    /// Width of the summary it gives the cINN.
    pub outputs: i64,
}

impl SummarySpec {
    /// The default summary width for x of width `x` and observations of width `y`: twice the
    /// parameters, at least 8, at most the observation's width.
    pub fn default_outputs(x: i64, y: i64) -> i64 {
        (2 * x).max(8).min(y)
    }

    /// Checks it against observations of width `y`.
    pub fn validate(&self, y: i64) -> Result<()> {
        if y < 2 {
            return Err(Error::invalid(format!("a summary network needs observations of at least two columns, and y has {y}")));
        }
        if self.width < 1 || self.outputs < 1 {
            return Err(Error::invalid(format!(
                "a summary network needs a width and outputs of at least 1, not {} and {}",
                self.width, self.outputs
            )));
        }
        if let SummaryKind::DeepSet { element } = self.kind {
            if y % element != 0 {
                return Err(Error::invalid(format!(
                    "deepset:{element}: the {y} observation columns are not a whole number of elements of {element}"
                )));
            }
        }
        Ok(())
    }
}

/// Two hidden layers with ReLU, then a linear output.
#[derive(Debug)]
struct Perceptron {
    layers: Vec<nn::Linear>,
}

impl Perceptron {
    fn new(path: &nn::Path, inputs: i64, width: i64, outputs: i64) -> Self {
        let widths = [inputs, width, width, outputs];
        let layers = widths
            .windows(2)
            .enumerate()
            .map(|(index, pair)| nn::linear(path / format!("layer{index}"), pair[0], pair[1], Default::default()))
            .collect();
        Perceptron { layers }
    }

    fn forward(&self, input: &Tensor) -> Tensor {
        let last = self.layers.len() - 1;
        self.layers.iter().enumerate().fold(input.shallow_clone(), |hidden, (index, layer)| {
            let linear = hidden.apply(layer);
            if index < last {
                linear.relu()
            } else {
                linear
            }
        })
    }
}

/// A summary network with its weights.
#[derive(Debug)]
pub struct SummaryNetwork {
    kind: SummaryKind,
    /// The MLP itself, or a deep set's network of each element.
    first: Perceptron,
    /// A deep set's network of the elements' mean.
    pooled: Option<Perceptron>,
}

impl SummaryNetwork {
    /// Creates its variables under `path` for observations of width `y`.
    pub fn new(path: &nn::Path, spec: &SummarySpec, y: i64) -> Result<Self> {
        spec.validate(y)?;
        Ok(match spec.kind {
            SummaryKind::Mlp => {
                SummaryNetwork { kind: spec.kind, first: Perceptron::new(&(path / "mlp"), y, spec.width, spec.outputs), pooled: None }
            }
            SummaryKind::DeepSet { element } => SummaryNetwork {
                kind: spec.kind,
                first: Perceptron::new(&(path / "element"), element, spec.width, spec.width),
                pooled: Some(Perceptron::new(&(path / "pooled"), spec.width, spec.width, spec.outputs)),
            },
        })
    }

    /// The summaries of standardised observations `y` ([n, dim_y]): [n, outputs].
    pub fn forward(&self, y: &Tensor) -> Tensor {
        match (self.kind, &self.pooled) {
            (SummaryKind::DeepSet { element }, Some(pooled)) => {
                let elements = y.view([y.size()[0], -1, element]);
                pooled.forward(&self.first.forward(&elements).mean_dim(1, false, y.kind()))
            }
            _ => self.first.forward(y),
        }
    }
}

#[cfg(test)]
mod tests {
    use tch::{Device, Kind};

    use super::*;

    #[test]
    fn a_deep_set_ignores_the_order_of_its_elements() {
        let vars = nn::VarStore::new(Device::Cpu);
        let spec = SummarySpec { kind: SummaryKind::DeepSet { element: 2 }, width: 16, outputs: 4 };
        let network = SummaryNetwork::new(&vars.root(), &spec, 8).unwrap();
        let y = Tensor::randn([5, 8], (Kind::Float, Device::Cpu));
        let reordered = y.view([5, 4, 2]).index_select(1, &Tensor::from_slice(&[2i64, 0, 3, 1])).view([5, 8]);
        let swapped_within = y.view([5, 4, 2]).flip([2]).view([5, 8]);
        let summary = network.forward(&y);
        assert_eq!(summary.size(), [5, 4]);
        assert!(summary.allclose(&network.forward(&reordered), 1e-5, 1e-6, false));
        assert!(!summary.allclose(&network.forward(&swapped_within), 1e-3, 1e-3, false), "the values within an element keep their roles");
    }

    #[test]
    fn names_parse_and_bad_ones_are_explained() {
        assert_eq!("mlp".parse::<SummaryKind>().unwrap(), SummaryKind::Mlp);
        assert_eq!("deepset:2".parse::<SummaryKind>().unwrap(), SummaryKind::DeepSet { element: 2 });
        assert_eq!(SummaryKind::DeepSet { element: 3 }.to_string(), "deepset:3");
        assert!("deepset".parse::<SummaryKind>().unwrap_err().to_string().contains("deepset:K"));
        assert!("deepset:0".parse::<SummaryKind>().unwrap_err().to_string().contains("at least 1"));
        assert!("cnn".parse::<SummaryKind>().unwrap_err().to_string().contains("unknown summary network 'cnn'"));
        let spec = SummarySpec { kind: SummaryKind::DeepSet { element: 3 }, width: 8, outputs: 4 };
        assert!(spec.validate(8).unwrap_err().to_string().contains("not a whole number of elements"));
        assert!(SummarySpec { kind: SummaryKind::Mlp, ..spec }.validate(1).unwrap_err().to_string().contains("at least two columns"));
    }
}
