//! The export's table list against the catalog: a migration that adds a
//! table must say whether backups carry it, and the list must stay in
//! foreign-key order, or restores fail on the first reference.

use std::collections::BTreeSet;

use nightshift_tasks::daily::export::table_names;
use sqlx::PgPool;

/// Tables in schema public that an export leaves out on purpose.
const EXCLUDED: &[&str] = &[
    // The migrator's own bookkeeping: a restore target is migrated by the
    // binary, which writes these rows itself.
    "_sqlx_migrations",
    // Per-run scheduling state of the GitHub sync: every daily run enqueues
    // its projects again, and a restored `running` item would only hold a
    // dead lease. Cursors (exported) carry where each sync stopped.
    "work_queue",
    // Short-lived security state: the back-off on wrong secrets, and what
    // ends dashboard sessions. A restored database draws its own session
    // epoch, so every cookie issued before the restore is refused.
    "auth_throttle",
    "session_epoch",
    "session_revocations",
    // Totals of the open bugs, kept by triggers on `bugs`
    // (migrations/20261203000101_open_bug_totals.sql): restoring the bugs
    // rebuilds them.
    "open_bug_totals",
    // ... and their rollups per project, assignee and band
    // (migrations/20261203000300_open_bug_rollups.sql), kept the same way.
    "open_bugs_by_project",
    "open_bugs_by_assignee",
    "open_bugs_by_risk",
    // The clock up to which risk bands were assessed at write time
    // (migrations/20261203000400_bands_at_write.sql); a restore sets it to
    // its own.
    "risk_assessed_upto",
    // The dashboard's rows, derived from the totals and the resolutions
    // (migrations/20261203000301_dashboard_table.sql): a restore rebuilds
    // them in its own transaction.
    "dashboard_projects",
];

#[sqlx::test(migrations = "../../migrations")]
async fn every_table_is_exported_or_deliberately_excluded(pool: PgPool) {
    // pg_tables lists plain (and partitioned) tables only.
    let catalog: BTreeSet<String> =
        sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'")
            .fetch_all(&pool)
            .await
            .unwrap()
            .into_iter()
            .collect();
    let exported = table_names();
    let missing: Vec<&String> = catalog
        .iter()
        .filter(|t| !exported.contains(&t.as_str()) && !EXCLUDED.contains(&t.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "tables neither exported (daily/export/tables.rs) nor excluded here: {missing:?}"
    );
    let unknown: Vec<&&str> = exported
        .iter()
        .chain(EXCLUDED)
        .filter(|t| !catalog.contains(**t))
        .collect();
    assert!(
        unknown.is_empty(),
        "listed but not in the schema: {unknown:?}"
    );
    let twice: Vec<&&str> = EXCLUDED.iter().filter(|t| exported.contains(t)).collect();
    assert!(twice.is_empty(), "both exported and excluded: {twice:?}");
}

#[sqlx::test(migrations = "../../migrations")]
async fn the_export_lists_tables_in_foreign_key_order(pool: PgPool) {
    let fks: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT c.conname::text, src.relname::text, dst.relname::text
           FROM pg_constraint c
           JOIN pg_class src ON src.oid = c.conrelid
           JOIN pg_class dst ON dst.oid = c.confrelid
           JOIN pg_namespace n ON n.oid = src.relnamespace
          WHERE c.contype = 'f' AND n.nspname = 'public'
          ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        fks.iter()
            .any(|(_, s, d)| s == "notifications" && d == "reports"),
        "the catalog query finds no foreign keys: {fks:?}"
    );
    let order = table_names();
    let pos = |t: &str| order.iter().position(|x| *x == t);
    let mut wrong = Vec::new();
    for (name, src, dst) in &fks {
        if src == dst || EXCLUDED.contains(&src.as_str()) {
            continue; // self references load in a second pass
        }
        match (pos(src), pos(dst)) {
            (Some(s), Some(d)) if d < s => {}
            (Some(_), None) => wrong.push(format!("{name}: {src} -> {dst}, which is not exported")),
            _ => wrong.push(format!("{name}: {src} is listed before {dst}")),
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
