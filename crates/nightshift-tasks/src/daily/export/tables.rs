//! The allow-list of what an export holds. Every table name that ends up in
//! SQL comes from here, never from a manifest or a URL.

/// One domain table and how to read it back in the same order every time.
pub(super) struct Table {
    pub name: &'static str,
    /// Its primary key: exports ordered by it are byte-for-byte repeatable.
    pub order_by: &'static str,
    /// `id` is an identity column whose sequence must follow a restore.
    pub identity: bool,
    /// A bigint column referencing this same table's `id`: restored in a
    /// second pass, since a row may point at one further down the file.
    pub self_ref: Option<&'static str>,
}

const fn table(name: &'static str, order_by: &'static str) -> Table {
    Table {
        name,
        order_by,
        identity: false,
        self_ref: None,
    }
}

const fn with_id(name: &'static str) -> Table {
    Table {
        name,
        order_by: "id",
        identity: true,
        self_ref: None,
    }
}

/// In dependency order: a table references only itself or tables above it,
/// so a restore inserts top to bottom with every foreign key checked.
/// `tests/export_schema.rs` fails when a migration adds a table that is
/// neither here nor in its list of deliberate exclusions, or breaks the order.
pub(super) const TABLES: &[Table] = &[
    Table {
        self_ref: Some("manager_id"),
        ..with_id("users")
    },
    with_id("projects"),
    with_id("bugs"),
    with_id("pull_requests"),
    table("project_metrics", "project_id, date"),
    table("hourly_snapshots", "hour, kind"),
    with_id("escalations"),
    // Before notifications: a weekly report's e-mail points at its report.
    with_id("reports"),
    table("report_images", "report_id, content_id"),
    with_id("notifications"),
    with_id("notices"),
    with_id("alerts"),
    table("github_sync_cursors", "project_id"),
    // Without them a restored deployment would send today's reminders again
    // and resume jobs an operator had paused.
    table("task_claims", "task, key"),
    table("job_pauses", "job_type"),
    // The live ledger: slot claims (no second run of a slot already done),
    // the status page's history, and the events that explain it.
    table("job_history", "id"),
    with_id("sync_events"),
];

/// Exported only when asked (`EXPORT_WITH_ARCHIVE=true`, `--with-archive`):
/// history nothing reads to run, and often the bulk of the database.
pub(super) const ARCHIVE_TABLES: &[Table] = &[
    table("job_history_archive", "id"),
    table("sync_events_archive", "id"),
];

/// The tables an export holds, in restore order.
pub(super) fn tables(with_archive: bool) -> impl Iterator<Item = &'static Table> {
    let archive = if with_archive { ARCHIVE_TABLES } else { &[] };
    TABLES.iter().chain(archive)
}

/// Every table name an export may hold, archive ones last, in restore order:
/// what tests compare with the catalog.
pub fn table_names() -> Vec<&'static str> {
    tables(true).map(|t| t.name).collect()
}

/// Looks a manifest's table up in the allow-list.
pub(super) fn known(name: &str) -> Option<&'static Table> {
    tables(true).find(|t| t.name == name)
}

/// The object name of a table's rows inside a day's folder.
pub(super) fn file_name(table: &Table) -> String {
    format!("{}.ndjson.gz", table.name)
}
