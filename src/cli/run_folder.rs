//! Output folders of runs: a new timestamped folder by default, never an existing run.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use innfer::model::checkpoint;

/// A fresh folder name under `runs/` for `stem`, stamped with the current UTC time.
pub fn default_dir(stem: &str) -> PathBuf {
    let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let stamp: String = stamp.trim_end_matches('Z').chars().map(|c| if c == ':' { '-' } else { c }).collect();
    PathBuf::from("runs").join(format!("{stem}-{stamp}"))
}

/// Creates `dir` for a new run; refuses a folder that already holds a run or other files.
pub fn create(dir: &Path) -> Result<()> {
    if checkpoint::exists(dir) {
        bail!("{} already holds a run; choose another --out (runs are never overwritten)", dir.display());
    }
    if dir.is_dir() && dir.read_dir().map(|mut entries| entries.next().is_some()).unwrap_or(true) {
        bail!("{} exists and is not empty; choose another --out", dir.display());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create the run folder {}", dir.display()))
}

/// Passes `result` on; when it is an error, removes the run folder `dir` if nothing was written in it.
pub fn remove_if_empty<T>(dir: &Path, result: innfer::Result<T>) -> innfer::Result<T> {
    if result.is_err() {
        // remove_dir only removes an empty folder: anything training wrote stays for inspection.
        let _ = std::fs::remove_dir(dir);
    }
    result
}
