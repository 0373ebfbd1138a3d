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

    /// Reading or writing a file failed (the reason is part of the message, not a separate cause, so
    /// that it is said once).
    #[error("{}: {reason}", path.display())]
    Io { path: PathBuf, reason: std::io::Error },

    /// A CSV file could not be read or written, or its contents are wrong.
    #[error("{}: {message}", path.display())]
    Csv { path: PathBuf, message: String },

    /// A Parquet file could not be read or written, or its contents are wrong.
    #[error("{} (Parquet): {message}", path.display())]
    Parquet { path: PathBuf, message: String },

    /// A JSON file could not be written.
    #[error("{} (JSON): {message}", path.display())]
    Json { path: PathBuf, message: String },

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

    /// libtorch could not allocate the memory that a size chosen by the user needs.
    #[error("out of memory in {what}: {message}; lower {advice}")]
    OutOfMemory { what: String, advice: String, message: String },

    /// A round of sequential training failed; the run folder keeps the previous round's model.
    #[error("round {round}: {error}")]
    InRound { round: usize, error: Box<Error> },

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
        Error::Io { path: path.into(), reason: source }
    }

    /// A CSV error about `path`.
    pub fn csv(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Csv { path: path.into(), message: message.into() }
    }

    /// A Parquet error about `path`.
    pub fn parquet(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Parquet { path: path.into(), message: message.into() }
    }

    /// A JSON error about `path`.
    pub fn json(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Json { path: path.into(), message: message.into() }
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

thread_local! {
    static GUARDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the current thread runs inside [`guard`] (a panic hook should then stay quiet: the panic
/// becomes an error).
pub fn guarded() -> bool {
    GUARDED.with(std::cell::Cell::get)
}

/// The text a panic was raised with ("unknown failure" when it carries none).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload.downcast_ref::<String>().map(String::as_str).or_else(|| payload.downcast_ref::<&str>().copied()).unwrap_or("unknown failure")
}

/// Runs libtorch work whose size the user chose, turning the failures that tch reports by panicking
/// (out of memory, above all) into errors: `what` names the work and `advice` the setting to lower
/// ("--batch"). libtorch's other failures become [`Error::InvalidInput`] naming the work, never a panic.
pub fn guard<T>(what: &str, advice: &str, work: impl FnOnce() -> Result<T>) -> Result<T> {
    let outer = GUARDED.with(|flag| flag.replace(true));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
    GUARDED.with(|flag| flag.set(outer));
    outcome.unwrap_or_else(|payload| {
        let message = panic_message(payload.as_ref());
        // tch's message is the Debug form of libtorch's error: lines escaped, a C++ backtrace after.
        let message = message.replace("\\n", "\n");
        let out_of_memory = |line: &&str| {
            let lowered = line.to_ascii_lowercase();
            lowered.contains("out of memory") || lowered.contains("allocate memory")
        };
        if let Some(line) = message.lines().find(out_of_memory) {
            return Err(Error::OutOfMemory { what: what.to_string(), advice: advice.to_string(), message: allocation_failure(line) });
        }
        let first_line = message.lines().find(|line| !line.trim().is_empty()).unwrap_or("unknown failure").trim();
        Err(Error::invalid(format!("libtorch failed in {what}: {first_line}")))
    })
}

/// The gist of libtorch's allocation failure: how much it asked for ("could not allocate 64 TB").
fn allocation_failure(line: &str) -> String {
    let lowered = line.to_ascii_lowercase();
    let Some(start) = lowered.find("tried to allocate ").map(|at| at + "tried to allocate ".len()) else {
        return "could not allocate memory".into();
    };
    let mut words = line[start..].split_whitespace();
    match (words.next(), words.next()) {
        (Some(bytes), Some(unit)) if unit.starts_with("bytes") => match bytes.parse::<f64>() {
            Ok(bytes) => format!("could not allocate {:.1} GB", bytes / 1e9),
            Err(_) => "could not allocate memory".into(),
        },
        (Some(amount), Some(unit)) => format!("could not allocate {amount} {}", unit.trim_end_matches(['.', ','])),
        _ => "could not allocate memory".into(),
    }
}

/// Result with innfer's error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Parses the kebab-case name of an enum that serde knows, with an error that lists the choices.
pub(crate) fn parse_choice<T: serde::de::DeserializeOwned>(text: &str, what: &str, choices: &[&str]) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(text.to_string()))
        .map_err(|_| Error::invalid(format!("unknown {what} '{text}': expected {}", choices.join(" or "))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocation_failures_say_how_much() {
        let cpu = "[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate memory: you tried to allocate 64000000000000 bytes. Error code 12 (Cannot allocate memory)";
        assert_eq!(allocation_failure(cpu), "could not allocate 64000.0 GB");
        let cuda = "CUDA out of memory. Tried to allocate 20.00 GiB. GPU 0 has a total capacity of 139.80 GiB";
        assert_eq!(allocation_failure(cuda), "could not allocate 20.00 GiB");
    }

    #[test]
    fn guard_turns_libtorch_panics_into_errors() {
        let out_of_memory =
            guard("a test", "--n", || -> Result<()> { panic!("Torch(\"CUDA out of memory. Tried to allocate 2.00 GiB.\\nframe #0\")") });
        let message = out_of_memory.unwrap_err().to_string();
        assert_eq!(message, "out of memory in a test: could not allocate 2.00 GiB; lower --n");
        let other = guard("a test", "--n", || -> Result<()> { panic!("shape mismatch") }).unwrap_err().to_string();
        assert_eq!(other, "libtorch failed in a test: shape mismatch");
        assert!(!guarded(), "the flag is cleared after the guard");
        assert_eq!(guard("a test", "--n", || Ok(3)).unwrap(), 3);
    }
}
