//! `nightshift runs`, `pause`, `resume` and `alerts`: the ledger and the
//! alert table as an operator reads and steers them.

use chrono::{DateTime, Utc};
use clap::Args;
use nightshift_core::pause;
use serde::Serialize;

use crate::listing::{self, Column, Listing, col, num};
use crate::status::short;

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RunsArgs {
    #[command(subcommand)]
    command: Option<crate::run_show::RunsCommand>,
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

#[derive(Serialize)]
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
    if let Some(command) = args.command {
        return crate::run_show::run(command).await;
    }
    let pool = crate::connect().await?;
    let job_type = match &args.job {
        Some(j) => Some(pause::resolve(&nightshift_tasks::specs(), j)?.job_type),
        None => None,
    };
    let rows = sqlx::query_as!(
        RunRow,
        "SELECT id, job_type, status, trigger, slot, started_at, execution_time_ms, error_message
           FROM job_history WHERE $1::text IS NULL OR job_type = $1
          ORDER BY started_at DESC LIMIT $2",
        job_type,
        args.limit.max(0),
    )
    .fetch_all(&pool)
    .await?;
    listing::print(&rows, args.json)
}

impl Listing for RunRow {
    const COLUMNS: &'static [Column] = &[
        col("ID", 36),
        col("JOB", 15),
        col("STATUS", 10),
        col("TRIGGER", 7),
        col("STARTED (UTC)", 20),
        num("MS", 9),
        col("ERROR", 0),
    ];
    const EMPTY: &'static str = "(no runs)";
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.job_type.clone(),
            self.status.clone(),
            self.trigger.clone(),
            self.started_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            self.execution_time_ms.map_or("-".into(), |m| m.to_string()),
            short(self.error_message.as_deref().unwrap_or(""), 60),
        ]
    }
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
    let specs = nightshift_tasks::specs();
    let spec = pause::resolve(&specs, &args.job)?;
    if let Some(r) = &args.reason {
        pause::check_reason(r).map_err(anyhow::Error::msg)?;
    }
    let pool = crate::connect().await?;
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

#[derive(Serialize)]
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
    let rows = sqlx::query_as!(
        AlertRow,
        "SELECT id, status, severity, source, title, message, raised_at, resolved_at
           FROM alerts WHERE NOT $1 OR status = 'open'
          ORDER BY raised_at DESC, id DESC LIMIT $2",
        args.open,
        args.limit.max(0),
    )
    .fetch_all(&pool)
    .await?;
    listing::print(&rows, args.json)
}

impl Listing for AlertRow {
    const COLUMNS: &'static [Column] = &[
        num("ID", 6),
        col("STATUS", 9),
        col("SEVERITY", 9),
        col("SOURCE", 12),
        col("RAISED (UTC)", 17),
        col("TITLE", 0),
    ];
    const EMPTY: &'static str = "(no alerts)";
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.status.clone(),
            self.severity.clone(),
            short(&self.source, 12),
            self.raised_at.format("%Y-%m-%d %H:%M").to_string(),
            short(&self.title, 80),
        ]
    }
}
