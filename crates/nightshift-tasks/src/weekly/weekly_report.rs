//! `weekly_report`: the CTO report for the last full ISO week. It is rendered
//! once per week and stored in `reports` (with its charts); each recipient
//! gets one outbox row keyed by week and address, at priority 0: the run
//! that wrote it sends it first, whatever else waits. Re-running the week
//! finds the stored report and enqueues nothing new, so nobody gets it twice.

use crate::TasksConfig;
use anyhow::Context;
use nightshift_core::{Task, TaskContext, TaskReport};
use serde_json::json;

use super::report_data::{self, Period};
use crate::notices;

pub struct WeeklyReport;

struct Stored {
    id: i64,
    subject: String,
    text: String,
    rendered_now: bool,
}

#[async_trait::async_trait]
impl Task<TasksConfig> for WeeklyReport {
    fn name(&self) -> &'static str {
        "weekly_report"
    }

    async fn run(&self, ctx: &TaskContext<TasksConfig>) -> anyhow::Result<TaskReport> {
        let period = report_data::last_full_week(ctx.now, ctx.cfg.org_timezone);
        let stored = match existing(ctx, &period).await? {
            Some(s) => s,
            None => render_and_store(ctx, &period).await?,
        };
        let recipients = &ctx.env.delivery.report_emails;
        let queued = sqlx::query_scalar!(
            r#"
            WITH queued AS (
                INSERT INTO notifications (kind, recipient, channel, subject, body, dedupe_key,
                                           report_id, priority, next_attempt_at, created_at)
                SELECT 'weekly_report', r, 'email', $1, $2, format('report:%s:%s', $3::text, lower(r)),
                       $4, $7, $5, $5
                  FROM unnest($6::text[]) AS r
                ON CONFLICT (dedupe_key) DO NOTHING
                RETURNING 1
            )
            SELECT count(*) AS "n!" FROM queued
            "#,
            stored.subject,
            stored.text,
            period.iso_week,
            stored.id,
            ctx.now,
            recipients,
            notices::priority::REPORT,
        )
        .fetch_one(&ctx.pool)
        .await
        .context("enqueueing the report")?;
        Ok(TaskReport {
            records_processed: queued,
            warning: recipients.is_empty().then(|| {
                "REPORT_EMAILS is unset: the report is stored for the status page, not e-mailed"
                    .to_owned()
            }),
            details: json!({
                "iso_week": period.iso_week,
                "report_id": stored.id,
                "rendered": stored.rendered_now,
                "enqueued": queued,
                "recipients": recipients.len(),
            }),
            ..TaskReport::default()
        })
    }
}

async fn existing(
    ctx: &TaskContext<TasksConfig>,
    period: &Period,
) -> anyhow::Result<Option<Stored>> {
    let row = sqlx::query!(
        "SELECT id, subject, text_body FROM reports WHERE iso_week = $1",
        period.iso_week
    )
    .fetch_optional(&ctx.pool)
    .await
    .context("looking for this week's report")?;
    Ok(row.map(|r| Stored {
        id: r.id,
        subject: r.subject,
        text: r.text_body,
        rendered_now: false,
    }))
}

async fn render_and_store(
    ctx: &TaskContext<TasksConfig>,
    period: &Period,
) -> anyhow::Result<Stored> {
    let job_types: Vec<String> = ctx.routes.iter().map(|r| r.job_type.to_owned()).collect();
    let status_url = ctx.cfg.dashboard_url();
    let data = report_data::gather(
        &ctx.pool,
        period,
        ctx.now,
        ctx.cfg.org_timezone.name(),
        status_url,
        &job_types,
    )
    .await
    .context("gathering the week's figures")?;
    // Rendering (charts included) is CPU work: keep it off the runtime's
    // threads so the ledger's heartbeat and other tasks keep running.
    let rendered = {
        let data = data.clone();
        tokio::task::spawn_blocking(move || nightshift_mail::report::render(&data))
            .await
            .context("the renderer panicked")?
            .context("rendering the report")?
    };

    let mut tx = ctx.pool.begin().await?;
    let id = sqlx::query_scalar!(
        r#"
        INSERT INTO reports (iso_week, period_start, period_end, subject, html, text_body, data,
                             run_id, generated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        ON CONFLICT (iso_week) DO NOTHING
        RETURNING id
        "#,
        period.iso_week,
        period.start,
        period.end,
        rendered.subject,
        rendered.html,
        rendered.text,
        serde_json::to_value(&data)?,
        ctx.run_id,
        ctx.now,
    )
    .fetch_optional(&mut *tx)
    .await
    .context("storing the report")?;
    let Some(id) = id else {
        // Another run stored this week's report first: use theirs.
        tx.rollback().await?;
        return existing(ctx, period)
            .await?
            .context("the report vanished after a concurrent insert");
    };
    for image in &rendered.images {
        sqlx::query!(
            "INSERT INTO report_images (report_id, content_id, content_type, data)
             VALUES ($1, $2, $3, $4)",
            id,
            image.content_id,
            image.content_type,
            image.data,
        )
        .execute(&mut *tx)
        .await
        .context("storing a chart")?;
    }
    tx.commit().await?;
    Ok(Stored {
        id,
        subject: rendered.subject,
        text: rendered.text,
        rendered_now: true,
    })
}
