//! `innfer plot`: redraws the pictures of a finished main job from its CSVs.

use std::path::PathBuf;

use crate::app::showcase::draw_pictures;
use anyhow::Result;
use clap::Args;

/// Redraw the pictures of a main-job folder from its CSVs (restyle without retraining).
#[derive(Debug, Args)]
pub struct PlotArgs {
    /// The folder written by the main job (innfer --out DIR).
    #[arg(long)]
    pub run: PathBuf,
}

/// Runs `innfer plot`.
pub fn run(args: PlotArgs) -> Result<()> {
    draw_pictures(&args.run)?;
    eprintln!("pictures redrawn in {}", args.run.display());
    Ok(())
}
