//! SLA breaches of the week by severity: one bar per severity, in the
//! severity's colour, with the count written above it.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Chart, GRID, INK, MUTED, SCALE, WIDTH, at, draw, text, whole};
use crate::report::RenderError;
use crate::report::data::SeverityCount;
use crate::report::format::severity_colour;

const HEIGHT: u32 = 200;

/// `None` when nothing breached: "No SLA breaches this week" says it better
/// than four empty bars.
pub fn sla_breaches(counts: &[SeverityCount]) -> Result<Option<Chart>, RenderError> {
    if counts.iter().all(|c| c.count <= 0) {
        return Ok(None);
    }
    let max = counts.iter().map(|c| c.count).max().unwrap_or(0) as f64;
    // Headroom for the count label above the tallest bar.
    let top = (max * 1.2).max(max + 1.0);
    let names: Vec<String> = counts.iter().map(|c| c.severity.clone()).collect();
    let n = counts.len() as f64;

    let png = draw(WIDTH, HEIGHT, |root| {
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
            .x_labels(counts.len())
            .x_label_formatter(&|x| at(&names, *x).cloned().unwrap_or_default())
            .y_labels(5)
            .y_label_formatter(&whole)
            .label_style(text(13, INK))
            .draw()?;

        chart.draw_series(counts.iter().enumerate().map(|(i, c)| {
            let x = i as f64;
            let (r, g, b) = severity_colour(&c.severity);
            let colour = RGBColor(r, g, b);
            Rectangle::new([(x - 0.3, 0.0), (x + 0.3, c.count as f64)], colour.filled())
        }))?;
        let above = Pos::new(HPos::Center, VPos::Bottom);
        chart.draw_series(counts.iter().enumerate().map(|(i, c)| {
            Text::new(
                c.count.to_string(),
                (i as f64, c.count as f64 + top * 0.02),
                text(15, INK).pos(above),
            )
        }))?;
        Ok(())
    })?;

    let alt = counts
        .iter()
        .map(|c| format!("{} {}", c.severity, c.count))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(Some(Chart {
        content_id: "sla-breaches",
        alt: format!("SLA breaches this week by severity: {alt}"),
        width: WIDTH,
        height: HEIGHT,
        png,
    }))
}
