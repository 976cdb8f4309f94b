//! Schedules come from vercel.json, the one place the platform reads them, so
//! slots, "next run" and "missed run" can never disagree with the scheduler.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use croner::Cron;
use serde::Deserialize;

/// Time kept back from a function's maxDuration for bookkeeping after the
/// tasks: finishing the ledger row must happen before the platform kills us.
pub const BOOKKEEPING_MARGIN: Duration = Duration::from_secs(20);

/// The work budget inside a hard limit: the limit minus the bookkeeping
/// margin, or half of it when the limit is shorter than the margin.
pub fn budget_within(limit: Duration) -> Duration {
    limit
        .checked_sub(BOOKKEEPING_MARGIN)
        .filter(|d| !d.is_zero())
        .unwrap_or(limit / 2)
}

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("vercel.json is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("vercel.json has no cron for {0}")]
    NoCron(String),
    #[error("vercel.json cron {path}: {expr:?} is not a cron expression: {reason}")]
    BadCron {
        path: String,
        expr: String,
        reason: String,
    },
    #[error("vercel.json has no functions.\"{0}\".maxDuration")]
    NoMaxDuration(String),
}

#[derive(Debug, Deserialize)]
pub struct VercelJson {
    #[serde(default)]
    pub crons: Vec<CronEntry>,
    #[serde(default)]
    pub functions: HashMap<String, FunctionEntry>,
}

#[derive(Debug, Deserialize)]
pub struct CronEntry {
    pub path: String,
    pub schedule: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionEntry {
    pub max_duration: Option<u64>,
}

impl VercelJson {
    pub fn parse(text: &str) -> Result<Self, ScheduleError> {
        Ok(serde_json::from_str(text)?)
    }

    /// The schedule and maxDuration of the route served at `path`
    /// (`/api/cron/hourly` is built from `api/cron/hourly.rs`).
    pub fn route(&self, path: &str) -> Result<(Schedule, Duration), ScheduleError> {
        let entry = self
            .crons
            .iter()
            .find(|c| c.path.split('?').next() == Some(path))
            .ok_or_else(|| ScheduleError::NoCron(path.to_owned()))?;
        let schedule =
            Schedule::parse(&entry.schedule).map_err(|reason| ScheduleError::BadCron {
                path: path.to_owned(),
                expr: entry.schedule.clone(),
                reason,
            })?;
        let key = format!("{}.rs", path.trim_start_matches('/'));
        let max = self
            .functions
            .get(&key)
            .and_then(|f| f.max_duration)
            .ok_or(ScheduleError::NoMaxDuration(key))?;
        Ok((schedule, Duration::from_secs(max)))
    }
}

#[derive(Clone, Debug)]
pub struct Schedule {
    expr: String,
    cron: Cron,
}

impl Schedule {
    pub fn parse(expr: &str) -> Result<Self, String> {
        // The platform takes five fields; croner would also take seconds.
        if expr.split_whitespace().count() != 5 {
            return Err("expected five fields: minute hour day-of-month month day-of-week".into());
        }
        let cron = Cron::from_str(expr).map_err(|e| e.to_string())?;
        // Without a year field a cron that fires once fires every few years
        // (every 28 at most, leap days included), so one occurrence after a
        // fixed instant tells. One that never fires (30 February) would make
        // `slot_at` fall back to `now`: a new slot per call, no dedupe.
        let epoch = DateTime::<Utc>::UNIX_EPOCH;
        if cron.find_next_occurrence(&epoch, false).is_err() {
            return Err("never fires (no such date); the platform would never call it".into());
        }
        Ok(Self {
            expr: expr.to_owned(),
            cron,
        })
    }

    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// The schedule instant a call at `now` belongs to: the latest one at or
    /// before `now`. A late or repeated delivery lands on the same slot.
    pub fn slot_at(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.cron
            .find_previous_occurrence(&now, true)
            .unwrap_or(now)
    }

    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.find_next_occurrence(&t, false).ok()
    }

    /// Slots in `[from, to)`, oldest first, at most `limit` of them.
    pub fn slots_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> Vec<DateTime<Utc>> {
        self.cron
            .iter_from(from, croner::Direction::Forward)
            .take_while(|t| *t < to)
            .take(limit)
            .collect()
    }

    /// The gap between the slot of `now` and the next one: how often it runs.
    pub fn period_at(&self, now: DateTime<Utc>) -> chrono::Duration {
        let slot = self.slot_at(now);
        self.next_after(slot)
            .map(|n| n - slot)
            .unwrap_or(chrono::Duration::days(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    #[test]
    fn slots_follow_the_cron() {
        let hourly = Schedule::parse("0 * * * *").unwrap();
        assert_eq!(
            hourly.slot_at(at(2026, 11, 24, 21, 0, 0)),
            at(2026, 11, 24, 21, 0, 0)
        );
        assert_eq!(
            hourly.slot_at(at(2026, 11, 24, 21, 59, 59)),
            at(2026, 11, 24, 21, 0, 0)
        );
        let daily = Schedule::parse("0 2 * * *").unwrap();
        assert_eq!(
            daily.slot_at(at(2026, 11, 24, 1, 0, 0)),
            at(2026, 11, 23, 2, 0, 0)
        );
        let weekly = Schedule::parse("0 9 * * 1").unwrap();
        // 2026-11-24 is a Tuesday; its slot is Monday 09:00.
        assert_eq!(
            weekly.slot_at(at(2026, 11, 24, 8, 0, 0)),
            at(2026, 11, 23, 9, 0, 0)
        );
        assert_eq!(
            weekly.period_at(at(2026, 11, 24, 8, 0, 0)),
            chrono::Duration::weeks(1)
        );
        let slots = hourly.slots_between(at(2026, 11, 24, 0, 0, 0), at(2026, 11, 24, 3, 0, 0), 100);
        assert_eq!(slots.len(), 3);
    }

    #[test]
    fn rejects_what_vercel_rejects() {
        assert!(Schedule::parse("0 0 * * * *").is_err());
        assert!(Schedule::parse("61 * * * *").is_err());
        assert!(Schedule::parse("whenever").is_err());
        let e = Schedule::parse("0 0 30 2 *").unwrap_err();
        assert!(e.contains("never fires"), "{e}");
        assert!(Schedule::parse("0 0 31 4 *").is_err());
        assert!(Schedule::parse("0 0 29 2 *").is_ok(), "leap days do come");
    }

    #[test]
    fn reads_routes_from_vercel_json() {
        let v = VercelJson::parse(
            r#"{"crons":[{"path":"/api/cron/hourly","schedule":"0 * * * *"}],
                "functions":{"api/cron/hourly.rs":{"maxDuration":300}}}"#,
        )
        .unwrap();
        let (s, max) = v.route("/api/cron/hourly").unwrap();
        assert_eq!(s.expr(), "0 * * * *");
        assert_eq!(max, Duration::from_secs(300));
        assert!(matches!(
            v.route("/api/cron/daily"),
            Err(ScheduleError::NoCron(_))
        ));
        let never = VercelJson::parse(
            r#"{"crons":[{"path":"/api/cron/hourly","schedule":"0 0 30 2 *"}],
                "functions":{"api/cron/hourly.rs":{"maxDuration":300}}}"#,
        )
        .unwrap();
        assert!(matches!(
            never.route("/api/cron/hourly"),
            Err(ScheduleError::BadCron { .. })
        ));
    }
}
