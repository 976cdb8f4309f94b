//! Alert routing to machines: PagerDuty Events v2 and the signed webhook,
//! through the outbox like every message (docs/decisions.md 82).
//!
//! Each transition becomes one outbox row per configured channel, keyed by
//! the alert's row (or the run) and the transition, so a pass that runs
//! twice, or two runs at once, enqueue it once: an alert raised (PagerDuty
//! only when it pages), an alert resolved (only where its raise was
//! enqueued), a run whose failure is final (webhook). Transitions are read
//! from the tables, not hooked where alerts are written, so the ledger's own
//! alerts (`slot_not_healed`, `schedule_mismatch`) are told like the tasks'.
//! Rows of one alert share a `sequence_key`: the resolve waits for its
//! trigger's retries (crate::delivery::outbox::claim).

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use nightshift_core::TaskContext;
use nightshift_mail::{DeliveryConfig, PagerDuty, SendError, Webhook};
use serde_json::Value;

use super::events::{self, Alert, Context, FailedRun};
use super::outbox::Claimed;
use crate::TasksConfig;

// In the queries below: resolutions and failed runs older than 7 days are
// not told any more (a channel configured today does not replay last
// month), and a follow-up 75 minutes overdue is not coming (the heartbeat
// cannot reach BASE_URL, as `/api/health` says after the same 75 minutes),
// so the failure it was to retry is told as final.
/// Pages, critical alerts and final run failures go out with critical
/// digests; other alert events with ordinary digests, oldest first, so a
/// backlog's many warnings never hold people's mail up.
const URGENT: i16 = 1;
const ORDINARY: i16 = 2;

fn priority(a: &Alert) -> i16 {
    if a.severity == "critical" {
        URGENT
    } else {
        ORDINARY
    }
}

#[derive(Debug)]
pub struct Transports {
    pub pagerduty: Option<PagerDuty>,
    pub webhook: Option<Webhook>,
}

impl Transports {
    pub fn from_config(cfg: &DeliveryConfig, http: &reqwest::Client) -> Self {
        Self {
            pagerduty: PagerDuty::from_config(cfg, http.clone()),
            webhook: Webhook::from_config(cfg, http.clone()),
        }
    }

    pub fn channels(&self) -> Vec<String> {
        [
            ("pagerduty", self.pagerduty.is_some()),
            ("webhook", self.webhook.is_some()),
        ]
        .into_iter()
        .filter(|(_, on)| *on)
        .map(|(c, _)| c.to_owned())
        .collect()
    }
}

/// One outbox row to write.
struct Row {
    kind: &'static str,
    priority: i16,
    subject: String,
    body: Value,
    dedupe_key: String,
    sequence_key: String,
}

/// Enqueues every transition not yet in the outbox; returns how many rows.
pub async fn enqueue(ctx: &TaskContext<TasksConfig>, t: &Transports) -> anyhow::Result<u64> {
    if t.pagerduty.is_none() && t.webhook.is_none() {
        return Ok(0);
    }
    let cx = Context::new(&ctx.cfg);
    let mut n = 0;
    if t.pagerduty.is_some() {
        let channel = "pagerduty";
        let raised = open_alerts(ctx, "pagerduty:trigger:").await?;
        let rows = raised.iter().filter(|a| events::pages(a)).map(|a| Row {
            kind: "pagerduty_trigger",
            priority: URGENT,
            subject: format!("trigger: {}", a.title),
            body: events::pagerduty_trigger(&cx, a),
            dedupe_key: format!("pagerduty:trigger:{}", a.id),
            sequence_key: format!("pagerduty:{}", a.dedupe_key),
        });
        n += insert(ctx, channel, rows.collect()).await?;
        let resolved = resolved_alerts(ctx, "pagerduty:trigger:", "pagerduty:resolve:").await?;
        let rows = resolved.iter().map(|a| Row {
            kind: "pagerduty_resolve",
            priority: URGENT,
            subject: format!("resolve: {}", a.title),
            body: events::pagerduty_resolve(a),
            dedupe_key: format!("pagerduty:resolve:{}", a.id),
            sequence_key: format!("pagerduty:{}", a.dedupe_key),
        });
        n += insert(ctx, channel, rows.collect()).await?;
    }
    if t.webhook.is_some() {
        let channel = "webhook";
        let raised = open_alerts(ctx, "webhook:alert.raised:").await?;
        let rows = raised.iter().map(|a| Row {
            kind: "alert.raised",
            priority: priority(a),
            subject: format!("alert.raised: {}", a.title),
            body: events::webhook_alert(&cx, a, false),
            dedupe_key: format!("webhook:alert.raised:{}", a.id),
            sequence_key: format!("webhook:{}", a.dedupe_key),
        });
        n += insert(ctx, channel, rows.collect()).await?;
        let resolved =
            resolved_alerts(ctx, "webhook:alert.raised:", "webhook:alert.resolved:").await?;
        let rows = resolved.iter().map(|a| Row {
            kind: "alert.resolved",
            priority: priority(a),
            subject: format!("alert.resolved: {}", a.title),
            body: events::webhook_alert(&cx, a, true),
            dedupe_key: format!("webhook:alert.resolved:{}", a.id),
            sequence_key: format!("webhook:{}", a.dedupe_key),
        });
        n += insert(ctx, channel, rows.collect()).await?;
        let failed = failed_runs(ctx).await?;
        let rows = failed.iter().map(|r| Row {
            kind: "run.failed",
            priority: URGENT,
            subject: format!("run.failed: {} {}", r.job_type, r.status),
            body: events::webhook_run_failed(&cx, r),
            dedupe_key: format!("webhook:run.failed:{}", r.id),
            sequence_key: format!("webhook:run:{}", r.id),
        });
        n += insert(ctx, channel, rows.collect()).await?;
    }
    Ok(n)
}

/// Open alerts whose raise (`prefix` || id) is not in the outbox yet.
async fn open_alerts(ctx: &TaskContext<TasksConfig>, prefix: &str) -> anyhow::Result<Vec<Alert>> {
    sqlx::query_as(
        "SELECT a.id, a.dedupe_key, a.source, a.kind, a.severity, a.title, a.message, a.details,
                a.raised_at, a.resolved_at
           FROM alerts a
          WHERE a.status = 'open'
            AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.dedupe_key = $1 || a.id)
          ORDER BY a.id",
    )
    .bind(prefix)
    .fetch_all(&ctx.pool)
    .await
    .context("reading alerts to announce")
}

/// Recently resolved alerts whose raise was enqueued and resolve was not.
async fn resolved_alerts(
    ctx: &TaskContext<TasksConfig>,
    raised: &str,
    resolved: &str,
) -> anyhow::Result<Vec<Alert>> {
    sqlx::query_as(
        "SELECT a.id, a.dedupe_key, a.source, a.kind, a.severity, a.title, a.message, a.details,
                a.raised_at, a.resolved_at
           FROM alerts a
          WHERE a.status = 'resolved' AND a.resolved_at >= $1 - interval '7 days'
            AND EXISTS (SELECT 1 FROM notifications n WHERE n.dedupe_key = $2 || a.id)
            AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.dedupe_key = $3 || a.id)
          ORDER BY a.id",
    )
    .bind(ctx.now)
    .bind(raised)
    .bind(resolved)
    .fetch_all(&ctx.pool)
    .await
    .context("reading resolved alerts to announce")
}

/// Runs whose failure is final: failed or timed out, and neither followed
/// by another attempt nor waiting for one (a retry still due is not final;
/// the slot's last failure is). Once per run, never per retry attempt.
async fn failed_runs(ctx: &TaskContext<TasksConfig>) -> anyhow::Result<Vec<FailedRun>> {
    sqlx::query_as(
        "SELECT h.id, h.job_type, h.route, h.slot, h.status, h.trigger, h.attempt,
                h.max_attempts, h.started_at, h.completed_at, h.error_message
           FROM job_history h
          WHERE h.started_at >= $1 - interval '7 days'
            AND h.status IN ('failed', 'timeout') AND h.followed_by IS NULL
            AND (h.follow_up IS NULL OR h.follow_up_at < $1 - interval '75 minutes')
            AND NOT EXISTS (SELECT 1 FROM notifications n
                             WHERE n.dedupe_key = 'webhook:run.failed:' || h.id)
          ORDER BY h.started_at",
    )
    .bind(ctx.now)
    .fetch_all(&ctx.pool)
    .await
    .context("reading failed runs to announce")
}

/// Writes `rows` in one statement; a key already there (another run's pass)
/// is skipped. Returns how many were new.
async fn insert(
    ctx: &TaskContext<TasksConfig>,
    channel: &str,
    rows: Vec<Row>,
) -> anyhow::Result<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    let col = |f: fn(&Row) -> String| rows.iter().map(f).collect::<Vec<_>>();
    let done = sqlx::query(
        "INSERT INTO notifications (kind, recipient, channel, subject, body, dedupe_key,
                                    sequence_key, priority, next_attempt_at, created_at)
         SELECT kind, $1, $1, subject, body, key, seq, prio, $2, $2
           FROM UNNEST($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::int2[])
                AS r(kind, subject, body, key, seq, prio)
         ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(channel)
    .bind(ctx.now)
    .bind(col(|r| r.kind.to_owned()))
    .bind(col(|r| r.subject.chars().take(200).collect()))
    .bind(col(|r| r.body.to_string()))
    .bind(col(|r| r.dedupe_key.clone()))
    .bind(col(|r| r.sequence_key.clone()))
    .bind(rows.iter().map(|r| r.priority).collect::<Vec<i16>>())
    .execute(&ctx.pool)
    .await
    .context("enqueueing alert events")?;
    Ok(done.rows_affected())
}

/// Sends one claimed event row. The body is sent as stored; only the
/// webhook's timestamp (and so its signature) is the attempt's own.
pub async fn send(
    now: DateTime<Utc>,
    t: &Transports,
    row: &Claimed,
) -> Result<Option<String>, SendError> {
    match row.channel.as_str() {
        "pagerduty" => {
            let pd = t
                .pagerduty
                .as_ref()
                .expect("claimed only configured channels");
            let event: Value =
                serde_json::from_str(&row.body).map_err(|e| SendError::Permanent {
                    message: format!("the stored event is not JSON: {e}"),
                })?;
            pd.enqueue(&event).await
        }
        _ => {
            let hook = t
                .webhook
                .as_ref()
                .expect("claimed only configured channels");
            // The row's dedupe key is its webhook-id: the same on every
            // retry, so the receiver can drop a repeat.
            hook.post(&row.dedupe_key, now.timestamp(), &row.body)
                .await
                .map(|()| None)
        }
    }
}
