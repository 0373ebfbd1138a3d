//! The pictures of a calibration check: SBC rank ECDFs, coverage and TARP curves, z-score against
//! contraction.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{plot_error, png, FONT, PALETTE};
use crate::error::Result;
use crate::eval::check::{Band, CheckReport, Region, UniformityCheck};

/// Most panels in one picture (the first ones are drawn, and the title says so).
pub const MAX_PANELS: usize = 12;
const BAND_FILL: RGBColor = RGBColor(200, 200, 200);

/// Rows and columns of a grid for `panels` panels (at most four across).
fn grid_shape(panels: usize) -> (usize, usize) {
    let columns = panels.clamp(1, 4);
    (panels.div_ceil(columns).max(1), columns)
}

/// A title with a note when only the first [`MAX_PANELS`] of `count` parameters are drawn.
fn titled(title: &str, count: usize) -> String {
    match count > MAX_PANELS {
        true => format!("{title} (first {MAX_PANELS} of {count} parameters)"),
        false => title.to_string(),
    }
}

/// A picture of one panel per parameter (the first [`MAX_PANELS`] of `count`) under `title`, at most
/// four across: `draw(index, area)` draws parameter `index`'s panel.
fn parameter_panels(
    path: &Path,
    title: &str,
    count: usize,
    mut draw: impl FnMut(usize, &DrawingArea<BitMapBackend, Shift>) -> Result<()>,
) -> Result<()> {
    let fail = plot_error(path);
    let shown = count.min(MAX_PANELS);
    let (rows, columns) = grid_shape(shown);
    png(path, (360 * columns as u32, 60 + 300 * rows as u32), |root| {
        let body = root.titled(&titled(title, count), (FONT, 22)).map_err(|e| fail(e.to_string()))?;
        for (index, area) in body.split_evenly((rows, columns)).iter().enumerate().take(shown) {
            draw(index, area)?;
        }
        Ok(())
    })
}

/// The band as a closed polygon around `centre(z)` + [lower, upper].
fn band_polygon(band: &Band, centre: impl Fn(f64) -> f64) -> Vec<(f64, f64)> {
    let upper = band.grid.iter().zip(&band.upper).map(|(&z, &u)| (z, centre(z) + u));
    let lower = band.grid.iter().zip(&band.lower).rev().map(|(&z, &l)| (z, centre(z) + l));
    upper.chain(lower).collect()
}

/// sbc.png: per parameter, the ECDF of the ranks minus the uniform CDF, inside its 95% band.
pub fn sbc_picture(path: &Path, report: &CheckReport) -> Result<()> {
    let fail = plot_error(path);
    let check = &report.sbc;
    let title = format!("SBC: rank ECDF − uniform, 95% band ({}; {})", pairs_text(report), check.verdict);
    let extent = extent(check).max(0.05) * 1.15;
    parameter_panels(path, &title, check.curves.len(), |index, area| {
        let curve = &check.curves[index];
        let caption = format!("{}: p = {:.3}, {}", curve.name, curve.test.p_value, curve.verdict);
        let mut chart = ChartBuilder::on(area)
            .caption(caption, (FONT, 15))
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(45)
            .build_cartesian_2d(0f64..1.0, -extent..extent)
            .map_err(|e| fail(e.to_string()))?;
        chart
            .configure_mesh()
            .x_desc("normalised rank")
            .x_labels(5)
            .y_labels(5)
            .label_style((FONT, 12))
            .draw()
            .map_err(|e| fail(e.to_string()))?;
        chart
            .draw_series([Polygon::new(band_polygon(&check.band, |_| 0.0), BAND_FILL.mix(0.6).filled())])
            .map_err(|e| fail(e.to_string()))?;
        let line = check.band.grid.iter().copied().zip(curve.test.ecdf_difference.iter().copied());
        chart.draw_series(LineSeries::new(line, PALETTE[0].stroke_width(2))).map_err(|e| fail(e.to_string()))?;
        Ok(())
    })
}

/// The largest |value| of the band and the curves of `check`.
fn extent(check: &UniformityCheck) -> f64 {
    let band = check.band.lower.iter().chain(&check.band.upper);
    let curves = check.curves.iter().flat_map(|curve| curve.test.ecdf_difference.iter());
    band.chain(curves).fold(0.0f64, |most, value| most.max(value.abs()))
}

fn pairs_text(report: &CheckReport) -> String {
    format!("{} pairs × {} draws", report.pairs, report.draws)
}

/// coverage.png: expected coverage against the nominal level (left), and TARP's (right), each with
/// the diagonal of a calibrated posterior and its 95% band.
pub fn coverage_picture(path: &Path, report: &CheckReport) -> Result<()> {
    let fail = plot_error(path);
    let region = match report.coverage.region {
        Region::HighestDensity => "highest-density regions",
        Region::CentralIntervals => "central intervals",
    };
    let panels = [
        (format!("Coverage, {region}: {}", report.coverage.check.verdict), &report.coverage.check),
        (format!("TARP: {}", report.tarp.verdict), &report.tarp),
    ];
    png(path, (1300, 620), |root| {
        for (area, (title, check)) in root.split_evenly((1, 2)).iter().zip(&panels) {
            let mut chart = ChartBuilder::on(area)
                .caption(title, (FONT, 20))
                .margin(15)
                .x_label_area_size(40)
                .y_label_area_size(50)
                .build_cartesian_2d(0f64..1.0, 0f64..1.0)
                .map_err(|e| fail(e.to_string()))?;
            chart
                .configure_mesh()
                .x_desc("nominal level α")
                .y_desc("share of truths inside")
                .label_style((FONT, 14))
                .draw()
                .map_err(|e| fail(e.to_string()))?;
            chart
                .draw_series([Polygon::new(band_polygon(&check.band, |z| z), BAND_FILL.mix(0.6).filled())])
                .map_err(|e| fail(e.to_string()))?;
            chart.draw_series(LineSeries::new([(0.0, 0.0), (1.0, 1.0)], BLACK.stroke_width(1))).map_err(|e| fail(e.to_string()))?;
            for (index, curve) in check.curves.iter().enumerate() {
                let colour = PALETTE[index % PALETTE.len()];
                let points = check.band.grid.iter().zip(&curve.test.ecdf_difference).map(|(&z, &d)| (z, z + d));
                let series = chart.draw_series(LineSeries::new(points, colour.stroke_width(2))).map_err(|e| fail(e.to_string()))?;
                if check.curves.len() <= PALETTE.len() {
                    series
                        .label(format!("{} ({})", curve.name, curve.verdict))
                        .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(2)));
                }
            }
            if check.curves.len() <= PALETTE.len() {
                chart
                    .configure_series_labels()
                    .position(SeriesLabelPosition::UpperLeft)
                    .label_font((FONT, 13))
                    .background_style(WHITE.mix(0.8))
                    .border_style(BLACK)
                    .draw()
                    .map_err(|e| fail(e.to_string()))?;
            }
        }
        Ok(())
    })
}

/// contraction.png: per parameter, each pair's posterior z-score against its contraction.
pub fn contraction_picture(path: &Path, report: &CheckReport) -> Result<()> {
    let fail = plot_error(path);
    let title = format!("z-score against contraction ({}; {})", pairs_text(report), report.z_scores.verdict);
    parameter_panels(path, &title, report.parameters.len(), |index, area| {
        let points = &report.scatter[index];
        let summary = &report.z_scores.parameters[index];
        let low = points.iter().fold(0.0f64, |low, &(c, _)| low.min(c)).max(-1.0);
        let caption = format!("{}: mean z {:.2}, mean z² {:.2}", report.parameters[index], summary.mean_z, summary.mean_square_z);
        let mut chart = ChartBuilder::on(area)
            .caption(caption, (FONT, 15))
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(40)
            .build_cartesian_2d(low..1.0, -5f64..5.0)
            .map_err(|e| fail(e.to_string()))?;
        chart
            .configure_mesh()
            .x_desc("contraction")
            .y_desc("z")
            .x_labels(5)
            .y_labels(5)
            .label_style((FONT, 12))
            .draw()
            .map_err(|e| fail(e.to_string()))?;
        let dots = points.iter().map(|&(c, z)| Circle::new((c.clamp(low, 1.0), z.clamp(-5.0, 5.0)), 2, PALETTE[0].mix(0.35).filled()));
        chart.draw_series(dots).map_err(|e| fail(e.to_string()))?;
        Ok(())
    })
}

/// Writes sbc.png, coverage.png and contraction.png into `dir`.
pub fn check_pictures(dir: &Path, report: &CheckReport) -> Result<()> {
    sbc_picture(&dir.join("sbc.png"), report)?;
    coverage_picture(&dir.join("coverage.png"), report)?;
    contraction_picture(&dir.join("contraction.png"), report)
}
