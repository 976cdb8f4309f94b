//! Schedules come from vercel.json, the one place the platform reads them, so
//! slots, "next run" and "missed run" can never disagree with the scheduler.
//!
//! A schedule is a five-field cron expression in a time zone (UTC for the
//! legacy `crons` key, the entry's `timezone` for `schedules`). Slots are
//! UTC instants, computed from the local wall clock with the rules both
//! platforms apply across daylight saving (docs/decisions.md 81): a local
//! time that does not exist (spring forward) is no slot, and a local time
//! that happens twice (fall back) is one slot, at its first occurrence.

mod vercel;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod vercel_tests;

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use croner::{Cron, Direction};

pub use vercel::{Declared, FunctionEntry, ScheduleError, VercelJson};

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

/// How far a zone's offset can move in one transition, and then some: the
/// local-time searches below start this far before (or after) the wall
/// clock of the instant they search from, so no occurrence is skipped.
const SHIFT: chrono::Duration = chrono::Duration::hours(3);

/// Local occurrences looked at by one search before it gives up: a
/// minutely cron passes at most a few hundred within `SHIFT` either side.
const SEARCH_LIMIT: usize = 2_000;

#[derive(Clone, Debug)]
pub struct Schedule {
    expr: String,
    cron: Cron,
    tz: Tz,
    /// How late the platform may deliver on purpose (Vercel Schedules'
    /// `jitter`): a delivery inside it still belongs to its slot, and a slot
    /// is not missed before it has passed.
    jitter: Duration,
}

impl Schedule {
    /// A schedule in UTC, as the legacy `crons` key and EventBridge's
    /// default have it.
    pub fn parse(expr: &str) -> Result<Self, String> {
        Self::parse_in(expr, Tz::UTC)
    }

    pub fn parse_in(expr: &str, tz: Tz) -> Result<Self, String> {
        // The platform takes five fields; croner would also take seconds.
        if expr.split_whitespace().count() != 5 {
            return Err("expected five fields: minute hour day-of-month month day-of-week".into());
        }
        let cron = Cron::from_str(expr).map_err(|e| e.to_string())?;
        // Without a year field a cron that fires once fires every few years
        // (every 28 at most, leap days included), so one occurrence after a
        // fixed instant tells. One that never fires (30 February) would make
        // `slot_at` fall back to `now`: a new slot per call, no dedupe.
        let epoch = DateTime::<Utc>::UNIX_EPOCH.naive_utc();
        if cron.find_next_occurrence(&epoch, false).is_err() {
            return Err("never fires (no such date); the platform would never call it".into());
        }
        Ok(Self {
            expr: expr.to_owned(),
            cron,
            tz,
            jitter: Duration::ZERO,
        })
    }

    pub fn with_jitter(mut self, jitter: Duration) -> Self {
        self.jitter = jitter;
        self
    }

    pub fn expr(&self) -> &str {
        &self.expr
    }

    pub fn timezone(&self) -> Tz {
        self.tz
    }

    pub fn jitter(&self) -> Duration {
        self.jitter
    }

    /// `0 2 * * * Europe/Berlin`: the expression and the zone it is read in.
    pub fn describe(&self) -> String {
        format!("{} {}", self.expr, self.tz.name())
    }

    /// An instant on the schedule's own wall clock, for display.
    pub fn local(&self, t: DateTime<Utc>) -> DateTime<Tz> {
        t.with_timezone(&self.tz)
    }

    /// `2027-03-29 02:30 CEST (00:30 UTC)`: an instant on the schedule's wall
    /// clock with UTC beside it (with its date when that differs); a UTC
    /// schedule's just once.
    pub fn show(&self, t: DateTime<Utc>) -> String {
        let local = self.local(t);
        if self.tz == Tz::UTC {
            return t.format("%Y-%m-%d %H:%M UTC").to_string();
        }
        let utc = if local.date_naive() == t.date_naive() {
            t.format("%H:%M UTC")
        } else {
            t.format("%Y-%m-%d %H:%M UTC")
        };
        format!("{} ({utc})", local.format("%Y-%m-%d %H:%M %Z"))
    }

    /// The instant a local occurrence stands for: none in a gap, the first
    /// of two in an overlap. Strictly increasing in `local`, which the
    /// searches below rely on.
    fn instant(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        self.tz
            .from_local_datetime(&local)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    }

    fn wall(&self, t: DateTime<Utc>) -> NaiveDateTime {
        t.with_timezone(&self.tz).naive_local()
    }

    /// Local occurrences from `start` on, in `direction`, with the instant
    /// each stands for (None in a gap).
    fn occurrences(
        &self,
        start: NaiveDateTime,
        direction: Direction,
    ) -> impl Iterator<Item = (NaiveDateTime, Option<DateTime<Utc>>)> + '_ {
        self.cron
            .iter_from(start, direction)
            .take(SEARCH_LIMIT)
            .map(|local| (local, self.instant(local)))
    }

    /// Instants from `t` on (inclusive), oldest first.
    fn instants_from(&self, t: DateTime<Utc>) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        self.cron
            .iter_from(self.wall(t) - SHIFT, Direction::Forward)
            .filter_map(|local| self.instant(local))
            .skip_while(move |i| *i < t)
    }

    /// The schedule instant a call at `now` belongs to: the latest one at or
    /// before `now`. A late or repeated delivery lands on the same slot, and
    /// so does one the platform delayed on purpose by up to its jitter.
    pub fn slot_at(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.occurrences(self.wall(now) + SHIFT, Direction::Backward)
            .filter_map(|(_, i)| i)
            .find(|i| *i <= now)
            .unwrap_or(now)
    }

    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.instants_from(t).find(|i| *i > t)
    }

    /// Slots in `[from, to)`, oldest first, at most `limit` of them.
    pub fn slots_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> Vec<DateTime<Utc>> {
        self.instants_from(from)
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

    /// Local times in `[from, to)` the schedule names but the zone skips
    /// (spring forward): the platform does not call then, and no slot is
    /// missed. At most `limit`, oldest first.
    pub fn skipped_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> Vec<NaiveDateTime> {
        let (start, end) = (self.wall(from), self.wall(to));
        self.cron
            .iter_from(start, Direction::Forward)
            .take_while(|local| *local < end)
            .filter(|local| self.instant(*local).is_none())
            .take(limit)
            .collect()
    }

    /// Local times in `[from, to)` that happen twice (fall back): the
    /// platform calls once, at the first. At most `limit`, oldest first.
    pub fn repeated_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> Vec<NaiveDateTime> {
        let (start, end) = (self.wall(from) - SHIFT, self.wall(to));
        self.cron
            .iter_from(start, Direction::Forward)
            .take_while(|local| *local < end)
            .filter(|local| {
                matches!(
                    self.tz.from_local_datetime(local),
                    chrono::LocalResult::Ambiguous(..)
                )
            })
            .filter(|local| self.instant(*local).is_some_and(|i| i >= from))
            .take(limit)
            .collect()
    }
}
