//! vercel.json's two ways of naming when a route runs: the legacy `crons`
//! (UTC) and Vercel Schedules' `schedules` (a time zone and a jitter each),
//! as the array the pinned Vercel CLI builds or as the object keyed by name
//! of Vercel's docs. A route's path may be declared once, in one of them.

use std::collections::HashMap;
use std::time::Duration;

use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::Value;

use super::Schedule;

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("vercel.json is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error(
        "vercel.json has no schedule for {0}; add {{\"path\": \"{0}\", \"schedule\": …}} to `schedules` (or the legacy `crons`)"
    )]
    NoCron(String),
    #[error("vercel.json {entry}.schedule {expr:?}: {reason}")]
    BadCron {
        entry: String,
        expr: String,
        reason: String,
    },
    #[error("vercel.json {entry}: {reason}")]
    BadEntry { entry: String, reason: String },
    #[error("vercel.json declares {path} twice: {first} and {second}; keep one")]
    Duplicate {
        path: String,
        first: String,
        second: String,
    },
    #[error("vercel.json has no functions.\"{0}\".maxDuration")]
    NoMaxDuration(String),
}

#[derive(Debug, Deserialize)]
pub struct VercelJson {
    #[serde(default)]
    crons: Vec<Value>,
    #[serde(default)]
    schedules: Option<Value>,
    #[serde(default)]
    pub functions: HashMap<String, FunctionEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionEntry {
    pub max_duration: Option<u64>,
}

/// One route's schedule as vercel.json declares it, with where: `crons[0]`,
/// `schedules[2] ("daily")` or `schedules."daily"`.
#[derive(Clone, Debug)]
pub struct Declared {
    pub source: String,
    pub path: String,
    pub schedule: Schedule,
}

/// One entry of either key, before it is checked.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    path: Option<String>,
    schedule: Option<String>,
    timezone: Option<String>,
    jitter: Option<u64>,
    request_method: Option<String>,
}

impl VercelJson {
    pub fn parse(text: &str) -> Result<Self, ScheduleError> {
        Ok(serde_json::from_str(text)?)
    }

    /// Every route schedule in the file, checked: a valid expression, zone,
    /// jitter and method each, and no path declared twice. Schedules whose
    /// target is a function or a queue topic call no route of ours and are
    /// left out. The first problem is the error.
    pub fn declared(&self) -> Result<Vec<Declared>, ScheduleError> {
        let (declared, problems) = self.check_all();
        match problems.into_iter().next() {
            Some(e) => Err(e),
            None => Ok(declared),
        }
    }

    /// The sound entries and every problem, for `nightshift check` to list
    /// them all at once.
    pub fn check_all(&self) -> (Vec<Declared>, Vec<ScheduleError>) {
        let mut raw: Vec<(String, Value, bool)> = Vec::new();
        let mut problems = Vec::new();
        for (i, v) in self.crons.iter().enumerate() {
            raw.push((format!("crons[{i}]"), v.clone(), true));
        }
        match &self.schedules {
            None | Some(Value::Null) => {}
            Some(Value::Array(list)) => {
                for (i, v) in list.iter().enumerate() {
                    let source = match v.get("name").and_then(Value::as_str) {
                        Some(n) => format!("schedules[{i}] ({n:?})"),
                        None => format!("schedules[{i}]"),
                    };
                    raw.push((source, v.clone(), false));
                }
            }
            Some(Value::Object(map)) => {
                for (name, v) in map {
                    raw.push((format!("schedules.{name:?}"), v.clone(), false));
                }
            }
            Some(_) => problems.push(ScheduleError::BadEntry {
                entry: "schedules".into(),
                reason: "must be an array of schedules or an object keyed by name".into(),
            }),
        }
        let mut out: Vec<Declared> = Vec::new();
        for (source, value, legacy) in raw {
            match declare(&source, value, legacy) {
                Ok(None) => {}
                Err(e) => problems.push(e),
                Ok(Some(d)) => match out.iter().find(|o| o.path == d.path) {
                    Some(first) => problems.push(ScheduleError::Duplicate {
                        path: d.path,
                        first: first.source.clone(),
                        second: d.source,
                    }),
                    None => out.push(d),
                },
            }
        }
        (out, problems)
    }

    /// Every route path an entry names, sound or not: a route whose entry
    /// is broken still has one (`nightshift check` reports the entry).
    pub fn paths(&self) -> Vec<String> {
        let schedules: Vec<&Value> = match &self.schedules {
            Some(Value::Array(list)) => list.iter().collect(),
            Some(Value::Object(map)) => map.values().collect(),
            _ => Vec::new(),
        };
        self.crons
            .iter()
            .chain(schedules)
            .filter_map(|v| v.get("path").and_then(Value::as_str))
            .map(|p| p.split('?').next().unwrap_or_default().to_owned())
            .collect()
    }

    /// The declared schedule of the route served at `path`.
    pub fn schedule_of(&self, path: &str) -> Result<Declared, ScheduleError> {
        self.declared()?
            .into_iter()
            .find(|d| d.path == path)
            .ok_or_else(|| ScheduleError::NoCron(path.to_owned()))
    }

    /// The schedule and maxDuration of the route served at `path`
    /// (`/api/cron/hourly` is built from `api/cron/hourly.rs`).
    pub fn route(&self, path: &str) -> Result<(Schedule, Duration), ScheduleError> {
        let declared = self.schedule_of(path)?;
        let key = format!("{}.rs", path.trim_start_matches('/'));
        let max = self
            .functions
            .get(&key)
            .and_then(|f| f.max_duration)
            .ok_or(ScheduleError::NoMaxDuration(key))?;
        Ok((declared.schedule, Duration::from_secs(max)))
    }
}

/// Vercel's documented jitter range, in minutes.
const JITTER_MINUTES: std::ops::RangeInclusive<u64> = 1..=15;

fn declare(source: &str, value: Value, legacy: bool) -> Result<Option<Declared>, ScheduleError> {
    let bad = |reason: String| ScheduleError::BadEntry {
        entry: source.to_owned(),
        reason,
    };
    let entry: Entry = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
    let Some(path) = entry.path else {
        if legacy {
            return Err(bad("has no path".into()));
        }
        // A `function` or `topic` target: not one of our routes.
        return Ok(None);
    };
    let path = path.split('?').next().unwrap_or_default().to_owned();
    let expr = entry
        .schedule
        .ok_or_else(|| bad("has no schedule".into()))?;
    let tz = match (&entry.timezone, legacy) {
        (Some(_), true) => return Err(bad("crons are UTC and take no timezone; move it to `schedules`".into())),
        (Some(name), false) => name.parse::<Tz>().map_err(|_| {
            bad(format!("timezone {name:?} is not an IANA time zone (e.g. \"Europe/Berlin\", \"Asia/Kolkata\")"))
        })?,
        (None, _) => Tz::UTC,
    };
    let jitter = match entry.jitter {
        Some(_) if legacy => {
            return Err(bad("crons take no jitter; move it to `schedules`".into()));
        }
        Some(m) if !JITTER_MINUTES.contains(&m) => {
            return Err(bad(format!("jitter {m} is outside 1-15 minutes")));
        }
        Some(m) => Duration::from_secs(m * 60),
        None => Duration::ZERO,
    };
    if let Some(m) = &entry.request_method
        && !matches!(m.to_ascii_uppercase().as_str(), "GET" | "POST")
    {
        return Err(bad(format!(
            "requestMethod {m:?}: the routes take GET or POST"
        )));
    }
    let schedule = Schedule::parse_in(&expr, tz).map_err(|reason| ScheduleError::BadCron {
        entry: source.to_owned(),
        expr: expr.clone(),
        reason,
    })?;
    Ok(Some(Declared {
        source: source.to_owned(),
        path,
        schedule: schedule.with_jitter(jitter),
    }))
}
