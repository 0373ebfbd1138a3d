//! Progress bars on the terminal (hidden when stderr is not one) and the Ctrl-C stop flag.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use indicatif::{ProgressBar, ProgressStyle};
use innfer::train::LogRecord;

/// Set by SIGINT/SIGTERM: long work stops cleanly and saves.
pub fn stop_flag() -> &'static AtomicBool {
    static STOP: OnceLock<&'static AtomicBool> = OnceLock::new();
    STOP.get_or_init(|| {
        let flag: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
        // Without a handler (another one already installed) Ctrl-C simply ends the process.
        let _ = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed));
        flag
    })
}

/// A bar over the fraction of training done, with the latest losses and throughput.
pub fn training_bar(title: &str) -> ProgressBar {
    let bar = ProgressBar::new(1000);
    let style = ProgressStyle::with_template("{prefix} [{elapsed_precise}] {wide_bar} {percent:>3}% ETA {eta} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_prefix(title.to_string());
    bar
}

/// Shows one training log record on a bar.
pub fn show_record(bar: &ProgressBar, record: &LogRecord) {
    bar.set_position((record.progress * 1000.0) as u64);
    let losses: Vec<String> = record.losses.iter().map(|(name, value)| format!("{name} {value:.4}")).collect();
    let validation = record.validation.map_or(String::new(), |loss| format!(" · validation {loss:.4}"));
    bar.set_message(format!("step {} · {}{validation} · {:.0} samples/s", record.step, losses.join(" "), record.samples_per_second));
}

/// A bar over a count of items.
pub fn count_bar(title: &str, length: u64, unit: &str) -> ProgressBar {
    let bar = ProgressBar::new(length);
    let template =
        format!("{{prefix}} [{{elapsed_precise}}] {{wide_bar}} {{human_pos}}/{{human_len}} {unit} ({{per_sec}}, ETA {{eta}}) {{msg}}");
    bar.set_style(ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_bar()));
    bar.set_prefix(title.to_string());
    bar
}

/// Says that round `round` of `rounds` of a sequential training starts.
pub fn announce_round(round: usize, rounds: usize) {
    eprintln!("round {round} of {rounds}");
}
