//! Pictures drawn with plotters, with a bundled font so text renders on machines without fonts.

pub mod calibration;
pub mod corner;
pub mod losses;

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result};
pub use losses::{loss_curves, Curves};

static FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
pub(crate) const FONT: &str = "sans-serif";

/// Eight distinguishable colours, one per gmm colour.
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

fn register_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok());
    if ok {
        Ok(())
    } else {
        Err(Error::Plot { path: "assets/DejaVuSans.ttf".into(), message: "the bundled font does not load".into() })
    }
}

pub(crate) fn plot_error(path: &Path) -> impl Fn(String) -> Error + '_ {
    move |message| Error::Plot { path: path.to_path_buf(), message }
}

/// Draws on a PNG of `size` at `path`, written atomically.
pub(crate) fn png(path: &Path, size: (u32, u32), draw: impl FnOnce(&DrawingArea<BitMapBackend, Shift>) -> Result<()>) -> Result<()> {
    register_font()?;
    let staged = crate::io::atomic::temporary_beside(path)?;
    {
        let root = BitMapBackend::new(staged.path(), size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| plot_error(path)(e.to_string()))?;
        draw(&root)?;
        root.present().map_err(|e| plot_error(path)(e.to_string()))?;
    }
    crate::io::atomic::commit(staged, path)
}

/// A scatter of points with a colour index each.
pub struct ColouredPoints<'a> {
    /// Panel title.
    pub title: &'a str,
    /// (x1, x2) of each point.
    pub points: &'a [(f64, f64)],
    /// Colour index of each point.
    pub colours: &'a [usize],
}

/// The seed's two-panel mixture figure: each panel a scatter of coloured points over the same axes.
pub fn mixture_figure(path: &Path, panels: &[ColouredPoints<'_>; 2]) -> Result<()> {
    let fail = plot_error(path);
    png(path, (1400, 700), |root| {
        for (area, panel) in root.split_evenly((1, 2)).iter().zip(panels) {
            let mut chart = ChartBuilder::on(area)
                .caption(panel.title, (FONT, 24))
                .margin(15)
                .x_label_area_size(40)
                .y_label_area_size(50)
                .build_cartesian_2d(-3.5f64..3.5, -3.5f64..3.5)
                .map_err(|e| fail(e.to_string()))?;
            chart.configure_mesh().x_desc("x1").y_desc("x2").label_style((FONT, 16)).draw().map_err(|e| fail(e.to_string()))?;
            for (colour, &paint) in PALETTE.iter().enumerate() {
                let style = paint.mix(0.5).filled();
                let points = panel.points.iter().zip(panel.colours).filter(|(_, &c)| c == colour);
                chart
                    .draw_series(points.map(|(&(a, b), _)| Circle::new((a, b), 2, style)))
                    .map_err(|e| fail(e.to_string()))?
                    .label(format!("colour {colour}"))
                    .legend(move |(x, y)| Circle::new((x, y), 5, paint.filled()));
            }
            chart
                .configure_series_labels()
                .label_font((FONT, 14))
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .position(SeriesLabelPosition::UpperRight)
                .draw()
                .map_err(|e| fail(e.to_string()))?;
        }
        Ok(())
    })
}

/// One panel of arm configurations for a target.
pub struct ArmPanel {
    /// The target end point.
    pub target: (f64, f64),
    /// The joints of each sampled arm: rail point, then the end of each segment.
    pub arms: Vec<Vec<(f64, f64)>>,
}

/// A grid of arm panels (3×3 for the nine showcase targets) with a title.
pub fn arm_grid(path: &Path, title: &str, panels: &[ArmPanel]) -> Result<()> {
    let fail = plot_error(path);
    let columns = 3;
    let rows = panels.len().div_ceil(columns).max(1);
    png(path, (1200, 60 + 400 * rows as u32), |root| {
        let body = root.titled(title, (FONT, 30)).map_err(|e| fail(e.to_string()))?;
        for (area, panel) in body.split_evenly((rows, columns)).iter().zip(panels) {
            let caption = format!("y* = ({:.2}, {:.2})", panel.target.0, panel.target.1);
            let mut chart = ChartBuilder::on(area)
                .caption(caption, (FONT, 18))
                .margin(10)
                .x_label_area_size(30)
                .y_label_area_size(40)
                .build_cartesian_2d(-0.3f64..2.3, -1.3f64..1.3)
                .map_err(|e| fail(e.to_string()))?;
            chart.configure_mesh().label_style((FONT, 12)).x_labels(6).y_labels(6).draw().map_err(|e| fail(e.to_string()))?;
            let rail = LineSeries::new([(0.0, -1.3), (0.0, 1.3)], BLACK.stroke_width(3));
            chart.draw_series(rail).map_err(|e| fail(e.to_string()))?;
            let arm_style = PALETTE[0].mix(0.06).stroke_width(1);
            for arm in &panel.arms {
                chart.draw_series(LineSeries::new(arm.iter().copied(), arm_style)).map_err(|e| fail(e.to_string()))?;
            }
            let ends = panel.arms.iter().filter_map(|arm| arm.last()).map(|&p| Circle::new(p, 1, PALETTE[1].mix(0.6).filled()));
            chart.draw_series(ends).map_err(|e| fail(e.to_string()))?;
            let cross = PALETTE[3].stroke_width(3);
            chart.draw_series([Cross::new(panel.target, 9, cross)]).map_err(|e| fail(e.to_string()))?;
        }
        Ok(())
    })
}
