//! Daylight saving, told ahead: a schedule in a zone that skips or repeats
//! an hour runs on the platforms' rules (a local time that does not exist
//! is skipped, one that happens twice runs once; docs/decisions.md 81).
//! Nobody else tells a route's owner that the 02:30 run will not come on the
//! last Sunday of March, so `nightshift check` does, for the next 12 months.
//! These are warnings: the exit code stays 0.

use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use nightshift_core::schedule::{Declared, VercelJson};

/// Per route and date, at most this many local times are named.
const PER_DAY: usize = 3;

pub fn warnings(dir: &Path, now: DateTime<Utc>) -> Vec<String> {
    let Some(declared) = std::fs::read_to_string(dir.join("vercel.json"))
        .ok()
        .and_then(|t| VercelJson::parse(&t).ok())
        .map(|v| v.check_all().0)
    else {
        return Vec::new();
    };
    declared.iter().flat_map(|d| of(d, now)).collect()
}

fn of(d: &Declared, now: DateTime<Utc>) -> Vec<String> {
    let s = &d.schedule;
    let name = d.path.rsplit('/').next().unwrap_or(&d.path);
    let zone = s.timezone().name();
    let until = now + Duration::days(365);
    let mut out = Vec::new();
    for (date, times) in by_date(s.skipped_between(now, until, 400)) {
        out.push(format!(
            "{name} at {times} {zone} will not run on {date}: that local time does not exist (the clocks go forward)"
        ));
    }
    for (date, times) in by_date(s.repeated_between(now, until, 400)) {
        out.push(format!(
            "{name} at {times} {zone} runs once on {date}, at the first of the two {times} (the clocks go back)"
        ));
    }
    out
}

/// Local times grouped by their date: ("2027-03-28", "02:00, 02:30").
fn by_date(times: Vec<chrono::NaiveDateTime>) -> Vec<(String, String)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for t in times {
        let date = t.format("%Y-%m-%d").to_string();
        let hm = t.format("%H:%M").to_string();
        match out.last_mut() {
            Some((d, list)) if *d == date => list.push(hm),
            _ => out.push((date, vec![hm])),
        }
    }
    out.into_iter()
        .map(|(d, list)| {
            let more = list.len().saturating_sub(PER_DAY);
            let mut shown = list
                .into_iter()
                .take(PER_DAY)
                .collect::<Vec<_>>()
                .join(", ");
            if more > 0 {
                shown.push_str(&format!(" and {more} more"));
            }
            (d, shown)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use nightshift_core::Schedule;

    fn declared(expr: &str, tz: &str, path: &str) -> Declared {
        Declared {
            source: "schedules[0]".into(),
            path: path.into(),
            schedule: Schedule::parse_in(expr, tz.parse().unwrap()).unwrap(),
        }
    }

    #[test]
    fn names_the_dates_a_local_time_is_skipped_or_repeated() {
        let now = Utc.with_ymd_and_hms(2026, 12, 6, 0, 0, 0).unwrap();
        let daily = of(
            &declared("30 2 * * *", "Europe/Berlin", "/api/cron/daily"),
            now,
        );
        assert_eq!(
            daily,
            vec![
                "daily at 02:30 Europe/Berlin will not run on 2027-03-28: that local time does not exist (the clocks go forward)",
                "daily at 02:30 Europe/Berlin runs once on 2027-10-31, at the first of the two 02:30 (the clocks go back)",
            ]
        );
        let every_ten = of(
            &declared("*/10 * * * *", "America/New_York", "/api/cron/hourly"),
            now,
        );
        assert_eq!(
            every_ten[0],
            "hourly at 02:00, 02:10, 02:20 and 3 more America/New_York will not run on 2027-03-14: that local time does not exist (the clocks go forward)"
        );
        assert!(
            of(
                &declared("30 6 * * *", "Asia/Kolkata", "/api/cron/daily"),
                now
            )
            .is_empty()
        );
        assert!(of(&declared("30 2 * * *", "UTC", "/api/cron/daily"), now).is_empty());
        // 06:30 in Berlin never falls in a transition.
        assert!(
            of(
                &declared("30 6 * * *", "Europe/Berlin", "/api/cron/daily"),
                now
            )
            .is_empty()
        );
    }
}
