//! SLA breaches of the week by severity: one bar per severity, in the
//! severity's colour, with the count written above it.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{Chart, INK, WIDTH, bar_frame, draw, text};
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

    let png = draw(WIDTH, HEIGHT, |root| {
        let mut chart = bar_frame(root, &names, top, INK)?;

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
