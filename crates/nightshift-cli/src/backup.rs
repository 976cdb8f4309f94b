//! `nightshift export` and `nightshift restore`: the daily task's export run
//! now, and reading one back into an empty database. Both go through
//! nightshift_tasks::daily::export, the code the deployed route runs.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::NaiveDate;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use nightshift_core::{Task, TaskContext};
use nightshift_tasks::TasksConfig;
use nightshift_tasks::daily::export::{
    Export, RestoreOptions, RestoreProgress, newest_complete_day, restore_with,
};

#[derive(Args)]
pub struct ExportArgs {
    /// Where to write it: a folder, file:// or s3://.
    #[arg(long, env = "EXPORT_URL")]
    to: Option<String>,
    /// Also export the archive tables.
    #[arg(long, env = "EXPORT_WITH_ARCHIVE")]
    with_archive: bool,
}

#[derive(Args)]
pub struct RestoreArgs {
    /// The export's location, as EXPORT_URL: a folder, file:// or s3://.
    #[arg(long)]
    from: String,
    /// The day to restore (YYYY-MM-DD); the newest complete one by default.
    #[arg(long)]
    date: Option<NaiveDate>,
    /// Check the export and the database, write nothing.
    #[arg(long)]
    dry_run: bool,
}

pub async fn export(args: ExportArgs) -> anyhow::Result<()> {
    let (app, env) = nightshift_http::app_from_env().map_err(anyhow::Error::msg)?;
    let pool = crate::pool_of(&app).await?;
    let mut env = (*env).clone();
    if let Some(to) = args.to {
        env.export_url = to;
    }
    env.export_with_archive |= args.with_archive;
    let ctx = TaskContext::with_client(
        pool,
        app.clock.now(),
        "daily_sync",
        Arc::clone(&app.cfg),
        app.specs(),
        app.http.clone(),
    )
    // An operator's run has no platform timeout to stay under.
    .with_budget(Duration::from_secs(24 * 3600))
    .with_env(Arc::new(env));
    let report = Export::default().run(&ctx).await?;
    if report.more_work {
        bail!("the export did not finish: {}", report.details);
    }
    let d = &report.details;
    println!(
        "exported {} rows, {} bytes to {}",
        report.records_processed, d["bytes"], d["folder"]
    );
    if let Some(tables) = d["tables"].as_object() {
        for (table, rows) in tables {
            println!("  {table:<22} {rows:>10}");
        }
    }
    Ok(())
}

pub async fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let pool = crate::connect().await?;
    let date = match args.date {
        Some(d) => d,
        None => newest_complete_day(&args.from).await?,
    };
    // Read as the sync reads it: the origin a restored next page must have.
    let github_api_url = TasksConfig::github_api_url_from_env()?;
    let bar = Bar::new();
    let opts = RestoreOptions {
        dry_run: args.dry_run,
        progress: &bar,
        github_api_url: &github_api_url,
    };
    let summary = restore_with(&pool, &args.from, date, &opts).await;
    bar.0.finish_and_clear();
    let summary = summary
        .with_context(|| format!("restoring {date} from {}: nothing was written", args.from))?;
    let verb = if summary.dry_run {
        "would restore"
    } else {
        "restored"
    };
    println!(
        "{verb} the export of {} (schema {}, export {}): {} rows",
        summary.date, summary.schema_version, summary.export_id, summary.rows
    );
    println!("  {:<22} {:>10} {:>10}", "table", "manifest", "database");
    for t in &summary.tables {
        let found = if summary.dry_run {
            "-".to_owned()
        } else {
            t.found.to_string()
        };
        println!("  {:<22} {:>10} {:>10}", t.table, t.rows, found);
    }
    for repo in &summary.next_pages_dropped {
        println!(
            "dropped {repo}'s stored next page: not on GITHUB_API_URL's origin, the repository syncs again from page 1"
        );
    }
    if !summary.next_pages_dropped.is_empty() {
        println!(
            "{} GitHub cursor(s) reset",
            summary.next_pages_dropped.len()
        );
    }
    Ok(())
}

/// Rows restored out of the manifest's total, and the table being loaded.
/// Hidden when stderr is not a terminal (indicatif's default).
struct Bar(ProgressBar);

impl Bar {
    fn new() -> Self {
        let bar = ProgressBar::new(0).with_style(
            ProgressStyle::with_template("{msg:<22} {bar:40} {pos}/{len} rows {per_sec}")
                .expect("a valid template"),
        );
        bar.set_message("verifying");
        Self(bar)
    }
}

impl RestoreProgress for Bar {
    fn verified(&self, tables: &[(String, i64)]) {
        let total: i64 = tables.iter().map(|(_, n)| n).sum();
        self.0.set_length(total.max(0) as u64);
    }
    fn rows(&self, table: &str, rows: u64) {
        self.0.set_message(table.to_owned());
        self.0.inc(rows);
    }
    fn table_done(&self, table: &str) {
        self.0.println(format!("restored {table}"));
    }
}
