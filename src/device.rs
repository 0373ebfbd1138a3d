//! Choice of the compute device: `auto`, `cpu`, `cuda` or `cuda:N`.

use std::fmt;
use std::str::FromStr;

use tch::{Cuda, Device};

use crate::error::{Error, Result};

/// A device as the user names it, before checking that it exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// The first CUDA device when libtorch sees one, else the CPU.
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// The CUDA device with this index.
    Cuda(usize),
}

impl FromStr for DeviceChoice {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let invalid = || Error::invalid(format!("invalid device '{text}': expected auto, cpu, cuda or cuda:N"));
        match text.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(DeviceChoice::Auto),
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" => Ok(DeviceChoice::Cuda(0)),
            other => {
                let index = other.strip_prefix("cuda:").ok_or_else(invalid)?;
                index.parse().map(DeviceChoice::Cuda).map_err(|_| invalid())
            }
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceChoice::Auto => write!(f, "auto"),
            DeviceChoice::Cpu => write!(f, "cpu"),
            DeviceChoice::Cuda(index) => write!(f, "cuda:{index}"),
        }
    }
}

impl DeviceChoice {
    /// Resolves the choice against the CUDA devices libtorch can see.
    pub fn resolve(self) -> Result<Device> {
        self.resolve_with(Cuda::device_count().max(0) as usize)
    }

    /// Resolves the choice given the number of visible CUDA devices (testable without a GPU).
    pub fn resolve_with(self, visible: usize) -> Result<Device> {
        match self {
            DeviceChoice::Cpu => Ok(Device::Cpu),
            DeviceChoice::Auto if visible > 0 => Ok(Device::Cuda(0)),
            DeviceChoice::Auto => Ok(Device::Cpu),
            DeviceChoice::Cuda(index) if index < visible => Ok(Device::Cuda(index)),
            DeviceChoice::Cuda(_) => Err(Error::CudaUnavailable { requested: self.to_string(), visible }),
        }
    }
}

/// A short human name of a resolved device.
pub fn describe(device: Device) -> String {
    match device {
        Device::Cpu => format!("cpu ({} threads)", tch::get_num_threads()),
        Device::Cuda(index) => format!("cuda:{index}"),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        assert_eq!("auto".parse::<DeviceChoice>().unwrap(), DeviceChoice::Auto);
        assert_eq!("CPU".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cpu);
        assert_eq!("cuda".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cuda(0));
        assert_eq!("cuda:3".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cuda(3));
        for bad in ["gpu", "cuda:", "cuda:x", "cuda:-1", ""] {
            let error = bad.parse::<DeviceChoice>().unwrap_err().to_string();
            assert!(error.contains("invalid device"), "{bad}: {error}");
        }
    }

    #[test]
    fn resolves_against_visible_devices() {
        assert_eq!(DeviceChoice::Auto.resolve_with(0).unwrap(), Device::Cpu);
        assert_eq!(DeviceChoice::Auto.resolve_with(2).unwrap(), Device::Cuda(0));
        assert_eq!(DeviceChoice::Cuda(1).resolve_with(2).unwrap(), Device::Cuda(1));
        let error = DeviceChoice::Cuda(2).resolve_with(2).unwrap_err();
        assert!(matches!(error, Error::CudaUnavailable { visible: 2, .. }));
        assert!(error.to_string().contains("CUDA"));
        assert_eq!(DeviceChoice::Cpu.resolve_with(4).unwrap(), Device::Cpu);
    }
}
