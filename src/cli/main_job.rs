//! The main job (innfer with no subcommand): the seed's experiments, pictures and a report.

use std::path::PathBuf;

use crate::app::showcase::{self, Event, ShowcaseSettings, STAGES};
use anyhow::Result;
use clap::Args;
use indicatif::ProgressBar;
use innfer::train::Preset;

use super::observations::parse_count;
use super::{progress, run_folder, Context};

/// Options of the main job.
#[derive(Debug, Args)]
pub struct MainJobArgs {
    /// Output folder of the main job (default: a new runs/demo-<time>/); never overwritten.
    #[arg(long)]
    pub out: Option<PathBuf>,

    /// quick: within 10 minutes on 2 CPU cores; paper: the paper-sized version, meant for a GPU.
    #[arg(long, default_value = "quick")]
    pub preset: Preset,

    /// Prior draws of the ABC reference.
    #[arg(long, default_value = "1e8", value_parser = parse_count)]
    pub abc_draws: i64,

    /// Optimiser steps of each training, overriding the presets (e.g. 20 for a smoke test).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub steps: Option<u64>,

    /// Pairs (θ*, y) of the calibration checks of the kinematics models (1000 draws each).
    #[arg(long, default_value_t = innfer::eval::check::DEFAULT_PAIRS, value_parser = parse_count)]
    pub check_pairs: i64,
}

/// Runs the main job.
pub fn run(args: MainJobArgs, context: Context) -> Result<()> {
    let dir = args.out.unwrap_or_else(|| run_folder::default_dir("demo"));
    run_folder::create(&dir)?;
    let settings = ShowcaseSettings {
        preset: args.preset,
        abc_draws: args.abc_draws,
        steps: args.steps,
        check_pairs: args.check_pairs,
        seed: context.seed,
    };
    let started = std::time::Instant::now();
    let mut bar: Option<ProgressBar> = None;
    showcase::run(&dir, &settings, context.device, progress::stop_flag(), &mut |event| match event {
        Event::Stage(index, name) => {
            if let Some(bar) = bar.take() {
                bar.finish_and_clear();
            }
            eprintln!("[{index}/{STAGES}] {name}");
            bar = Some(progress::training_bar(&format!("[{index}/{STAGES}]")));
        }
        Event::Training(record) => {
            if let Some(bar) = &bar {
                progress::show_record(bar, record);
            }
        }
        Event::Abc(done, total) => {
            if let Some(bar) = &bar {
                bar.set_position((done as f64 / total as f64 * 1000.0) as u64);
                bar.set_message(format!("{done} of {total} draws"));
            }
        }
    })?;
    if let Some(bar) = bar.take() {
        bar.finish_and_clear();
    }
    eprintln!("main job done in {:.0} s: see {}", started.elapsed().as_secs_f64(), dir.join("report.md").display());
    Ok(())
}
