//! The query string of a route call: `tasks=a,b`, `force=true`, `dry_run=true`,
//! `worker=true`, and the heartbeat's `follow_up=<run id>` and
//! `catch_up=<slot>` (crates/nightshift-core/src/kick.rs), and nothing else. Anything unexpected is a 400 that names the valid values.

use crate::error::HandleError;
use nightshift_env::parse_bool;

pub const VALID_KEYS: &[&str] = &[
    "tasks",
    "force",
    "dry_run",
    "worker",
    "follow_up",
    "catch_up",
];

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// A subset of the route's tasks, in the route's order; None means all.
    pub tasks: Option<Vec<String>>,
    pub force: bool,
    pub dry_run: bool,
    /// Only drain the route's work queues, alongside whatever else runs: a
    /// parallel invocation that claims no slot and blocks no one.
    pub worker: bool,
    /// Follow up this run's slot: a retry or a continuation it asked for.
    pub follow_up: Option<uuid::Uuid>,
    /// Run this missed slot (an RFC 3339 instant on the route's schedule).
    pub catch_up: Option<chrono::DateTime<chrono::Utc>>,
}

impl RunOptions {
    /// A run that does not stand for its schedule slot: forced, or partial.
    pub fn is_unscheduled(&self) -> bool {
        self.force || self.tasks.is_some() || self.worker
    }

    pub fn parse(query: Option<&str>, task_names: &[&str]) -> Result<Self, HandleError> {
        let mut opts = RunOptions::default();
        let mut seen: Vec<&str> = Vec::new();
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = decode(raw_key)?;
            let value = decode(raw_value)?;
            let Some(key) = VALID_KEYS.iter().copied().find(|k| *k == key) else {
                return Err(HandleError::BadRequest(format!(
                    "unknown query parameter {key:?}; valid parameters: {}",
                    VALID_KEYS.join(", ")
                )));
            };
            if seen.contains(&key) {
                return Err(HandleError::BadRequest(format!(
                    "query parameter {key:?} given twice"
                )));
            }
            seen.push(key);
            match key {
                "tasks" => opts.tasks = Some(parse_tasks(&value, task_names)?),
                "force" => opts.force = parse_flag(key, &value)?,
                "worker" => opts.worker = parse_flag(key, &value)?,
                "follow_up" => {
                    opts.follow_up = Some(value.parse().map_err(|_| {
                        HandleError::BadRequest(format!(
                            "follow_up must be a run id (a UUID), not {value:?}"
                        ))
                    })?)
                }
                "catch_up" => {
                    opts.catch_up = Some(
                        chrono::DateTime::parse_from_rfc3339(&value)
                            .map_err(|_| {
                                HandleError::BadRequest(format!(
                                    "catch_up must be an RFC 3339 instant such as \
                                     2026-12-01T02:00:00Z, not {value:?}"
                                ))
                            })?
                            .to_utc(),
                    )
                }
                _ => opts.dry_run = parse_flag(key, &value)?,
            }
        }
        // A follow-up or a catch-up stands for a slot: it takes no option
        // that would make the run unscheduled, and not both.
        let slot_calls =
            usize::from(opts.follow_up.is_some()) + usize::from(opts.catch_up.is_some());
        if slot_calls > 1 || (slot_calls == 1 && opts.is_unscheduled()) {
            return Err(HandleError::BadRequest(
                "follow_up and catch_up stand for a slot: use one, without tasks, force or worker"
                    .into(),
            ));
        }
        Ok(opts)
    }
}

fn parse_flag(key: &str, value: &str) -> Result<bool, HandleError> {
    // A bare `?force` means true, as in most CLIs and dashboards.
    if value.is_empty() {
        return Ok(true);
    }
    parse_bool(value).ok_or_else(|| {
        HandleError::BadRequest(format!("{key} must be true or false, not {value:?}"))
    })
}

fn parse_tasks(value: &str, task_names: &[&str]) -> Result<Vec<String>, HandleError> {
    let wanted: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if wanted.is_empty() {
        return Err(HandleError::BadRequest(format!(
            "tasks is empty; valid tasks: {}",
            task_names.join(", ")
        )));
    }
    if let Some(bad) = wanted.iter().find(|w| !task_names.contains(w)) {
        return Err(HandleError::BadRequest(format!(
            "unknown task {bad:?}; valid tasks: {}",
            task_names.join(", ")
        )));
    }
    // Keep the route's order: tasks may depend on the ones before them.
    Ok(task_names
        .iter()
        .filter(|n| wanted.contains(n))
        .map(|n| n.to_string())
        .collect())
}

/// Percent-decoding of a query component ('+' is a space).
pub(crate) fn decode(s: &str) -> Result<String, HandleError> {
    let bad = || HandleError::BadRequest(format!("malformed query component {s:?}"));
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or_else(bad)?;
                let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;
    const NAMES: &[&str] = &["a", "b", "c"];

    fn parse(q: &str) -> Result<RunOptions, String> {
        RunOptions::parse(Some(q), NAMES).map_err(|e| e.to_string())
    }

    #[test]
    fn accepts_known_options() {
        let o = parse("tasks=c%2Ca&force=true&dry_run=1").unwrap();
        assert_eq!(o.tasks, Some(vec!["a".into(), "c".into()]));
        assert!(o.force && o.dry_run && o.is_unscheduled());
        assert!(parse("worker=true").unwrap().is_unscheduled());
        assert_eq!(parse("").unwrap(), RunOptions::default());
        assert!(parse("force").unwrap().force);
    }

    #[test]
    fn rejects_with_valid_values_named() {
        assert!(
            parse("verbose=1")
                .unwrap_err()
                .contains("tasks, force, dry_run")
        );
        assert!(
            parse("tasks=a,zz")
                .unwrap_err()
                .contains("valid tasks: a, b, c")
        );
        assert!(
            parse("force=perhaps")
                .unwrap_err()
                .contains("true or false")
        );
        assert!(parse("force=1&force=0").unwrap_err().contains("twice"));
        assert!(parse("follow_up=7").unwrap_err().contains("UUID"));
        assert!(
            parse("catch_up=yesterday")
                .unwrap_err()
                .contains("RFC 3339")
        );
        let both = "follow_up=5e1c0d1e-0000-4000-8000-000000000000&force=true";
        assert!(parse(both).unwrap_err().contains("stand for a slot"));
        let slot = parse("catch_up=2026-12-01T02:00:00Z").unwrap();
        assert!(slot.catch_up.is_some() && !slot.is_unscheduled());
        assert!(parse("tasks=").is_err());
        assert!(parse("tasks=%zz").is_err());
    }
}
