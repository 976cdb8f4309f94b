//! Reading an export back into an empty database migrated to the export's
//! schema version. Every file is checked against the manifest before a row
//! goes in, and everything goes in as one transaction: a restore is whole or
//! not at all.

use anyhow::{Context, bail, ensure};
use chrono::NaiveDate;
use futures_util::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use sha2::{Digest, Sha256};
use sqlx::{AssertSqlSafe, PgPool};

use super::cursors::drop_foreign_next_pages;
use super::load::load_table;
use super::progress::{RestoreOptions, RestoreSummary, RestoredTable};
use super::store::Dest;
use super::tables::{TABLES, Table, file_name, known, tables};
use super::{FORMAT, MANIFEST, Manifest, ManifestFile};

/// Restores the export of `date` from `store_url` (same forms as
/// `EXPORT_URL`) into `pool`, whose domain tables must be empty.
pub async fn restore(
    pool: &PgPool,
    store_url: &str,
    date: NaiveDate,
) -> anyhow::Result<RestoreSummary> {
    restore_with(pool, store_url, date, &RestoreOptions::default()).await
}

/// The newest day under `store_url` whose export finished (has a manifest).
pub async fn newest_complete_day(store_url: &str) -> anyhow::Result<NaiveDate> {
    let dest = Dest::open(store_url)?;
    dest.complete_days()
        .await?
        .pop()
        .with_context(|| format!("no complete export at {store_url}"))
}

/// [`restore`], with a dry run and progress. Everything that can be checked
/// is checked before the first row is written: the manifest, the schema
/// version, that the database is empty, and every file's checksum.
pub async fn restore_with(
    pool: &PgPool,
    store_url: &str,
    date: NaiveDate,
    opts: &RestoreOptions<'_>,
) -> anyhow::Result<RestoreSummary> {
    let dest = Dest::open(store_url)?;
    let manifest = read_manifest(&dest, date)
        .await
        .with_context(|| format!("no usable export of {date} at {store_url}"))?;
    check_schema(pool, &manifest).await?;

    // Files are taken from the allow-list; the manifest only vouches for them.
    if let Some(extra) = manifest.files.iter().find(|f| known(&f.table).is_none()) {
        bail!(
            "the manifest lists an unknown table {:?}: not a table this binary restores",
            extra.table
        );
    }
    let mut plan = Vec::with_capacity(manifest.files.len());
    for table in tables(true) {
        let entry = manifest.files.iter().find(|f| f.table == table.name);
        let Some(entry) = entry else {
            // The archive is optional; every live table is not.
            ensure!(
                !TABLES.iter().any(|t| t.name == table.name),
                "the manifest lists no file for {}",
                table.name
            );
            continue;
        };
        ensure!(
            entry.file == file_name(table),
            "the manifest names {:?} for {}, expected {:?}",
            entry.file,
            table.name,
            file_name(table)
        );
        plan.push((table, entry, dest.file(date, &entry.file)));
    }
    // Every table, not only the planned ones: archive rows left in a
    // database would collide with the live rows restored later.
    for table in tables(true) {
        refuse_rows(pool, table).await?;
    }
    for (_, entry, path) in &plan {
        verify(dest.store.as_ref(), path, entry).await?;
    }
    let promised: Vec<(String, i64)> = plan
        .iter()
        .map(|(t, e, _)| (t.name.to_owned(), e.rows))
        .collect();
    opts.progress.verified(&promised);
    let mut summary = RestoreSummary {
        export_id: manifest.export_id,
        date: manifest.date,
        schema_version: manifest.schema_version,
        rows: promised.iter().map(|(_, n)| n).sum(),
        tables: promised
            .iter()
            .map(|(table, rows)| RestoredTable {
                table: table.clone(),
                rows: *rows,
                found: *rows,
            })
            .collect(),
        dry_run: opts.dry_run,
        next_pages_dropped: Vec::new(),
    };
    if opts.dry_run {
        return Ok(summary);
    }

    let mut tx = pool.begin().await?;
    for (table, entry, path) in &plan {
        load_table(
            &mut tx,
            dest.store.as_ref(),
            table,
            entry,
            path,
            opts.progress,
        )
        .await
        .with_context(|| format!("restoring {} from {}", table.name, entry.file))?;
        opts.progress.table_done(table.name);
    }
    for (table, _, _) in plan.iter().filter(|(t, _, _)| t.identity) {
        // The next id follows the restored ones, not the sequence's start.
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence($1, 'id'), coalesce(max(id), 0) + 1, false) FROM {}",
            table.name
        );
        // Runtime SQL: the table comes from the export's table list (export/tables.rs), and an
        // identifier cannot be a bound parameter.
        sqlx::query(AssertSqlSafe(sql))
            .bind(table.name)
            .execute(&mut *tx)
            .await
            .with_context(|| format!("resetting the id sequence of {}", table.name))?;
    }
    summary.next_pages_dropped = drop_foreign_next_pages(&mut tx, opts.github_api_url).await?;
    // Counted again, by the database, before the commit: a mismatch undoes
    // the whole restore.
    for t in &mut summary.tables {
        // Runtime SQL: the table comes from the export's table list (export/tables.rs), and an
        // identifier cannot be a bound parameter.
        t.found = sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {}", t.table)))
            .fetch_one(&mut *tx)
            .await?;
        ensure!(
            t.found == t.rows,
            "{} holds {} rows after the restore, the manifest says {}",
            t.table,
            t.found,
            t.rows
        );
    }
    // The dashboard's rows are derived, not exported: rebuilt in the same
    // transaction, so a restored deployment shows its projects at once
    // (migrations/20261203000301_dashboard_table.sql).
    sqlx::query_scalar!(r#"SELECT refresh_dashboard_projects(now()) AS "n!""#)
        .fetch_one(&mut *tx)
        .await
        .context("rebuilding the dashboard rows")?;
    // Restored bands were assessed before the export; a run whose clock is
    // behind this restore assesses every open bug rather than trust them
    // (migrations/20261203000400_bands_at_write.sql).
    sqlx::query!("UPDATE risk_assessed_upto SET upto = greatest(upto, now())")
        .execute(&mut *tx)
        .await
        .context("dating the restored risk bands")?;
    tx.commit().await.context("committing the restore")?;
    Ok(summary)
}

async fn check_schema(pool: &PgPool, manifest: &Manifest) -> anyhow::Result<()> {
    // Runtime SQL: `_sqlx_migrations` is the migrator's own table, absent from the schema the
    // macros are checked against (scripts/sqlx-prepare applies the files).
    let found: Option<i64> =
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_optional(pool)
            .await
            .context("reading the database's schema version (is it migrated?)")?
            .flatten();
    let wanted = manifest.schema_version;
    match found {
        Some(v) if v == wanted => Ok(()),
        Some(v) if v < wanted => bail!(
            "the export is at schema version {wanted}, newer than the database's {v}: \
             restore it with the binary that wrote it (or a newer one), after `nightshift migrate`"
        ),
        Some(v) => bail!(
            "the export is at schema version {wanted}, older than the database's {v}: \
             restore it into a database migrated to {wanted}"
        ),
        None => bail!("the database has no migrations applied: run `nightshift migrate` first"),
    }
}

/// Says which table holds data, so the operator knows what they pointed at.
async fn refuse_rows(pool: &PgPool, table: &Table) -> anyhow::Result<()> {
    // Runtime SQL: the table comes from the export's table list (export/tables.rs), and an
    // identifier cannot be a bound parameter.
    let rows: bool = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT EXISTS (SELECT 1 FROM {})",
        table.name
    )))
    .fetch_one(pool)
    .await
    .with_context(|| format!("reading {}", table.name))?;
    ensure!(
        !rows,
        "the database is not empty: {} has rows; restore needs an empty, migrated database",
        table.name
    );
    Ok(())
}

/// Far above any manifest written (19 entries of a few hundred bytes).
const MAX_MANIFEST: usize = 1 << 20;

async fn read_manifest(dest: &Dest, date: NaiveDate) -> anyhow::Result<Manifest> {
    let path = dest.file(date, MANIFEST);
    let got = match dest.store.get(&path).await {
        Ok(got) => got,
        Err(object_store::Error::NotFound { .. }) => {
            bail!("{MANIFEST} is missing (the export never finished)")
        }
        Err(e) => return Err(e).with_context(|| format!("reading {path}")),
    };
    // The bucket is not trusted with our memory: a manifest lists 19 files
    // in a few KiB, so anything past MAX_MANIFEST is refused unread.
    let mut stream = got.into_stream();
    let mut bytes = Vec::new();
    while let Some(chunk) = stream
        .try_next()
        .await
        .with_context(|| format!("reading {path}"))?
    {
        ensure!(
            bytes.len() + chunk.len() <= MAX_MANIFEST,
            "{MANIFEST} is larger than {} KiB: not a manifest this binary wrote",
            MAX_MANIFEST >> 10
        );
        bytes.extend_from_slice(&chunk);
    }
    let manifest: Manifest =
        serde_json::from_slice(&bytes).with_context(|| format!("{MANIFEST} is not valid"))?;
    ensure!(
        manifest.format == FORMAT,
        "{MANIFEST} has format {:?}, this binary reads {FORMAT:?}",
        manifest.format
    );
    Ok(manifest)
}

/// Streams an object and hashes it, without decompressing.
async fn verify(store: &dyn ObjectStore, path: &Path, entry: &ManifestFile) -> anyhow::Result<()> {
    let mut stream = store
        .get(path)
        .await
        .with_context(|| format!("{}: cannot read it", entry.file))?
        .into_stream();
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    while let Some(chunk) = stream
        .try_next()
        .await
        .with_context(|| format!("{}: reading it", entry.file))?
    {
        hasher.update(&chunk);
        bytes += chunk.len() as u64;
    }
    check_hash(entry, bytes, hasher)
}

pub(super) fn check_hash(entry: &ManifestFile, bytes: u64, hasher: Sha256) -> anyhow::Result<()> {
    let sha256 = format!("{:x}", hasher.finalize());
    ensure!(
        bytes == entry.bytes && sha256 == entry.sha256,
        "{}: {bytes} bytes with sha256 {sha256}, but the manifest says {} bytes with sha256 {}",
        entry.file,
        entry.bytes,
        entry.sha256
    );
    Ok(())
}
