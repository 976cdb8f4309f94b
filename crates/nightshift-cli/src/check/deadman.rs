//! What each route's dead-man check should expect (issue 34): its period and
//! a grace that covers a run's longest duration, the platform's jitter and a
//! late delivery, so the check can be set up to match; and which setting
//! gives the route its check (never the URL: it holds the check's key).

use chrono::{DateTime, Duration, Utc};
use nightshift_core::{Healthchecks, RouteSpec};
use nightshift_tasks::hourly::missed_slots::MISSED_GRACE;

pub fn lines(specs: &[RouteSpec], now: DateTime<Utc>) -> Vec<String> {
    let checks = Healthchecks::from_lookup(&|k: &str| std::env::var(k).ok());
    specs
        .iter()
        .map(|spec| {
            let period = spec.schedule.period_at(now);
            let jitter = Duration::from_std(spec.schedule.jitter()).unwrap_or_default();
            let longest = Duration::from_std(spec.max_duration).unwrap_or_default();
            let grace = longest + jitter + MISSED_GRACE;
            let pings = match checks.as_ref().ok().and_then(|c| c.source_for(spec.name)) {
                Some(source) => format!("pings via {source}"),
                None => format!(
                    "no check: set HEALTHCHECK_URL_{} or HEALTHCHECK_PING_KEY",
                    spec.name.to_ascii_uppercase()
                ),
            };
            format!(
                "dead-man check for {}: period {}, grace {} ({})",
                spec.name,
                human(period),
                human(grace),
                pings
            )
        })
        .collect()
}

/// `1 h`, `7 days`, `24 min`: what a Healthchecks.io form takes.
fn human(d: Duration) -> String {
    let mins = d.num_minutes();
    if mins >= 24 * 60 && mins % (24 * 60) == 0 {
        let days = mins / (24 * 60);
        format!("{days} day{}", if days == 1 { "" } else { "s" })
    } else if mins >= 60 && mins % 60 == 0 {
        format!("{} h", mins / 60)
    } else {
        format!("{} min", (d.num_seconds() + 59) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_and_graces_of_the_shipped_routes() {
        let now = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 12, 6, 12, 0, 0).unwrap();
        let lines = lines(&nightshift_tasks::specs(), now);
        // hourly: 300 s + 10 min; daily and weekly: 800 s + 10 min.
        assert!(
            lines[0].starts_with("dead-man check for hourly: period 1 h, grace 15 min ("),
            "{lines:?}"
        );
        assert!(
            lines[1].starts_with("dead-man check for daily: period 1 day, grace 24 min ("),
            "{lines:?}"
        );
        assert!(
            lines[2].starts_with("dead-man check for weekly: period 7 days, grace 24 min ("),
            "{lines:?}"
        );
        assert_eq!(human(Duration::seconds(61)), "2 min");
    }
}
