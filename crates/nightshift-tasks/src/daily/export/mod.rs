//! `export`: a daily copy of every table a deployment needs to come back
//! (the archive tables too with `EXPORT_WITH_ARCHIVE`), as gzipped NDJSON plus a
//! `manifest.json`, under `<EXPORT_URL>/<YYYY-MM-DD>/`; exports older than the
//! retention are deleted. [`restore`] reads one back into an empty database.
//!
//! The manifest is written last and removed before a day's files are
//! rewritten, so a folder with a manifest is always a complete export whose
//! files match it. Re-running a day overwrites that day; a run cut short by
//! its deadline leaves no manifest and reports more work.

mod cursors;
mod dump;
mod lines;
mod load;
mod progress;
mod restore;
mod store;
mod tables;

use std::time::Duration;

use crate::TasksConfig;
use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use nightshift_core::{Task, TaskContext, TaskReport};
use object_store::{ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::time::Instant;
use uuid::Uuid;

pub use progress::{Quiet, RestoreOptions, RestoreProgress, RestoreSummary, RestoredTable};
pub use restore::{newest_complete_day, restore, restore_with};
pub use tables::table_names;

use store::Dest;
use tables::{file_name, tables};

/// The object that marks a day's export complete.
pub const MANIFEST: &str = "manifest.json";
/// Bumped when the file layout changes, not when the schema does.
pub const FORMAT: &str = "nightshift-export/1";

pub struct Export {
    /// Day folders older than this, relative to the run's `now`, are deleted.
    pub retention: chrono::Duration,
}

impl Default for Export {
    fn default() -> Self {
        Self {
            retention: chrono::Duration::days(30),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    /// The run that wrote it.
    pub export_id: Uuid,
    pub date: NaiveDate,
    pub exported_at: DateTime<Utc>,
    /// The newest migration of the binary that wrote it: a restore needs a
    /// database at exactly this version.
    pub schema_version: i64,
    pub files: Vec<ManifestFile>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    pub table: String,
    pub file: String,
    pub rows: i64,
    /// Size of the gzipped object.
    pub bytes: u64,
    /// Hex sha256 of the gzipped object.
    pub sha256: String,
}

/// The schema version exports are written at: the newest embedded migration.
pub fn schema_version() -> i64 {
    nightshift_core::db::MIGRATOR
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or(0)
}

#[async_trait::async_trait]
impl Task<TasksConfig> for Export {
    fn name(&self) -> &'static str {
        "export"
    }

    async fn run(&self, ctx: &TaskContext<TasksConfig>) -> anyhow::Result<TaskReport> {
        let url = ctx.env.export_url.as_str();
        let dest = Dest::open(url)?;
        let date = ctx.now.date_naive();
        let folder = format!("{}/{}", url.trim_end_matches('/'), date.format("%Y-%m-%d"));
        let manifest_path = dest.file(date, MANIFEST);

        // One snapshot for all tables, so the export is consistent across
        // foreign keys even while other tasks write; UTC so that timestamps
        // render the same whatever the server's time zone.
        let mut tx = ctx.pool.begin().await.context("starting the export")?;
        sqlx::query!("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        sqlx::query!("SET LOCAL TimeZone = 'UTC'")
            .execute(&mut *tx)
            .await?;

        let mut files = Vec::new();
        let mut slowest = Duration::ZERO;
        let mut more_work = false;
        for table in tables(ctx.env.export_with_archive) {
            if !ctx.has_time_for(slowest * 2) {
                more_work = true;
                break;
            }
            if files.is_empty() {
                // Only now, with a file about to be replaced, does an earlier
                // manifest of the day stop telling the truth.
                dest.delete_if_exists(&manifest_path).await?;
            }
            let started = Instant::now();
            let file = dump::dump_table(&mut tx, table, &dest, dest.file(date, &file_name(table)))
                .await
                .with_context(|| format!("exporting {}", table.name))?;
            slowest = slowest.max(started.elapsed());
            files.push(file);
        }
        tx.rollback().await.ok();

        let rows: i64 = files.iter().map(|f| f.rows).sum();
        let bytes: u64 = files.iter().map(|f| f.bytes).sum();
        let tables: serde_json::Map<_, _> = files
            .iter()
            .map(|f| (f.table.clone(), json!(f.rows)))
            .collect();
        if more_work {
            return Ok(TaskReport {
                records_processed: rows,
                more_work,
                out_of_time: true,
                details: json!({
                    "folder": folder,
                    "complete": false,
                    "tables": tables,
                    "bytes": bytes,
                }),
                ..TaskReport::default()
            });
        }

        let manifest = Manifest {
            format: FORMAT.to_owned(),
            export_id: ctx.run_id,
            date,
            exported_at: ctx.now,
            schema_version: schema_version(),
            files,
        };
        let body = serde_json::to_vec_pretty(&manifest)?;
        dest.store
            .put(&manifest_path, PutPayload::from(body))
            .await
            .with_context(|| format!("writing {manifest_path}"))?;

        // Old exports go only once today's is complete: a failing export
        // never shrinks the history it would be restored from.
        let cutoff = (ctx.now - self.retention).date_naive();
        let deleted = dest
            .delete_days_before(cutoff)
            .await
            .context("deleting old exports")?;

        Ok(TaskReport {
            records_processed: rows,
            details: json!({
                "folder": folder,
                "complete": true,
                "schema_version": manifest.schema_version,
                "tables": tables,
                "bytes": bytes,
                "deleted_exports": deleted,
            }),
            ..TaskReport::default()
        })
    }
}
