//! Training curves: one panel per run and loss term, on a log axis (symmetric log where a loss can be
//! negative, like a likelihood), so that early spikes do not flatten the rest.

use std::path::Path;

use plotters::prelude::*;

use super::{plot_error, png, FONT, PALETTE};
use crate::error::Result;

/// The training curves of one run: (term, [(step, value)]).
pub struct Curves<'a> {
    /// The run's name, at the head of each of its panels.
    pub title: &'a str,
    /// One series per loss term.
    pub series: Vec<(String, Vec<(f64, f64)>)>,
}

/// One loss term's (step, value) points.
type Series = [(f64, f64)];

/// Panels per row.
const COLUMNS: usize = 3;

/// Symmetric log: sign(v)·log10(1 + |v|), linear near zero and logarithmic beyond ±1.
fn symlog(value: f64) -> f64 {
    value.signum() * value.abs().ln_1p() / std::f64::consts::LN_10
}

fn symlog_inverse(value: f64) -> f64 {
    value.signum() * (10f64.powf(value.abs()) - 1.0)
}

/// A tick label that stays short at any magnitude.
fn tick(value: f64) -> String {
    let size = value.abs();
    if size != 0.0 && !(0.01..10_000.0).contains(&size) {
        format!("{value:.0e}")
    } else if size >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

/// Training curves, one panel per run and term, three to a row.
pub fn loss_curves(path: &Path, runs: &[Curves<'_>]) -> Result<()> {
    let fail = plot_error(path);
    let panels: Vec<(String, &Series, RGBColor)> =
        runs.iter()
            .flat_map(|run| {
                run.series.iter().enumerate().map(move |(index, (term, series))| {
                    (format!("{}: {term}", run.title), series.as_slice(), PALETTE[index % PALETTE.len()])
                })
            })
            .collect();
    let count = panels.len().max(1);
    let (rows, columns) = (count.div_ceil(COLUMNS), count.min(COLUMNS));
    png(path, (500 * columns as u32, 420 * rows as u32), |root| {
        for (area, (title, series, colour)) in root.split_evenly((rows, columns)).iter().zip(&panels) {
            let x_max = series.iter().fold(1.0f64, |most, &(x, _)| most.max(x));
            let positive = series.iter().all(|&(_, y)| y > 0.0);
            let transform = |y: f64| if positive { y.log10() } else { symlog(y) };
            let values: Vec<(f64, f64)> = series.iter().map(|&(x, y)| (x, transform(y))).filter(|(_, y)| y.is_finite()).collect();
            let (low, high) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), &(_, y)| (low.min(y), high.max(y)));
            let (low, high) = if low.is_finite() { (low, high) } else { (0.0, 1.0) };
            let pad = ((high - low) * 0.05).max(0.05);
            let axis = if positive { "loss (log scale)" } else { "loss (symmetric log scale)" };
            let mut chart = ChartBuilder::on(area)
                .caption(title, (FONT, 18))
                .margin(15)
                .x_label_area_size(40)
                .y_label_area_size(70)
                .build_cartesian_2d(0f64..x_max, (low - pad)..(high + pad))
                .map_err(|e| fail(e.to_string()))?;
            let label = |y: &f64| tick(if positive { 10f64.powf(*y) } else { symlog_inverse(*y) });
            chart
                .configure_mesh()
                .x_desc("step")
                .y_desc(axis)
                .x_labels(6)
                .y_labels(8)
                .x_label_formatter(&|step| format!("{step:.0}"))
                .y_label_formatter(&label)
                .label_style((FONT, 14))
                .draw()
                .map_err(|e| fail(e.to_string()))?;
            chart.draw_series(LineSeries::new(values, colour.stroke_width(2))).map_err(|e| fail(e.to_string()))?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlog_is_odd_invertible_and_logarithmic_beyond_one() {
        for value in [-2.5e7, -3.0, -0.5, 0.0, 0.25, 9.0, 1e4] {
            assert!((symlog_inverse(symlog(value)) - value).abs() <= 1e-9 * value.abs().max(1.0), "{value}");
            assert_eq!(symlog(-value), -symlog(value));
        }
        assert!((symlog(99.0) - 2.0).abs() < 1e-12);
        assert_eq!(tick(2.5e7), "2e7");
        assert_eq!(tick(-5.75), "-5.75");
        assert_eq!(tick(0.001), "1e-3");
    }
}
