//! Checkpoints: the weights as safetensors plus a JSON manifest with everything needed to use them.
//!
//! The manifest is written last and names its weights file with its size and CRC-32, so a crash at any
//! moment leaves either the previous checkpoint or the new one, never a mix.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tch::{Device, Tensor};

use super::{Model, ModelSpec};
use crate::error::{Error, Result};
use crate::io::atomic;

/// The manifest's file name inside a run folder.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The manifest format this innfer reads and writes.
pub const FORMAT: u32 = 1;

/// The problem a model was trained on: its name, options and column names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProblemInfo {
    /// Name of the problem (`kinematics`, `gmm`, or `data` for user data).
    pub name: String,
    /// Problem options (for instance the gmm label map).
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// Names of the x columns.
    pub x_names: Vec<String>,
    /// Names of the y columns.
    pub y_names: Vec<String>,
}

/// What training did, for the record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainingSummary {
    /// Optimiser steps taken.
    pub steps: u64,
    /// Wall-clock seconds spent training.
    pub seconds: f64,
    /// The last logged value of each loss.
    pub final_losses: BTreeMap<String, f64>,
    /// The settings training ran with.
    pub settings: serde_json::Value,
    /// With held-out rows: the step whose model was kept, and its loss on them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_validation: Option<BestValidation>,
    /// Whether training stopped early because the held-out loss stopped improving.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stopped_early: bool,
    /// Whether training was stopped (Ctrl-C, SIGTERM) before its limits: `train --resume` continues it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    /// The device it trained on (results on a GPU may differ in the last bits from the CPU's).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub device: String,
    /// A sequential run's observation and rounds: its posterior is valid near that observation only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequential: Option<SequentialRecord>,
}

impl TrainingSummary {
    /// The seed training ran with (it chose, among other things, the held-out data).
    pub fn seed(&self) -> Result<u64> {
        self.settings
            .get("seed")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| Error::invalid("the run's settings do not name its seed"))
    }
}

/// What the rounds of a sequential run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SequentialRecord {
    /// The observation (raw y) the run was made for.
    pub observation: Vec<f64>,
    /// One record per round, in order.
    pub rounds: Vec<RoundRecord>,
}

/// One round of a sequential run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct RoundRecord {
    /// Simulations drawn in this round.
    pub simulations: i64,
    /// Simulations trained on after it (all rounds so far).
    pub total: i64,
    /// Share of prior draws inside the truncation (1 in the first round, which draws from the prior).
    pub acceptance: f64,
    /// Optimiser steps of its training.
    pub steps: u64,
    /// The kept model's loss on the held-out simulations.
    pub held_out_loss: Option<f64>,
}

/// The model kept by validation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BestValidation {
    /// The step after which it was taken.
    pub step: u64,
    /// Its loss on the held-out rows.
    pub loss: f64,
}

/// The weights file a manifest belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightsFile {
    /// File name inside the run folder.
    pub file: String,
    /// Size in bytes.
    pub bytes: u64,
    /// CRC-32 of the contents.
    pub crc32: u32,
}

/// The JSON manifest of a checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Manifest format version.
    pub format: u32,
    /// Version of innfer that wrote it.
    pub innfer_version: String,
    /// Version of libtorch that wrote it.
    pub libtorch_version: String,
    /// The model.
    pub model: ModelSpec,
    /// The problem it was trained on.
    pub problem: ProblemInfo,
    /// What training did.
    pub training: TrainingSummary,
    /// The weights.
    pub weights: WeightsFile,
    /// The optimiser's state, from which `train --resume` continues exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimiser: Option<WeightsFile>,
}

/// A loaded checkpoint.
pub struct Checkpoint {
    /// The model, with its weights.
    pub model: Model,
    /// The problem it was trained on.
    pub problem: ProblemInfo,
    /// What training did.
    pub training: TrainingSummary,
}

/// Whether `dir` holds a checkpoint manifest.
pub fn exists(dir: &Path) -> bool {
    dir.join(MANIFEST_FILE).is_file()
}

/// Saves `model` into the run folder `dir` (which must exist), replacing any earlier checkpoint there;
/// with `optimiser`, also the state that a resume continues from.
pub fn save(
    dir: &Path,
    model: &Model,
    problem: &ProblemInfo,
    training: &TrainingSummary,
    optimiser: Option<&[(String, Tensor)]>,
) -> Result<()> {
    let weights: BTreeMap<String, Tensor> = model.vars.variables().into_iter().collect();
    let weights: Vec<(String, Tensor)> = weights.into_iter().collect();
    let weights = write_tensors(dir, WEIGHTS_PREFIX, &weights)?;
    let optimiser = optimiser.map(|state| write_tensors(dir, OPTIMISER_PREFIX, state)).transpose()?;
    let manifest = Manifest {
        format: FORMAT,
        innfer_version: env!("CARGO_PKG_VERSION").to_string(),
        libtorch_version: crate::LIBTORCH_VERSION.to_string(),
        model: model.spec.clone(),
        problem: problem.clone(),
        training: training.clone(),
        weights: weights.clone(),
        optimiser: optimiser.clone(),
    };
    let manifest_path = dir.join(MANIFEST_FILE);
    atomic::write_atomically(&manifest_path, |writer| {
        serde_json::to_writer_pretty(&mut *writer, &manifest).map_err(|error| Error::checkpoint(dir, error.to_string()))?;
        writer.write_all(b"\n").map_err(|source| Error::io(&manifest_path, source))
    })?;
    remove_stale(dir, WEIGHTS_PREFIX, &weights.file);
    remove_stale(dir, OPTIMISER_PREFIX, optimiser.as_ref().map_or("", |file| &file.file));
    Ok(())
}

const WEIGHTS_PREFIX: &str = "weights-";
const OPTIMISER_PREFIX: &str = "optimiser-";

/// Writes named tensors to `<prefix><crc32>.safetensors` in `dir` (staged, then renamed) and
/// describes the file.
fn write_tensors(dir: &Path, prefix: &str, tensors: &[(String, Tensor)]) -> Result<WeightsFile> {
    let staged = atomic::temporary_beside(&dir.join(format!("{prefix}new.safetensors")))?;
    let on_cpu: Vec<(&str, Tensor)> = tensors.iter().map(|(name, tensor)| (name.as_str(), tensor.to_device(Device::Cpu))).collect();
    Tensor::write_safetensors(&on_cpu, staged.path()).map_err(|error| Error::checkpoint(dir, format!("cannot write {prefix}: {error}")))?;
    let contents = fs::read(staged.path()).map_err(|source| Error::io(staged.path(), source))?;
    let crc32 = crc32fast::hash(&contents);
    let file = format!("{prefix}{crc32:08x}.safetensors");
    atomic::commit(staged, &dir.join(&file))?;
    Ok(WeightsFile { file, bytes: contents.len() as u64, crc32 })
}

/// Deletes files of `prefix` that no manifest refers to any more (best effort: leftovers are harmless).
fn remove_stale(dir: &Path, prefix: &str, keep: &str) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(prefix) && name.ends_with(".safetensors") && name != keep {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Reads the manifest of the run folder `dir`.
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join(MANIFEST_FILE);
    if !dir.is_dir() {
        return Err(Error::checkpoint(dir, "no such run folder"));
    }
    let text = fs::read_to_string(&path).map_err(|_| Error::checkpoint(dir, format!("not a run folder: it has no {MANIFEST_FILE}")))?;
    let version: serde_json::Value =
        serde_json::from_str(&text).map_err(|error| Error::checkpoint(&path, format!("not valid JSON: {error}")))?;
    let format = version.get("format").and_then(|f| f.as_u64());
    if format != Some(u64::from(FORMAT)) {
        let writer = version.get("innfer_version").and_then(|v| v.as_str()).unwrap_or("an unknown version");
        return Err(Error::checkpoint(
            &path,
            format!(
                "written by innfer {writer} in manifest format {}, but this innfer ({}) reads format {FORMAT}; retrain, or use the innfer that wrote it",
                format.map_or("?".to_string(), |f| f.to_string()),
                env!("CARGO_PKG_VERSION")
            ),
        ));
    }
    let manifest: Manifest =
        serde_json::from_value(version).map_err(|error| Error::checkpoint(&path, format!("invalid manifest: {error}")))?;
    manifest.model.validate().map_err(|error| Error::checkpoint(&path, error.to_string()))?;
    Ok(manifest)
}

/// Loads the checkpoint in the run folder `dir` onto `device`.
pub fn load(dir: &Path, device: Device) -> Result<Checkpoint> {
    let manifest = read_manifest(dir)?;
    let weights_path = dir.join(&manifest.weights.file);
    verify_weights(&weights_path, &manifest.weights)?;
    let stored = Tensor::read_safetensors(&weights_path)
        .map_err(|error| Error::checkpoint(&weights_path, format!("unreadable weights: {error}")))?;
    let model = Model::new(manifest.model.clone(), device)?;
    copy_weights(&model, stored, &weights_path)?;
    Ok(Checkpoint { model, problem: manifest.problem, training: manifest.training })
}

/// Loads the checkpoint in `dir` like [`load`], refusing a model saved before its first training
/// step (its samples would mean nothing) unless `allow_untrained`.
pub fn load_trained(dir: &Path, device: Device, allow_untrained: bool) -> Result<Checkpoint> {
    let loaded = load(dir, device)?;
    if loaded.training.steps == 0 && !allow_untrained {
        return Err(Error::checkpoint(
            dir,
            "its model was saved before its first training step (the training was stopped at once): continue it with `innfer train --resume`, or pass --allow-untrained",
        ));
    }
    Ok(loaded)
}

/// Loads the optimiser state that the checkpoint in `dir` was saved with, onto `device`.
pub fn load_optimiser(dir: &Path, device: Device) -> Result<Vec<(String, Tensor)>> {
    let manifest = read_manifest(dir)?;
    let file = manifest.optimiser.ok_or_else(|| {
        Error::checkpoint(
            dir,
            "no optimiser state was saved with this run (an older innfer wrote it), so it cannot be resumed exactly; train a new run",
        )
    })?;
    let path = dir.join(&file.file);
    verify_weights(&path, &file)?;
    let stored =
        Tensor::read_safetensors(&path).map_err(|error| Error::checkpoint(&path, format!("unreadable optimiser state: {error}")))?;
    Ok(stored.into_iter().map(|(name, tensor)| (name, tensor.to_device(device))).collect())
}

/// Reads the weights file and checks its size and checksum against the manifest.
fn verify_weights(path: &PathBuf, expected: &WeightsFile) -> Result<()> {
    let contents = fs::read(path).map_err(|source| Error::checkpoint(path, format!("missing weights: {source}")))?;
    if contents.len() as u64 != expected.bytes {
        return Err(Error::checkpoint(
            path,
            format!("weights are {} bytes, the manifest says {}: the file is truncated or replaced", contents.len(), expected.bytes),
        ));
    }
    if crc32fast::hash(&contents) != expected.crc32 {
        return Err(Error::checkpoint(path, "weights do not match the manifest's checksum: the file is corrupted"));
    }
    Ok(())
}

/// Copies stored tensors into the model, insisting on the same names and shapes.
fn copy_weights(model: &Model, stored: Vec<(String, Tensor)>, path: &Path) -> Result<()> {
    let mut stored: BTreeMap<String, Tensor> = stored.into_iter().collect();
    let variables = model.vars.variables();
    let mismatch = |message: String| Error::checkpoint(path, format!("weights do not fit the manifest's model: {message}"));
    for (name, variable) in &variables {
        let tensor = stored.remove(name).ok_or_else(|| mismatch(format!("'{name}' is missing")))?;
        if tensor.size() != variable.size() {
            return Err(mismatch(format!("'{name}' has shape {:?}, the model needs {:?}", tensor.size(), variable.size())));
        }
        let mut variable = variable.shallow_clone();
        tch::no_grad(|| variable.f_copy_(&tensor.to_kind(variable.kind())))?;
    }
    if let Some(extra) = stored.keys().next() {
        return Err(mismatch(format!("'{extra}' is not part of the model")));
    }
    Ok(())
}
