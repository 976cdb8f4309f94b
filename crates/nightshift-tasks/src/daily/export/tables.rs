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
    with_id("notifications"),
    with_id("notices"),
    with_id("alerts"),
    table("github_sync_cursors", "project_id"),
];

/// The object name of a table's rows inside a day's folder.
pub(super) fn file_name(table: &Table) -> String {
    format!("{}.ndjson.gz", table.name)
}
