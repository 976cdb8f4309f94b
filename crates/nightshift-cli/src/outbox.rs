//! `nightshift outbox`: the `notifications` table, where every e-mail and
//! Slack message waits (pending, sending) until sent, or gives up (dead).

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::listing::{self, Column, Listing, col, num};
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

#[derive(Serialize)]
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
            let rows = sqlx::query_as!(
                Row,
                "SELECT id, status, channel, recipient, subject, attempts, next_attempt_at,
                        last_error, created_at
                   FROM notifications WHERE $1::text IS NULL OR status = $1
                  ORDER BY created_at DESC, id DESC LIMIT $2",
                status,
                limit.max(0),
            )
            .fetch_all(&pool)
            .await?;
            listing::print(&rows, json)?;
        }
        OutboxCommand::Retry { id } => {
            let done = sqlx::query!(
                "UPDATE notifications
                    SET status = 'pending', attempts = 0, next_attempt_at = now(),
                        claimed_until = NULL
                  WHERE id = $1 AND status = 'dead'",
                id,
            )
            .execute(&pool)
            .await?;
            if done.rows_affected() == 0 {
                let status =
                    sqlx::query_scalar!("SELECT status FROM notifications WHERE id = $1", id)
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
            let done = sqlx::query!("DELETE FROM notifications WHERE status = 'dead'")
                .execute(&pool)
                .await?;
            println!("{} dead notification(s) deleted", done.rows_affected());
        }
    }
    Ok(())
}

impl Listing for Row {
    const COLUMNS: &'static [Column] = &[
        num("ID", 6),
        col("STATUS", 8),
        col("CHAN", 6),
        col("RECIPIENT", 28),
        num("TRY", 3),
        col("CREATED (UTC)", 17),
        col("SUBJECT / LAST ERROR", 0),
    ];
    const EMPTY: &'static str = "(outbox empty)";
    fn cells(&self) -> Vec<String> {
        let error = self.last_error.as_deref();
        vec![
            self.id.to_string(),
            self.status.clone(),
            self.channel.clone(),
            short(&self.recipient, 28),
            self.attempts.to_string(),
            self.created_at.format("%Y-%m-%d %H:%M").to_string(),
            short(&self.subject, 50)
                + &error
                    .map(|e| format!(" / {}", short(e, 60)))
                    .unwrap_or_default(),
        ]
    }
}
