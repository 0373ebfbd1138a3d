//! The calibration report as markdown: one table per check, the verdicts and the rules behind them.

use std::fmt::Write as _;
use std::path::Path;

use super::{CheckReport, Region, UniformityCheck};
use crate::error::{Error, Result};
use crate::io::atomic::{write_json_atomically, write_text_atomically};
use crate::plot::calibration::check_pictures;

/// The files a check writes into its folder.
pub const CHECK_FILES: [&str; 5] = ["check.json", "check.md", "sbc.png", "coverage.png", "contraction.png"];

impl CheckReport {
    /// One row per check with its verdict, as a markdown table.
    pub fn verdict_table(&self) -> String {
        let mut text = String::new();
        let _ = writeln!(text, "| check | verdict |\n|---|---|");
        let _ = writeln!(text, "| simulation-based calibration (ranks) | {} |", self.sbc.verdict);
        let _ = writeln!(text, "| {} | {} |", self.coverage_name(), self.coverage.check.verdict);
        let _ = writeln!(text, "| TARP | {} |", self.tarp.verdict);
        let _ = writeln!(text, "| z-scores | {} |", self.z_scores.verdict);
        if let Some(predictive) = &self.predictive {
            let consistent = if predictive.consistent { "consistent" } else { "inconsistent" };
            let _ = writeln!(text, "| posterior predictive | {consistent} |");
        }
        text
    }

    /// The report as markdown (`check.md`).
    pub fn markdown(&self) -> String {
        let mut text = String::new();
        let _ = writeln!(text, "# Calibration check\n");
        let _ = writeln!(text, "{} pairs (θ*, y), {} posterior draws each.\n", self.pairs, self.draws);
        text.push_str(&self.verdict_table());
        let coverage_name = self.coverage_name();

        let _ = writeln!(text, "\n## Simulation-based calibration\n");
        uniformity_table(&mut text, &self.sbc, "largest |ECDF − uniform|");
        let _ = writeln!(text, "\n## {}\n", capitalised(coverage_name));
        uniformity_table(&mut text, &self.coverage.check, "largest |coverage − α|");
        let _ = writeln!(text, "\n## TARP\n");
        uniformity_table(&mut text, &self.tarp, "largest |ECP − α|");

        let _ = writeln!(text, "\n## z-scores and contraction\n");
        let _ = writeln!(text, "| parameter | mean z | mean z² | contraction | p | verdict |\n|---|---|---|---|---|---|");
        for ((name, summary), verdict) in self.parameters.iter().zip(&self.z_scores.parameters).zip(&self.z_scores.verdicts) {
            let _ = writeln!(
                text,
                "| {name} | {:.3} | {:.3} | {:.3} | {} | {verdict} |",
                summary.mean_z,
                summary.mean_square_z,
                summary.contraction,
                p_text(summary.p_value)
            );
        }
        let _ = writeln!(text, "\nRule: {}.", self.z_scores.rule);

        if let Some(predictive) = &self.predictive {
            let _ = writeln!(text, "\n## Posterior predictive\n");
            let inside: Vec<String> = predictive.inside_95.iter().map(|share| format!("{:.1}%", share * 100.0)).collect();
            let _ = writeln!(
                text,
                "{} draws per pair through the forward process. y inside the central 95% interval of its predictive draws: {} \
                 (per y column). Re-simulation error ‖f(θ) − y‖: {:.4} for the draws, {:.4} for a fresh simulation at the truth.\n",
                predictive.draws_per_pair,
                inside.join(", "),
                predictive.resimulation_error,
                predictive.truth_resimulation_error
            );
            let _ = writeln!(
                text,
                "Rule: consistent when every y column lies inside for at least {:.0}% of the pairs.",
                super::predictive::INSIDE_AT_LEAST * 100.0
            );
        }
        text
    }
}

impl CheckReport {
    /// Writes [`CHECK_FILES`] into `dir` (created if missing).
    pub fn write_to(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|source| Error::io(dir, source))?;
        write_json_atomically(&dir.join("check.json"), self)?;
        write_text_atomically(&dir.join("check.md"), &self.markdown())?;
        check_pictures(dir, self)
    }

    fn coverage_name(&self) -> &'static str {
        match self.coverage.region {
            Region::HighestDensity => "expected coverage (highest-density regions)",
            Region::CentralIntervals => "expected coverage (central intervals)",
        }
    }
}

/// A p-value as text; the simulated ones bottom out at 1/4001.
fn p_text(p: f64) -> String {
    if p < 0.001 {
        format!("{p:.1e}")
    } else {
        format!("{p:.3}")
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |first| first.to_uppercase().chain(chars).collect())
}

/// One row per curve: its largest departure, mean, variance, p-value and verdict; then the rule.
fn uniformity_table(text: &mut String, check: &UniformityCheck, departure: &str) {
    let _ = writeln!(text, "| curve | {departure} | mean level (½) | variance (1/12 = 0.083) | p | verdict |\n|---|---|---|---|---|---|");
    for curve in &check.curves {
        let largest = curve.test.ecdf_difference.iter().fold(0.0f64, |most, d| most.max(d.abs()));
        let _ = writeln!(
            text,
            "| {} | {largest:.3} | {:.3} | {:.3} | {} | {} |",
            curve.name,
            curve.test.mean,
            curve.test.variance,
            p_text(curve.test.p_value),
            curve.verdict
        );
    }
    let _ = writeln!(text, "\nRule: {}.", check.rule);
}
