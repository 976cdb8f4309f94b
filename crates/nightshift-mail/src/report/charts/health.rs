//! Portfolio health per day: a line with a light area under it.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{BLUE, Chart, GRID, INK, MUTED, SCALE, WIDTH, at, draw, text};
use crate::report::RenderError;
use crate::report::data::HealthPoint;

const HEIGHT: u32 = 220;

/// `None` when there is no history yet: the report says so in words
/// instead of showing an empty frame.
pub fn health_trend(points: &[HealthPoint]) -> Result<Option<Chart>, RenderError> {
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return Ok(None);
    };
    let values: Vec<(f64, f64)> = points
        .iter()
        .enumerate()
        .map(|(i, p)| (i as f64, p.average_health.clamp(0.0, 100.0)))
        .collect();
    let (lo, hi) = y_range(values.iter().map(|v| v.1));
    // A single point still gets a visible x extent around it.
    let x_max = (values.len() as f64 - 1.0).max(1.0);
    let dates: Vec<String> = points
        .iter()
        .map(|p| p.date.format("%b %-d").to_string())
        .collect();
    let last_value = values[values.len() - 1];

    let png = draw(WIDTH, HEIGHT, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin_top(14 * SCALE)
            .margin_right(24 * SCALE)
            .margin_left(6 * SCALE)
            .margin_bottom(6 * SCALE)
            .x_label_area_size(26 * SCALE)
            .y_label_area_size(36 * SCALE)
            .build_cartesian_2d(-0.3..x_max + 0.3, lo..hi)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID.stroke_width(SCALE))
            .axis_style(MUTED.stroke_width(SCALE))
            .x_labels(values.len().min(7))
            .x_label_formatter(&|x| at(&dates, *x).cloned().unwrap_or_default())
            .y_labels(5)
            .y_label_formatter(&|y| format!("{y:.0}"))
            .label_style(text(13, MUTED))
            .draw()?;

        let area = BLUE.mix(0.12).filled();
        chart.draw_series(AreaSeries::new(values.iter().copied(), lo, area))?;
        chart.draw_series(LineSeries::new(
            values.iter().copied(),
            BLUE.stroke_width(3 * SCALE),
        ))?;
        // Dots only when there are few points; on 28 days they are noise.
        if values.len() <= 10 {
            chart.draw_series(
                values
                    .iter()
                    .map(|&p| Circle::new(p, 4 * SCALE, BLUE.filled())),
            )?;
        }
        // The latest value, labelled up and to the left of the line's end
        // so the label clears both the dot and the right edge.
        let label = format!("{:.0}", last_value.1);
        let style = text(15, INK).pos(Pos::new(HPos::Right, VPos::Bottom));
        let offset = (6 * SCALE) as i32;
        let marker = EmptyElement::at(last_value)
            + Circle::new((0, 0), 5 * SCALE, BLUE.filled())
            + Text::new(label, (-offset, -offset), style);
        chart.draw_series(std::iter::once(marker))?;
        Ok(())
    })?;

    Ok(Some(Chart {
        content_id: "health-trend",
        alt: format!(
            "Portfolio health from {:.0} on {} to {:.0} on {}",
            first.average_health, first.date, last.average_health, last.date
        ),
        width: WIDTH,
        height: HEIGHT,
        png,
    }))
}

/// A padded range around the data in steps of 10, at least 20 wide, inside
/// 0..=100: a flat 0..100 axis would hide a 5-point drop.
fn y_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (min, max) = values.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    let mut lo = (((min - 5.0) / 10.0).floor() * 10.0).clamp(0.0, 100.0);
    let mut hi = (((max + 5.0) / 10.0).ceil() * 10.0).clamp(0.0, 100.0);
    while hi - lo < 20.0 {
        if hi < 100.0 {
            hi += 10.0;
        } else {
            lo -= 10.0;
        }
    }
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn y_range_pads_and_clamps() {
        assert_eq!(y_range([71.0, 74.0].into_iter()), (60.0, 80.0));
        assert_eq!(y_range([99.0].into_iter()), (80.0, 100.0));
        assert_eq!(y_range([2.0].into_iter()), (0.0, 20.0));
    }
}
