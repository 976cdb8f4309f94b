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

/// Makes the open alerts of `source` equal to `findings`, in one statement:
/// an open alert seen again is refreshed in place, a new one is raised, and
/// an open one not seen is resolved.
///
/// An UPDATE of the open alerts, then an INSERT of the keys it did not find,
/// not one `INSERT … ON CONFLICT DO UPDATE`: the upsert's speculative insert
/// and conflict check per row made refreshing 1,500 open alerts 11 ms, the
/// UPDATE alone 3.7 ms (a 200k-bug copy; docs/decisions.md, 77). The INSERT
/// keeps `ON CONFLICT DO NOTHING` for a concurrent run that raised the same
/// key first: that run raised it, so this one reports neither.
pub async fn sync(
    pool: &PgPool,
    source: &str,
    now: DateTime<Utc>,
    findings: &[Finding],
) -> Result<AlertSync, sqlx::Error> {
    let col = |f: fn(&Finding) -> String| findings.iter().map(f).collect::<Vec<_>>();
    let details: Vec<Value> = findings.iter().map(|f| f.details.clone()).collect();
    let projects: Vec<Option<i64>> = findings.iter().map(|f| f.project_id).collect();
    let rows = sqlx::query!(
        r#"
        WITH f AS (
            SELECT * FROM UNNEST($3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                                 $8::jsonb[], $9::int8[])
                   AS f(k, kind, sev, title, msg, det, pid)
        ), seen AS (
            UPDATE alerts a
               SET last_seen_at = $2, severity = f.sev, title = f.title, message = f.msg,
                   details = f.det
              FROM f
             WHERE a.dedupe_key = f.k AND a.status = 'open'
            RETURNING a.dedupe_key
        ), raised AS (
            INSERT INTO alerts (dedupe_key, source, kind, severity, title, message, details,
                                project_id, status, raised_at, last_seen_at)
            SELECT k, $1, kind, sev, title, msg, det, pid, 'open', $2, $2
              FROM f
             WHERE NOT EXISTS (SELECT 1 FROM seen s WHERE s.dedupe_key = f.k)
            ON CONFLICT (dedupe_key) WHERE status = 'open' DO NOTHING
            RETURNING dedupe_key
        ), resolved AS (
            UPDATE alerts SET status = 'resolved', resolved_at = $2
             WHERE source = $1 AND status = 'open'
               AND NOT EXISTS (SELECT 1 FROM f WHERE f.k = alerts.dedupe_key)
            RETURNING dedupe_key
        )
        SELECT dedupe_key AS "key!", 'seen' AS "state!" FROM seen
        UNION ALL SELECT dedupe_key, 'raised' FROM raised
        UNION ALL SELECT dedupe_key, 'resolved' FROM resolved
        "#,
        source,
        now,
        &col(|f| f.dedupe_key.clone()),
        &col(|f| f.kind.to_owned()),
        &col(|f| f.severity.to_owned()),
        &col(|f| f.title.clone()),
        &col(|f| f.message.clone()),
        &details,
        &projects as &[Option<i64>],
    )
    .fetch_all(pool)
    .await?;
    let mut out = AlertSync::default();
    for row in rows {
        match row.state.as_str() {
            "raised" => out.raised.push(row.key),
            "resolved" => out.resolved.push(row.key),
            _ => out.still_open.push(row.key),
        }
    }
    Ok(out)
}
