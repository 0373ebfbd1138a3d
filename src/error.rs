//! The library's one error type.

use std::path::PathBuf;

/// Everything that can go wrong in innfer's library code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// CUDA was asked for but libtorch sees no CUDA device.
    #[error(
        "CUDA device '{requested}' requested, but libtorch sees no CUDA device ({visible} visible); \
         use --device cpu, or run on a machine with an NVIDIA driver (the torch==2.11.0 wheel that \
         scripts/setup.sh installs already carries CUDA)"
    )]
    CudaUnavailable { requested: String, visible: usize },

    /// A value given by the user (flag, observation, option) is not acceptable.
    #[error("{0}")]
    InvalidInput(String),

    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },

    /// A CSV file could not be read or written, or its contents are wrong.
    #[error("{}: {message}", path.display())]
    Csv { path: PathBuf, message: String },

    /// A checkpoint could not be read, or does not describe a usable model.
    #[error("checkpoint {}: {message}", path.display())]
    Checkpoint { path: PathBuf, message: String },

    /// A picture could not be drawn or written.
    #[error("{}: cannot draw: {message}", path.display())]
    Plot { path: PathBuf, message: String },

    /// Training produced a non-finite loss or gradient.
    #[error("training diverged at step {step}: {what} is not finite; nothing after the last good checkpoint (if one was written) is saved. Try a lower --lr or a smaller --clamp")]
    Diverged { step: u64, what: String },

    /// An external simulator failed or wrote something unusable.
    #[error("simulator batch {batch} (rows {first}–{last}): {message}")]
    Simulator { batch: usize, first: i64, last: i64, message: String },

    /// Work was stopped on request (Ctrl-C, SIGTERM) before it was complete.
    #[error("interrupted: {what}")]
    Interrupted { what: String },

    /// An error raised by libtorch.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }

    /// A CSV error about `path`.
    pub fn csv(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Csv { path: path.into(), message: message.into() }
    }

    /// A checkpoint error about `path`.
    pub fn checkpoint(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Checkpoint { path: path.into(), message: message.into() }
    }

    /// An error about a user-supplied value.
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidInput(message.into())
    }
}

/// Result with innfer's error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Parses the kebab-case name of an enum that serde knows, with an error that lists the choices.
pub(crate) fn parse_choice<T: serde::de::DeserializeOwned>(text: &str, what: &str, choices: &[&str]) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(text.to_string()))
        .map_err(|_| Error::invalid(format!("unknown {what} '{text}': expected {}", choices.join(" or "))))
}
