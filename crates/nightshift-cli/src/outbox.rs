//! `nightshift outbox`: the `notifications` table, where every e-mail and
//! Slack message waits (pending, sending) until sent, or gives up (dead).

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::status::short;

#[derive(Args)]
pub struct OutboxArgs {
    #[command(subcommand)]
    command: OutboxCommand,
}

#[derive(Subcommand)]
enum OutboxCommand {
    /// Notifications, newest first.
    #[command(after_help = "Example:\n  nightshift outbox list --status dead --json")]
    List {
        /// pending, sending, sent or dead; all when unset.
        #[arg(long, value_parser = ["pending", "sending", "sent", "dead"])]
        status: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Give a dead notification another chance: pending, attempts 0, due now.
    #[command(after_help = "Example:\n  nightshift outbox retry 42")]
    Retry { id: i64 },
    /// Delete every dead notification (after reading them with `list --status dead`).
    #[command(after_help = "Example:\n  nightshift outbox purge-dead")]
    PurgeDead,
}

#[derive(Serialize, sqlx::FromRow)]
struct Row {
    id: i64,
    status: String,
    channel: String,
    recipient: String,
    subject: String,
    attempts: i32,
    next_attempt_at: DateTime<Utc>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
}

pub async fn outbox(args: OutboxArgs) -> anyhow::Result<()> {
    let pool = crate::connect().await?;
    match args.command {
        OutboxCommand::List {
            status,
            limit,
            json,
        } => {
            let rows: Vec<Row> = sqlx::query_as(
                "SELECT id, status, channel, recipient, subject, attempts, next_attempt_at,
                        last_error, created_at
                   FROM notifications WHERE $1::text IS NULL OR status = $1
                  ORDER BY created_at DESC, id DESC LIMIT $2",
            )
            .bind(status)
            .bind(limit.max(0))
            .fetch_all(&pool)
            .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
                return Ok(());
            }
            println!(
                "{:>6} {:<8} {:<6} {:<28} {:>3} {:<17} SUBJECT / LAST ERROR",
                "ID", "STATUS", "CHAN", "RECIPIENT", "TRY", "CREATED (UTC)"
            );
            for r in &rows {
                println!(
                    "{:>6} {:<8} {:<6} {:<28} {:>3} {:<17} {}{}",
                    r.id,
                    r.status,
                    r.channel,
                    short(&r.recipient, 28),
                    r.attempts,
                    r.created_at.format("%Y-%m-%d %H:%M"),
                    short(&r.subject, 50),
                    r.last_error
                        .as_deref()
                        .map(|e| format!(" / {}", short(e, 60)))
                        .unwrap_or_default()
                );
            }
            if rows.is_empty() {
                println!("(outbox empty)");
            }
        }
        OutboxCommand::Retry { id } => {
            let done = sqlx::query(
                "UPDATE notifications
                    SET status = 'pending', attempts = 0, next_attempt_at = now(),
                        claimed_until = NULL
                  WHERE id = $1 AND status = 'dead'",
            )
            .bind(id)
            .execute(&pool)
            .await?;
            if done.rows_affected() == 0 {
                let status: Option<String> =
                    sqlx::query_scalar("SELECT status FROM notifications WHERE id = $1")
                        .bind(id)
                        .fetch_optional(&pool)
                        .await?;
                anyhow::bail!(match status {
                    None => format!("no notification {id}"),
                    Some(s) => format!("notification {id} is {s}, not dead; nothing to retry"),
                });
            }
            println!("notification {id} is pending again; the next hourly run sends it");
        }
        OutboxCommand::PurgeDead => {
            let done = sqlx::query("DELETE FROM notifications WHERE status = 'dead'")
                .execute(&pool)
                .await?;
            println!("{} dead notification(s) deleted", done.rows_affected());
        }
    }
    Ok(())
}
