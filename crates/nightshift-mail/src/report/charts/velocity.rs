//! Bugs opened vs resolved per week: paired bars, so a week where the
//! backlog grew is visible at a glance (the left bar is taller).

use plotters::prelude::*;

use super::{BLUE, Chart, INK, MUTED, SCALE, TEAL, WIDTH, bar_frame, draw, text};
use crate::report::RenderError;
use crate::report::data::WeekVelocity;

const HEIGHT: u32 = 220;

pub fn velocity(weeks: &[WeekVelocity]) -> Result<Option<Chart>, RenderError> {
    if weeks.is_empty() {
        return Ok(None);
    }
    let max = weeks
        .iter()
        .map(|w| w.opened.max(w.resolved))
        .max()
        .unwrap_or(0) as f64;
    // Room above the bars for the legend.
    let top = (max * 1.3).max(max + 1.0);
    let labels: Vec<String> = weeks
        .iter()
        .map(|w| w.week_start.format("%b %-d").to_string())
        .collect();
    let bar = |x: f64, left: bool, value: i64, colour: RGBColor| {
        let (a, b) = if left {
            (x - 0.38, x - 0.02)
        } else {
            (x + 0.02, x + 0.38)
        };
        Rectangle::new([(a, 0.0), (b, value.max(0) as f64)], colour.filled())
    };

    let png = draw(WIDTH, HEIGHT, |root| {
        let mut chart = bar_frame(root, &labels, top, MUTED)?;

        let swatch = move |colour: RGBColor| {
            move |(x, y): (i32, i32)| {
                let s = (5 * SCALE) as i32;
                Rectangle::new([(x, y - s), (x + 2 * s, y + s)], colour.filled())
            }
        };
        chart
            .draw_series(
                weeks
                    .iter()
                    .enumerate()
                    .map(|(i, w)| bar(i as f64, true, w.opened, BLUE)),
            )?
            .label("Opened")
            .legend(swatch(BLUE));
        chart
            .draw_series(
                weeks
                    .iter()
                    .enumerate()
                    .map(|(i, w)| bar(i as f64, false, w.resolved, TEAL)),
            )?
            .label("Resolved")
            .legend(swatch(TEAL));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(TRANSPARENT)
            .label_font(text(13, INK))
            .margin(4 * SCALE)
            .draw()?;
        Ok(())
    })?;

    let (opened, resolved) = weeks
        .iter()
        .fold((0, 0), |(o, r), w| (o + w.opened, r + w.resolved));
    Ok(Some(Chart {
        content_id: "velocity",
        alt: format!(
            "Bugs opened vs resolved over {} weeks: {opened} opened, {resolved} resolved",
            weeks.len()
        ),
        width: WIDTH,
        height: HEIGHT,
        png,
    }))
}
