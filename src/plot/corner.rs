//! Corner plots: a posterior's marginals on the diagonal, its pairs below, a reference beside it.

use std::path::Path;

use plotters::prelude::*;
use tch::{Kind, Tensor};

use super::{plot_error, png, FONT, PALETTE};
use crate::error::{Error, Result};

/// Most parameters in one corner plot.
pub const MAX_PARAMETERS: usize = 12;
/// Most points drawn per scatter panel (a random subset beyond).
const MAX_POINTS: i64 = 2000;
const BINS: i64 = 40;

/// What a corner plot shows.
pub struct Corner<'a> {
    /// Title above the panels.
    pub title: &'a str,
    /// Parameter names, one per column of the samples.
    pub names: &'a [String],
    /// Posterior samples [n, P].
    pub samples: &'a Tensor,
    /// Reference samples [m, P] (ABC, another method), overlaid in a second colour.
    pub reference: Option<&'a Tensor>,
    /// The true parameters, marked in every panel.
    pub truth: Option<Vec<f64>>,
}

/// Draws `corner` at `path`: histograms on the diagonal, scatters below it.
pub fn corner_plot(path: &Path, corner: &Corner<'_>) -> Result<()> {
    let fail = plot_error(path);
    let count = corner.names.len();
    if count == 0 || count > MAX_PARAMETERS {
        return Err(Error::invalid(format!("a corner plot shows 1 to {MAX_PARAMETERS} parameters, not {count}")));
    }
    let sets: Vec<(Tensor, RGBColor)> = std::iter::once((corner.samples, PALETTE[0]))
        .chain(corner.reference.map(|reference| (reference, PALETTE[1])))
        .map(|(samples, colour)| (subset(&samples.to_kind(Kind::Double).to_device(tch::Device::Cpu)), colour))
        .collect();
    let ranges = ranges(&sets, corner.truth.as_deref(), count);
    let side = (1100 / count as u32).clamp(160, 360);
    let key = match (corner.reference.is_some(), corner.truth.is_some()) {
        (true, true) => " (blue: posterior, orange: reference, red: truth)",
        (true, false) => " (blue: posterior, orange: reference)",
        (false, true) => " (red: truth)",
        (false, false) => "",
    };
    let title = format!("{}{key}", corner.title);
    png(path, (side * count as u32 + 20, side * count as u32 + 60), |root| {
        let body = root.titled(&title, (FONT, 20)).map_err(|e| fail(e.to_string()))?;
        let areas = body.split_evenly((count, count));
        for row in 0..count {
            for column in 0..=row {
                let area = &areas[row * count + column];
                let label = |index: usize| if row == count - 1 { corner.names[index].clone() } else { String::new() };
                let side_label = if column == 0 { corner.names[row].clone() } else { String::new() };
                if row == column {
                    histogram_panel(area, &sets, row, ranges[row], corner.truth.as_ref().map(|t| t[row]), &label(row))
                        .map_err(plot_error(path))?;
                } else {
                    let truth = corner.truth.as_ref().map(|t| (t[column], t[row]));
                    scatter_panel(area, &sets, (column, row), (ranges[column], ranges[row]), truth, (&label(column), &side_label))
                        .map_err(plot_error(path))?;
                }
            }
        }
        Ok(())
    })
}

/// At most [`MAX_POINTS`] rows of `samples`, evenly spaced (so that a redrawn plot is the same).
fn subset(samples: &Tensor) -> Tensor {
    let rows = samples.size()[0];
    if rows <= MAX_POINTS {
        return samples.shallow_clone();
    }
    let index = (Tensor::arange(MAX_POINTS, (Kind::Double, samples.device())) * (rows as f64 / MAX_POINTS as f64)).to_kind(Kind::Int64);
    samples.index_select(0, &index)
}

/// Each parameter's axis range: the 0.5% to 99.5% quantiles of every set, with the truth.
fn ranges(sets: &[(Tensor, RGBColor)], truth: Option<&[f64]>, count: usize) -> Vec<(f64, f64)> {
    let q = Tensor::from_slice(&[0.005f64, 0.995]);
    (0..count)
        .map(|j| {
            let (mut low, mut high) = truth.map_or((f64::INFINITY, f64::NEG_INFINITY), |t| (t[j], t[j]));
            for (samples, _) in sets {
                let bounds = samples.select(1, j as i64).quantile(&q, None, false, "linear");
                low = low.min(bounds.double_value(&[0]));
                high = high.max(bounds.double_value(&[1]));
            }
            let pad = ((high - low) * 0.08).max(1e-6);
            (low - pad, high + pad)
        })
        .collect()
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

/// Normalised histograms of parameter `j` of every set.
fn histogram_panel(
    area: &Area<'_>,
    sets: &[(Tensor, RGBColor)],
    j: usize,
    range: (f64, f64),
    truth: Option<f64>,
    label: &str,
) -> std::result::Result<(), String> {
    let (low, high) = range;
    let width = (high - low) / BINS as f64;
    let heights: Vec<Vec<f64>> = sets
        .iter()
        .map(|(samples, _)| {
            let column = samples.select(1, j as i64);
            let inside = column.ge(low).logical_and(&column.lt(high)).nonzero().view([-1]);
            let bins = ((column.index_select(0, &inside) - low) / width).floor().to_kind(Kind::Int64).clamp(0, BINS - 1);
            let counts = bins.bincount::<Tensor>(None, BINS).to_kind(Kind::Double);
            let total = column.size()[0].max(1) as f64;
            Vec::<f64>::try_from(counts / (total * width)).unwrap_or_default()
        })
        .collect();
    let top = heights.iter().flatten().fold(0.0f64, |most, &h| most.max(h)).max(1e-9) * 1.1;
    let mut chart = ChartBuilder::on(area)
        .margin(4)
        .x_label_area_size(if label.is_empty() { 5 } else { 30 })
        .y_label_area_size(5)
        .build_cartesian_2d(low..high, 0.0..top)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_labels(3)
        .x_desc(label)
        .label_style((FONT, 11))
        .draw()
        .map_err(|e| e.to_string())?;
    for (heights, (_, colour)) in heights.iter().zip(sets) {
        let steps = heights.iter().enumerate().flat_map(|(i, &h)| {
            let left = low + i as f64 * width;
            [(left, h), (left + width, h)]
        });
        chart.draw_series(LineSeries::new(steps, colour.stroke_width(2))).map_err(|e| e.to_string())?;
    }
    if let Some(value) = truth {
        chart.draw_series(LineSeries::new([(value, 0.0), (value, top)], PALETTE[3].stroke_width(2))).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Scatters of parameters (`a`, `b`) of every set.
fn scatter_panel(
    area: &Area<'_>,
    sets: &[(Tensor, RGBColor)],
    (a, b): (usize, usize),
    (x_range, y_range): ((f64, f64), (f64, f64)),
    truth: Option<(f64, f64)>,
    (label, side_label): (&str, &str),
) -> std::result::Result<(), String> {
    let mut chart = ChartBuilder::on(area)
        .margin(4)
        .x_label_area_size(if label.is_empty() { 5 } else { 30 })
        .y_label_area_size(if side_label.is_empty() { 5 } else { 40 })
        .build_cartesian_2d(x_range.0..x_range.1, y_range.0..y_range.1)
        .map_err(|e| e.to_string())?;
    let y_labels = if side_label.is_empty() { 0 } else { 3 };
    chart
        .configure_mesh()
        .y_labels(y_labels)
        .x_labels(3)
        .x_desc(label)
        .y_desc(side_label)
        .label_style((FONT, 11))
        .draw()
        .map_err(|e| e.to_string())?;
    for (samples, colour) in sets.iter().rev() {
        let xs = Vec::<f64>::try_from(samples.select(1, a as i64)).unwrap_or_default();
        let ys = Vec::<f64>::try_from(samples.select(1, b as i64)).unwrap_or_default();
        let style = colour.mix(0.25).filled();
        chart.draw_series(xs.into_iter().zip(ys).map(|point| Circle::new(point, 1, style))).map_err(|e| e.to_string())?;
    }
    if let Some(point) = truth {
        chart.draw_series([Cross::new(point, 6, PALETTE[3].stroke_width(2))]).map_err(|e| e.to_string())?;
    }
    Ok(())
}
