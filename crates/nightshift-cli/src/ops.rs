//! `nightshift runs`, `pause`, `resume` and `alerts`: the ledger and the
//! alert table as an operator reads and steers them.

use chrono::{DateTime, Utc};
use clap::Args;
use nightshift_core::pause;
use serde::Serialize;

use crate::status::short;

#[derive(Args)]
pub struct RunsArgs {
    /// Only this job (route name or job type: hourly, daily_sync, …).
    #[arg(long)]
    job: Option<String>,
    /// How many runs, newest first.
    #[arg(long, default_value_t = 20)]
    limit: i64,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize, sqlx::FromRow)]
struct RunRow {
    id: uuid::Uuid,
    job_type: String,
    status: String,
    trigger: String,
    slot: Option<DateTime<Utc>>,
    started_at: DateTime<Utc>,
    execution_time_ms: Option<i64>,
    error_message: Option<String>,
}

pub async fn runs(args: RunsArgs) -> anyhow::Result<()> {
    let pool = crate::connect().await?;
    let job_type = match &args.job {
        Some(j) => Some(pause::resolve(&nightshift_tasks::specs(), j)?.job_type),
        None => None,
    };
    let rows: Vec<RunRow> = sqlx::query_as(
        "SELECT id, job_type, status, trigger, slot, started_at, execution_time_ms, error_message
           FROM job_history WHERE $1::text IS NULL OR job_type = $1
          ORDER BY started_at DESC LIMIT $2",
    )
    .bind(job_type)
    .bind(args.limit.max(0))
    .fetch_all(&pool)
    .await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!(
        "{:<36} {:<15} {:<10} {:<7} {:<20} {:>9}  ERROR",
        "ID", "JOB", "STATUS", "TRIGGER", "STARTED (UTC)", "MS"
    );
    for r in &rows {
        println!(
            "{:<36} {:<15} {:<10} {:<7} {:<20} {:>9}  {}",
            r.id,
            r.job_type,
            r.status,
            r.trigger,
            r.started_at.format("%Y-%m-%d %H:%M:%S"),
            r.execution_time_ms.map_or("-".into(), |m| m.to_string()),
            short(r.error_message.as_deref().unwrap_or(""), 60)
        );
    }
    if rows.is_empty() {
        println!("(no runs)");
    }
    Ok(())
}

#[derive(Args)]
pub struct PauseArgs {
    /// Route name or job type: hourly, daily, weekly, hourly_metrics, …
    job: String,
    /// Why, shown with every skipped call (pause only).
    #[arg(long)]
    reason: Option<String>,
    /// Print JSON instead of a sentence.
    #[arg(long)]
    json: bool,
}

/// Pauses or resumes; both are idempotent and say whether anything changed.
pub async fn pause_or_resume(args: PauseArgs, resume: bool) -> anyhow::Result<()> {
    let pool = crate::connect().await?;
    let specs = nightshift_tasks::specs();
    let spec = pause::resolve(&specs, &args.job)?;
    let by = format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    );
    let now = Utc::now();
    let changed = if resume {
        pause::resume(&pool, spec.job_type, &by, now).await?
    } else {
        pause::pause(&pool, spec.job_type, &by, args.reason.as_deref(), now)
            .await?
            .1
    };
    let current = pause::pause_of(&pool, spec.job_type).await?;
    if args.json {
        let body = serde_json::json!({
            "job_type": spec.job_type, "paused": current.is_some(),
            "changed": changed, "pause": current,
        });
        println!("{}", serde_json::to_string_pretty(&body)?);
    } else {
        let state = if resume { "resumed" } else { "paused" };
        let already = if changed { "" } else { " (already)" };
        println!("{} {state}{already}", spec.job_type);
    }
    Ok(())
}

#[derive(Args)]
pub struct AlertsArgs {
    /// Only open alerts.
    #[arg(long)]
    open: bool,
    #[arg(long, default_value_t = 50)]
    limit: i64,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize, sqlx::FromRow)]
struct AlertRow {
    id: i64,
    status: String,
    severity: String,
    source: String,
    title: String,
    message: String,
    raised_at: DateTime<Utc>,
    resolved_at: Option<DateTime<Utc>>,
}

pub async fn alerts(args: AlertsArgs) -> anyhow::Result<()> {
    let pool = crate::connect().await?;
    let rows: Vec<AlertRow> = sqlx::query_as(
        "SELECT id, status, severity, source, title, message, raised_at, resolved_at
           FROM alerts WHERE NOT $1 OR status = 'open'
          ORDER BY raised_at DESC, id DESC LIMIT $2",
    )
    .bind(args.open)
    .bind(args.limit.max(0))
    .fetch_all(&pool)
    .await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!(
        "{:>6} {:<9} {:<9} {:<12} {:<17} TITLE",
        "ID", "STATUS", "SEVERITY", "SOURCE", "RAISED (UTC)"
    );
    for a in &rows {
        println!(
            "{:>6} {:<9} {:<9} {:<12} {:<17} {}",
            a.id,
            a.status,
            a.severity,
            short(&a.source, 12),
            a.raised_at.format("%Y-%m-%d %H:%M"),
            short(&a.title, 80)
        );
    }
    if rows.is_empty() {
        println!("(no alerts)");
    }
    Ok(())
}
