//! Alerts with a dedupe key: a condition that lasts is raised once (later
//! sightings only refresh `last_seen_at`), a condition that clears is
//! resolved, and one that comes back opens a new alert.

use chrono::{DateTime, Utc};
use nightshift_core::{EventStatus, TaskEvent};
use serde_json::{Value, json};
use sqlx::PgPool;

#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub dedupe_key: String,
    pub kind: &'static str,
    pub severity: &'static str,
    pub title: String,
    pub message: String,
    pub details: Value,
    /// The project it is about, whose owner is told.
    pub project_id: Option<i64>,
}

#[derive(Debug, Default)]
pub struct AlertSync {
    pub raised: Vec<String>,
    pub still_open: Vec<String>,
    pub resolved: Vec<String>,
}

impl AlertSync {
    /// One sync event per change of state; an alert that stays open is news
    /// only the first time.
    pub fn events(&self, findings: &[Finding]) -> Vec<TaskEvent> {
        let raised = findings
            .iter()
            .filter(|f| self.raised.contains(&f.dedupe_key))
            .map(|f| TaskEvent {
                event_type: "alert_raised".into(),
                status: EventStatus::Warning,
                message: f.title.clone(),
                details: json!({ "dedupe_key": f.dedupe_key, "kind": f.kind,
                                 "severity": f.severity, "details": f.details }),
            });
        let resolved = self.resolved.iter().map(|key| TaskEvent {
            event_type: "alert_resolved".into(),
            status: EventStatus::Success,
            message: format!("resolved: {key}"),
            details: json!({ "dedupe_key": key }),
        });
        raised.chain(resolved).collect()
    }
}

/// Makes the open alerts of `source` equal to `findings`: an open alert seen
/// again is refreshed in place, a new one is raised, an open one not seen is
/// resolved.
///
/// Refreshing is an UPDATE of the open alerts by key, and only the keys it
/// did not find are inserted: one `INSERT … ON CONFLICT DO UPDATE` of every
/// finding paid a speculative insert and a conflict check per row, 11 ms for
/// 1,500 lasting alerts against 3.7 ms for the UPDATE (a 200k-bug copy;
/// docs/decisions.md, 77). Each statement reaches the rows through the
/// unique key or the `NOT (… = ANY …)` filter, never an anti-join of the
/// findings against a table: right after a first run has raised 1,500
/// alerts, `alerts` still has the statistics of an empty table, and the
/// planner nested such a join loop over loop (280 ms). The INSERT keeps `ON
/// CONFLICT DO NOTHING` for a concurrent run that raised the same key first;
/// that run raised it, so this one reports neither.
pub async fn sync(
    pool: &PgPool,
    source: &str,
    now: DateTime<Utc>,
    findings: &[Finding],
) -> Result<AlertSync, sqlx::Error> {
    let mut out = AlertSync::default();
    let all: Vec<&Finding> = findings.iter().collect();
    let keys = column(&all, |f| f.dedupe_key.clone());
    if !findings.is_empty() {
        out.still_open = sqlx::query_scalar!(
            r#"
            UPDATE alerts a
               SET last_seen_at = $1, severity = f.sev, title = f.title, message = f.msg,
                   details = f.det
              FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[])
                   AS f(k, sev, title, msg, det)
             WHERE a.dedupe_key = f.k AND a.status = 'open'
            RETURNING a.dedupe_key
            "#,
            now,
            &keys,
            &column(&all, |f| f.severity.to_owned()),
            &column(&all, |f| f.title.clone()),
            &column(&all, |f| f.message.clone()),
            &details(&all),
        )
        .fetch_all(pool)
        .await?;
        let seen: std::collections::HashSet<&str> =
            out.still_open.iter().map(String::as_str).collect();
        let new: Vec<&Finding> = findings
            .iter()
            .filter(|f| !seen.contains(f.dedupe_key.as_str()))
            .collect();
        if !new.is_empty() {
            let projects: Vec<Option<i64>> = new.iter().map(|f| f.project_id).collect();
            out.raised = sqlx::query_scalar!(
                r#"
                INSERT INTO alerts (dedupe_key, source, kind, severity, title, message, details,
                                    project_id, status, raised_at, last_seen_at)
                SELECT k, $1, kind, sev, title, msg, det, pid, 'open', $2, $2
                  FROM UNNEST($3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                              $8::jsonb[], $9::int8[])
                       AS f(k, kind, sev, title, msg, det, pid)
                ON CONFLICT (dedupe_key) WHERE status = 'open' DO NOTHING
                RETURNING dedupe_key
                "#,
                source,
                now,
                &column(&new, |f| f.dedupe_key.clone()),
                &column(&new, |f| f.kind.to_owned()),
                &column(&new, |f| f.severity.to_owned()),
                &column(&new, |f| f.title.clone()),
                &column(&new, |f| f.message.clone()),
                &details(&new),
                &projects as &[Option<i64>],
            )
            .fetch_all(pool)
            .await?;
        }
    }
    out.resolved = sqlx::query_scalar!(
        r#"
        UPDATE alerts SET status = 'resolved', resolved_at = $2
         WHERE source = $1 AND status = 'open' AND NOT (dedupe_key = ANY($3))
        RETURNING dedupe_key
        "#,
        source,
        now,
        &keys,
    )
    .fetch_all(pool)
    .await?;
    Ok(out)
}

/// One text column of `findings`, in their order, for an UNNEST.
fn column(findings: &[&Finding], f: fn(&Finding) -> String) -> Vec<String> {
    findings.iter().map(|x| f(x)).collect()
}

fn details(findings: &[&Finding]) -> Vec<Value> {
    findings.iter().map(|f| f.details.clone()).collect()
}
