//! `deliver_notifications`: sends what the other tasks put in the outbox.
//! A row is marked sent only after a provider accepted it; failures wait 15,
//! 30, then 60 minutes; a permanent rejection or a fourth failure makes it
//! dead and raises an alert. Runs last in the hourly and weekly routes.
//! Claims go by priority (report, critical, digest, bulk): MAX_EMAILS_PER_RUN
//! is spent top down, so bulk mail never holds up the report. Alert events
//! for PagerDuty and the webhook are enqueued first (signals.rs), go out by
//! the same priorities and retry for about a day (outbox::EVENT_MAX_ATTEMPTS).

mod compose;
mod digest;
mod digest_rows;
mod events;
pub mod outbox;
mod refused;
mod render;
mod signals;

pub use digest::ComposeDigests;
pub use refused::KIND as AUTH_REFUSED_KIND;

use std::time::Duration;

use crate::TasksConfig;
use anyhow::Context;
use futures_util::{StreamExt, stream};
use nightshift_core::{EventStatus, Task, TaskContext, TaskEvent, TaskReport};
use nightshift_mail::{Mailer, SendError, Slack, mask_address};
use serde_json::json;

use crate::alerts::{self, Finding};
use outbox::{Claimed, Failure};

/// Messages in flight at once: enough to hide a provider's latency, few
/// enough to stay polite to its rate limits.
const CONCURRENCY: usize = 4;
const BATCH: i64 = 20;
/// No new batch is claimed with less time left than this; a send still in
/// flight at the deadline is cut off and retried later like any failure.
const CLAIM_MARGIN: Duration = Duration::from_secs(5);

pub struct DeliverNotifications;

struct Transports {
    mailer: Option<Mailer>,
    slack: Option<Slack>,
    signals: signals::Transports,
    from: String,
    status_url: Option<String>,
}

#[derive(Default)]
struct Tally {
    sent: i64,
    retrying: i64,
    dead: i64,
    events: Vec<TaskEvent>,
}

#[async_trait::async_trait]
impl Task<TasksConfig> for DeliverNotifications {
    fn name(&self) -> &'static str {
        "deliver_notifications"
    }

    async fn run(&self, ctx: &TaskContext<TasksConfig>) -> anyhow::Result<TaskReport> {
        let delivery = &ctx.env.delivery;
        let t = Transports {
            mailer: Mailer::from_config(delivery, ctx.http.clone())
                .context("setting up the e-mail transport")?,
            slack: Slack::from_config(delivery, ctx.http.clone()),
            signals: signals::Transports::from_config(delivery, &ctx.http),
            from: delivery.email_from.clone().unwrap_or_default(),
            status_url: ctx.cfg.dashboard_url(),
        };
        let mut channels = Vec::new();
        if t.mailer.is_some() {
            channels.push("email".to_owned());
        }
        if t.slack.is_some() {
            channels.push("slack".to_owned());
        }
        channels.extend(t.signals.channels());
        let events = signals::enqueue(ctx, &t.signals).await?;

        // Refused channels leave `channels`; `stranded` counts against all.
        let configured = channels.clone();
        let mut refusals = Vec::new();
        let mut tally = Tally::default();
        let mut more_work = false;
        let mut out_of_time = false;
        let quota = ctx.env.max_emails_per_run;
        let mut attempted = 0;
        while !channels.is_empty() && attempted < quota {
            if !ctx.has_time_for(CLAIM_MARGIN) {
                more_work = true;
                out_of_time = true;
                break;
            }
            let limit = BATCH.min(quota - attempted);
            let rows = outbox::claim(&ctx.pool, ctx.run_id, ctx.clock.now(), &channels, limit)
                .await
                .context("claiming due notifications")?;
            if rows.is_empty() {
                break;
            }
            attempted += rows.len() as i64;
            // A refusal seen mid-batch spares the rest of the batch the call.
            let stopped = refused::Stopped::default();
            let results: Vec<_> = stream::iter(rows)
                .map(|row| async {
                    if let Some(err) = refused::stopped(&stopped, &row.channel) {
                        return (row, Err(err));
                    }
                    let result = tokio::time::timeout_at(ctx.deadline, send(ctx, &t, &row))
                        .await
                        .unwrap_or_else(|_| {
                            Err(SendError::Transient {
                                message: "the run's deadline came before the provider answered"
                                    .into(),
                                retry_after: None,
                            })
                        });
                    refused::note(&stopped, &row.channel, &result);
                    (row, result)
                })
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
            for (row, result) in results {
                if let Err(SendError::AuthRefused { variable, message }) = &result {
                    let (c, r) = (&mut channels, &mut refusals);
                    refused::refuse(ctx, &row, variable, message, c, r).await?;
                    continue;
                }
                settle(ctx, &row, result, &mut tally).await?;
            }
        }
        if attempted >= quota {
            more_work = true;
        }

        let (dead_total, last_error) = outbox::dead_summary(&ctx.pool).await?;
        let findings: Vec<Finding> = (dead_total > 0)
            .then(|| Finding {
                dedupe_key: "outbox:dead".into(),
                kind: "notifications_dead",
                severity: "warning",
                title: format!("{dead_total} notification(s) could not be delivered"),
                message: format!(
                    "Latest: {}. Retry with `nightshift outbox retry ID` once the cause is fixed.",
                    last_error.unwrap_or_default()
                ),
                details: json!({ "dead": dead_total }),
                project_id: None,
            })
            .into_iter()
            .chain(refusals.iter().map(refused::finding))
            .collect();
        let sync = alerts::sync(&ctx.pool, self.name(), ctx.now, &findings).await?;
        tally.events.extend(sync.events(&findings));

        let stranded = outbox::stranded(&ctx.pool, &configured).await?;
        let refused = refusals.iter().map(|r| {
            format!(
                "{} was refused: {} notifications wait",
                r.variable, r.channel
            )
        });
        let warning = refused.chain((stranded > 0).then(|| {
            format!(
                "{stranded} notification(s) wait for a transport: set SMTP_URL, RESEND_API_KEY \
                 or SENDGRID_API_KEY (and EMAIL_FROM), SLACK_WEBHOOK_URL, PAGERDUTY_ROUTING_KEY \
                 or ALERT_WEBHOOK_URL"
            )
        }));
        let warning = Some(warning.collect::<Vec<_>>().join("; ")).filter(|w| !w.is_empty());
        Ok(TaskReport {
            records_processed: tally.sent,
            records_failed: tally.retrying + tally.dead,
            more_work,
            out_of_time,
            retryable_failures: 0,
            warning,
            details: json!({
                "sent": tally.sent, "retrying": tally.retrying, "dead": tally.dead,
                "dead_total": dead_total, "waiting_for_transport": stranded,
                "email_transport": t.mailer.as_ref().map(|m| m.kind().as_str()),
                "slack": t.slack.is_some(),
                "alert_channels": t.signals.channels(), "events_enqueued": events,
                "refused": refusals.iter().map(|r| r.variable).collect::<Vec<_>>(),
            }),
            events: tally.events,
        })
    }
}

async fn send(
    ctx: &TaskContext<TasksConfig>,
    t: &Transports,
    row: &Claimed,
) -> Result<Option<String>, SendError> {
    match row.channel.as_str() {
        "slack" => {
            let slack = t.slack.as_ref().expect("claimed only configured channels");
            let msg = compose::slack(row, t.status_url.as_deref());
            slack.post(&msg).await.map(|()| None)
        }
        "pagerduty" | "webhook" => signals::send(ctx.clock.now(), &t.signals, row).await,
        _ => {
            let mailer = t.mailer.as_ref().expect("claimed only configured channels");
            // A report row whose HTML cannot be loaded is a database hiccup:
            // try again later rather than send a text-only report.
            let email = compose::email(&ctx.pool, row, &t.from).await.map_err(|e| {
                SendError::Transient {
                    message: format!("{e:#}"),
                    retry_after: None,
                }
            })?;
            mailer.send(&email).await.map(|a| a.provider_id)
        }
    }
}

async fn settle(
    ctx: &TaskContext<TasksConfig>,
    row: &Claimed,
    result: Result<Option<String>, SendError>,
    tally: &mut Tally,
) -> anyhow::Result<()> {
    let who = if row.channel != "email" {
        row.channel.clone()
    } else {
        mask_address(&row.recipient)
    };
    match result {
        Ok(provider_id) => {
            let now = ctx.clock.now();
            if outbox::mark_sent(&ctx.pool, row, now, provider_id.as_deref()).await? {
                tracing::info!(id = row.id, kind = %row.kind, to = %who, "notification sent");
                tally.sent += 1;
            } else {
                // Sent, but the run lost its lease meanwhile: the row was
                // released (or re-claimed) and may go out again, once.
                tracing::warn!(id = row.id, kind = %row.kind, to = %who,
                               "notification sent after the run lost its lease; not marked (fenced)");
            }
        }
        Err(err) => {
            let message = err.to_string();
            let failure = match &err {
                // Handled before `settle`; a permanent failure if it ever got here.
                SendError::Permanent { .. } | SendError::AuthRefused { .. } => {
                    Failure::Permanent { error: &message }
                }
                SendError::Transient { retry_after, .. } => Failure::Retry {
                    error: &message,
                    retry_after: *retry_after,
                },
            };
            // The retry schedule (15, 30, 60 min) is reckoned from the run's start:
            // a delay of minutes, not a lease; the lease is the database's.
            let next = outbox::mark_failed(&ctx.pool, row, ctx.now, failure).await?;
            tracing::warn!(id = row.id, kind = %row.kind, to = %who, attempt = row.attempts,
                           next = ?next, error = %message, "notification not delivered");
            let (status, what) = match next {
                Some(at) => {
                    tally.retrying += 1;
                    (
                        EventStatus::Warning,
                        format!("retry at {}", at.format("%H:%M UTC")),
                    )
                }
                None => {
                    tally.dead += 1;
                    (EventStatus::Failed, "dead".to_owned())
                }
            };
            tally.events.push(TaskEvent {
                event_type: "notification_failed".into(),
                status,
                message: format!("{} to {who}: {message} ({what})", row.kind),
                details: json!({ "notification_id": row.id, "attempt": row.attempts,
                                 "next_attempt_at": next, "permanent": err.is_permanent() }),
            });
        }
    }
    Ok(())
}
