//! The report's charts: plotters draws into an RGB buffer in memory, `png`
//! encodes it. Text uses the DejaVu Sans copy embedded in the binary, so
//! charts render identically where no system font exists (CI, Lambda).

mod health;
mod sla;
mod velocity;

use std::error::Error;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use super::RenderError;
use super::data::ReportData;

pub use health::health_trend;
pub use sla::sla_breaches;
pub use velocity::velocity;

/// The name the embedded font is registered under. Nothing else is
/// registered, so a chart can never silently pick a system font.
pub(crate) const FONT: &str = "DejaVu Sans";
const FONT_BYTES: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

/// Charts are drawn at twice their displayed size so they stay sharp on
/// high-density screens; every pixel constant below is multiplied by it.
pub(crate) const SCALE: u32 = 2;
/// Display width: the 640px card less its 24px side padding.
pub(crate) const WIDTH: u32 = 592;

/// One chart, ready to embed as `<img src="cid:{content_id}">`.
#[derive(Clone, Debug)]
pub struct Chart {
    pub content_id: &'static str,
    /// Describes the chart for clients that block images and screen readers.
    pub alt: String,
    /// Display size in CSS pixels (the PNG is SCALE times larger).
    pub width: u32,
    pub height: u32,
    pub png: Vec<u8>,
}

/// All charts the data supports, in the order the report shows them.
pub fn all(data: &ReportData) -> Result<Vec<Chart>, RenderError> {
    let charts = [
        health_trend(&data.health_trend)?,
        sla_breaches(&data.breaches_by_severity)?,
        velocity(&data.velocity)?,
    ];
    Ok(charts.into_iter().flatten().collect())
}

// Shared palette: dark text and light grid on the white chart background.
pub(crate) const INK: RGBColor = RGBColor(0x2b, 0x35, 0x42);
pub(crate) const MUTED: RGBColor = RGBColor(0x5f, 0x6b, 0x7a);
pub(crate) const GRID: RGBColor = RGBColor(0xe3, 0xe7, 0xec);
pub(crate) const BLUE: RGBColor = RGBColor(0x15, 0x65, 0xc0);
pub(crate) const TEAL: RGBColor = RGBColor(0x00, 0x89, 0x7b);

/// Text style at `size` display pixels.
pub(crate) fn text(size: u32, colour: RGBColor) -> TextStyle<'static> {
    (FONT, (size * SCALE) as f64).into_font().color(&colour)
}

/// Axis labels for bar counts: whole numbers only, so a 0..1 axis does not
/// read "0, 0, 1, 1" after rounding.
pub(crate) fn whole(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        String::new()
    }
}

/// The item at an integer x position, for category-like axes drawn on f64.
pub(crate) fn at<T>(items: &[T], x: f64) -> Option<&T> {
    if (x - x.round()).abs() > 1e-9 || x < -0.5 {
        return None;
    }
    items.get(x.round() as usize)
}

fn ensure_font() -> Result<(), RenderError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| register_font(FONT, FontStyle::Normal, FONT_BYTES).is_ok());
    if ok {
        Ok(())
    } else {
        Err(RenderError::Chart("embedded font failed to load".into()))
    }
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

type BarChart<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The frame the bar charts share: one category per integer x position
/// (labelled from `labels`), counts from 0 to `top` on y, light grid.
pub(crate) fn bar_frame<'a, 'b>(
    root: &'a Area<'b>,
    labels: &[String],
    top: f64,
    label_colour: RGBColor,
) -> Result<BarChart<'a, 'b>, Box<dyn Error>> {
    let n = labels.len() as f64;
    let mut chart = ChartBuilder::on(root)
        .margin_top(12 * SCALE)
        .margin_right(16 * SCALE)
        .margin_left(6 * SCALE)
        .margin_bottom(6 * SCALE)
        .x_label_area_size(26 * SCALE)
        .y_label_area_size(36 * SCALE)
        .build_cartesian_2d(-0.5..n - 0.5, 0.0..top)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID.stroke_width(SCALE))
        .axis_style(MUTED.stroke_width(SCALE))
        .x_labels(labels.len())
        .x_label_formatter(&|x| at(labels, *x).cloned().unwrap_or_default())
        .y_labels(5)
        .y_label_formatter(&whole)
        .label_style(text(13, label_colour))
        .draw()?;
    Ok(chart)
}

/// Runs `paint` on a white canvas of the given display size and returns the
/// PNG bytes.
pub(crate) fn draw(
    width: u32,
    height: u32,
    paint: impl FnOnce(&Area<'_>) -> Result<(), Box<dyn Error>>,
) -> Result<Vec<u8>, RenderError> {
    ensure_font()?;
    let (w, h) = (width * SCALE, height * SCALE);
    let mut rgb = vec![0xffu8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        paint(&root).map_err(|e| RenderError::Chart(e.to_string()))?;
        root.present().map_err(chart_error)?;
    }
    encode_png(w, h, &rgb)
}

fn chart_error(e: impl Error) -> RenderError {
    RenderError::Chart(e.to_string())
}

fn encode_png(w: u32, h: u32, rgb: &[u8]) -> Result<Vec<u8>, RenderError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    // Flat-colour charts compress very well; smaller mails are worth the
    // few extra milliseconds once a week.
    encoder.set_compression(png::Compression::High);
    let mut writer = encoder.write_header().map_err(chart_error)?;
    writer.write_image_data(rgb).map_err(chart_error)?;
    writer.finish().map_err(chart_error)?;
    Ok(out)
}
