//! `innfer plot`: a corner plot of posterior draws, or the pictures of a main-job folder redrawn.

use std::path::{Path, PathBuf};

use crate::app::showcase::draw_pictures;
use anyhow::{bail, Result};
use clap::Args;
use innfer::io::posterior::read_draws_of;
use innfer::io::table::read_table;
use innfer::plot::corner::{corner_plot, Corner, MAX_PARAMETERS};

/// Draw a corner plot of posterior draws (histograms on the diagonal, pairs below it, a reference
/// overlaid, the truth marked), or redraw the pictures of a main-job folder from its CSVs.
#[derive(Debug, Args)]
pub struct PlotArgs {
    /// The folder written by the main job (innfer --out DIR): redraw its pictures (restyle without
    /// retraining).
    #[arg(long, required_unless_present = "posterior", conflicts_with = "posterior")]
    pub run: Option<PathBuf>,

    /// Posterior draws to draw as a corner plot: obs and one column per parameter (innfer sample's
    /// format).
    #[arg(long, value_name = "POST.csv", requires = "out")]
    pub posterior: Option<PathBuf>,

    /// Reference draws in the same format (ABC, another method), overlaid in a second colour.
    #[arg(long, value_name = "REF.csv", requires = "posterior")]
    pub reference: Option<PathBuf>,

    /// True parameters, marked in every panel: a CSV with one column per parameter and one row per
    /// observation (the row of --obs is used).
    #[arg(long, value_name = "PAIRS.csv", requires = "posterior")]
    pub truth: Option<PathBuf>,

    /// The observation (0-based obs) whose draws are drawn.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(i64).range(0..), requires = "posterior")]
    pub obs: i64,

    /// The parameters to draw [default: all, or the first 12].
    #[arg(long, value_delimiter = ',', value_name = "NAMES", requires = "posterior")]
    pub params: Option<Vec<String>>,

    /// The corner plot's PNG file.
    #[arg(long, value_name = "corner.png", requires = "posterior")]
    pub out: Option<PathBuf>,
}

/// Runs `innfer plot`.
pub fn run(args: PlotArgs) -> Result<()> {
    match (&args.run, &args.posterior, &args.out) {
        (Some(run), _, _) => {
            draw_pictures(run)?;
            eprintln!("pictures redrawn in {}", run.display());
        }
        (None, Some(posterior), Some(out)) => {
            draw_corner(&args, posterior, out)?;
            eprintln!("corner plot written to {}", out.display());
        }
        _ => bail!("give --run DIR, or --posterior POST.csv with --out corner.png"),
    }
    Ok(())
}

/// The corner plot of one observation's draws.
fn draw_corner(args: &PlotArgs, posterior: &Path, out: &Path) -> Result<()> {
    let (mut names, mut samples) = read_draws_of(posterior, args.params.as_deref(), args.obs)?;
    let mut title = format!("Posterior of obs {}", args.obs);
    if names.len() > MAX_PARAMETERS {
        eprintln!("plot: showing the first {MAX_PARAMETERS} of {} parameters (choose others with --params)", names.len());
        title.push_str(&format!(" (first {MAX_PARAMETERS} of {} parameters)", names.len()));
        names.truncate(MAX_PARAMETERS);
        samples = samples.narrow(1, 0, MAX_PARAMETERS as i64);
    }
    let reference = match &args.reference {
        Some(path) => {
            title.push_str(" against the reference");
            Some(read_draws_of(path, Some(&names), args.obs)?.1)
        }
        None => None,
    };
    let truth = match &args.truth {
        Some(path) => {
            let table = read_table(path)?;
            if table.rows() as i64 <= args.obs {
                bail!("{}: has {} rows, so no row for obs {} (rows are 0-based observations)", path.display(), table.rows(), args.obs);
            }
            Some(Vec::<f64>::try_from(table.select(&names, path)?.get(args.obs).to_kind(tch::Kind::Double))?)
        }
        None => None,
    };
    let corner = Corner { title: &title, names: &names, samples: &samples, reference: reference.as_ref(), truth };
    Ok(corner_plot(out, &corner)?)
}
