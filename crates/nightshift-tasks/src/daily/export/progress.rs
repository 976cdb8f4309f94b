//! What a restore tells its caller as it goes, and what it hands back.

use chrono::NaiveDate;
use uuid::Uuid;

/// Hooks a caller (the CLI's progress bar) gets called on; all no-ops by
/// default, so the library never prints.
pub trait RestoreProgress: Send + Sync {
    /// Every file checked; `tables` is (table, rows the manifest promises).
    fn verified(&self, _tables: &[(String, i64)]) {}
    /// `rows` more rows of `table` went in.
    fn rows(&self, _table: &str, _rows: u64) {}
    /// `table` is complete.
    fn table_done(&self, _table: &str) {}
}

/// Reports nothing.
pub struct Quiet;
impl RestoreProgress for Quiet {}

#[derive(Clone, Debug)]
pub struct RestoreOptions<'a> {
    /// Check the export and the database, write nothing.
    pub dry_run: bool,
    pub progress: &'a dyn RestoreProgress,
    /// GITHUB_API_URL of the deployment restored into: a cursor's next page
    /// on another origin is dropped.
    pub github_api_url: &'a str,
}

impl Default for RestoreOptions<'_> {
    fn default() -> Self {
        Self {
            dry_run: false,
            progress: &Quiet,
            github_api_url: crate::config::DEFAULT_GITHUB_API,
        }
    }
}

impl std::fmt::Debug for dyn RestoreProgress + '_ {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RestoreProgress")
    }
}

#[derive(Clone, Debug)]
pub struct RestoreSummary {
    pub export_id: Uuid,
    pub date: NaiveDate,
    pub schema_version: i64,
    pub tables: Vec<RestoredTable>,
    pub rows: i64,
    /// Nothing was written: `tables[].found` are the manifest's counts.
    pub dry_run: bool,
    /// Repositories whose restored next page was not on GITHUB_API_URL's
    /// origin: dropped, so each is walked again from page 1.
    pub next_pages_dropped: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoredTable {
    pub table: String,
    /// What the manifest says.
    pub rows: i64,
    /// What the database holds after the restore, counted inside its
    /// transaction before the commit.
    pub found: i64,
}
