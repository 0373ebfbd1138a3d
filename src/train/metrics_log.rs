//! `metrics.csv`: one row per log record, flushed as it is written so a crash keeps the history.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::fit::LogRecord;
use crate::error::{Error, Result};
use crate::io::atomic::write_text_atomically;

/// The training log of a run.
pub struct MetricsLog {
    writer: csv::Writer<File>,
    path: PathBuf,
    /// The round of a sequential run, written as the first column (none: no such column).
    round: Option<usize>,
}

impl MetricsLog {
    /// Creates `path` with a header for the given loss terms (and `val_loss` when `validation`).
    pub fn create(path: &Path, terms: &[&str], validation: bool) -> Result<Self> {
        Self::create_with(path, terms, validation, None)
    }

    /// Creates `path` like [`MetricsLog::create`] with a first column `round`, starting at round 1.
    pub fn create_in_rounds(path: &Path, terms: &[&str], validation: bool) -> Result<Self> {
        Self::create_with(path, terms, validation, Some(1))
    }

    fn create_with(path: &Path, terms: &[&str], validation: bool, round: Option<usize>) -> Result<Self> {
        let file = File::create(path).map_err(|source| Error::io(path, source))?;
        let mut log = MetricsLog { writer: csv::Writer::from_writer(file), path: path.to_path_buf(), round };
        let validation = validation.then_some("val_loss");
        let round_column = round.map(|_| "round");
        let header = round_column
            .iter()
            .copied()
            .chain(["step", "elapsed_s", "epoch", "lr", "samples_per_s"])
            .chain(terms.iter().copied())
            .chain(validation);
        log.writer.write_record(header).map_err(|error| log.error(error))?;
        Ok(log)
    }

    /// Opens an existing log to add records to it (a resumed run), first cutting off the records
    /// after `step` (written after the checkpoint that the run resumes from).
    pub fn resume(path: &Path, step: u64) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::io(path, source))?;
        let mut lines = text.lines();
        let header = lines.next().ok_or_else(|| Error::csv(path, "the training log has no header"))?;
        let kept = lines
            .take_while(|line| line.split(',').next().and_then(|first| first.parse::<u64>().ok()).is_some_and(|logged| logged <= step));
        let contents: String = std::iter::once(header).chain(kept).flat_map(|line| [line, "\n"]).collect();
        write_text_atomically(path, &contents)?;
        let file = std::fs::OpenOptions::new().append(true).open(path).map_err(|source| Error::io(path, source))?;
        Ok(MetricsLog { writer: csv::Writer::from_writer(file), path: path.to_path_buf(), round: None })
    }

    /// Sets the round the next records belong to (a log created in rounds).
    pub fn set_round(&mut self, round: usize) {
        if self.round.is_some() {
            self.round = Some(round);
        }
    }

    /// Appends one record and flushes it.
    pub fn write(&mut self, record: &LogRecord) -> Result<()> {
        let fixed = [record.elapsed, record.epoch, record.lr, record.samples_per_second];
        let row =
            self.round.map(|round| round.to_string()).into_iter().chain(std::iter::once(record.step.to_string())).chain(
                fixed.iter().chain(record.losses.iter().map(|(_, value)| value)).chain(&record.validation).map(|v| format!("{v:.6e}")),
            );
        self.writer.write_record(row).map_err(|error| self.error(error))?;
        self.writer.flush().map_err(|source| Error::io(&self.path, source))
    }

    fn error(&self, error: csv::Error) -> Error {
        Error::csv(&self.path, error.to_string())
    }
}
