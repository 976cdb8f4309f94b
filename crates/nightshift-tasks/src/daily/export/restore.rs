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
use uuid::Uuid;

use super::load::load_table;
use super::store::Dest;
use super::tables::{TABLES, file_name};
use super::{FORMAT, MANIFEST, Manifest, ManifestFile};

#[derive(Clone, Debug)]
pub struct RestoreSummary {
    pub export_id: Uuid,
    pub date: NaiveDate,
    pub schema_version: i64,
    pub tables: Vec<RestoredTable>,
    pub rows: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestoredTable {
    pub table: String,
    pub rows: i64,
}

/// Restores the export of `date` from `store_url` (same forms as
/// `EXPORT_URL`) into `pool`, whose domain tables must be empty.
pub async fn restore(
    pool: &PgPool,
    store_url: &str,
    date: NaiveDate,
) -> anyhow::Result<RestoreSummary> {
    let dest = Dest::open(store_url)?;
    let manifest = read_manifest(&dest, date)
        .await
        .with_context(|| format!("no usable export of {date} at {store_url}"))?;
    let found: Option<i64> =
        sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(pool)
            .await
            .context("reading the database's schema version")?;
    ensure!(
        found == Some(manifest.schema_version),
        "the export of {date} is at schema version {}, the database at {}",
        manifest.schema_version,
        found.map_or("none".to_owned(), |v| v.to_string()),
    );

    // Files are taken from the allow-list; the manifest only vouches for them.
    let mut plan = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let entry = manifest
            .files
            .iter()
            .find(|f| f.table == table.name)
            .with_context(|| format!("the manifest lists no file for {}", table.name))?;
        ensure!(
            entry.file == file_name(table),
            "the manifest names {:?} for {}, expected {:?}",
            entry.file,
            table.name,
            file_name(table)
        );
        plan.push((table, entry, dest.file(date, &entry.file)));
    }
    if let Some(extra) = manifest
        .files
        .iter()
        .find(|f| !TABLES.iter().any(|t| t.name == f.table))
    {
        bail!("the manifest lists an unknown table {:?}", extra.table);
    }
    for (_, entry, path) in &plan {
        verify(dest.store.as_ref(), path, entry).await?;
    }

    let mut tx = pool.begin().await?;
    let mut tables = Vec::with_capacity(plan.len());
    for (table, entry, path) in &plan {
        let rows = load_table(&mut tx, dest.store.as_ref(), table, entry, path)
            .await
            .with_context(|| format!("restoring {} from {}", table.name, entry.file))?;
        tables.push(RestoredTable {
            table: table.name.to_owned(),
            rows,
        });
    }
    for table in TABLES.iter().filter(|t| t.identity) {
        // The next id follows the restored ones, not the sequence's start.
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence($1, 'id'), coalesce(max(id), 0) + 1, false) FROM {}",
            table.name
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(table.name)
            .execute(&mut *tx)
            .await
            .with_context(|| format!("resetting the id sequence of {}", table.name))?;
    }
    tx.commit().await.context("committing the restore")?;
    Ok(RestoreSummary {
        export_id: manifest.export_id,
        date: manifest.date,
        schema_version: manifest.schema_version,
        rows: tables.iter().map(|t| t.rows).sum(),
        tables,
    })
}

async fn read_manifest(dest: &Dest, date: NaiveDate) -> anyhow::Result<Manifest> {
    let path = dest.file(date, MANIFEST);
    let bytes = match dest.store.get(&path).await {
        Ok(got) => got.bytes().await?,
        Err(object_store::Error::NotFound { .. }) => {
            bail!("{MANIFEST} is missing (the export never finished)")
        }
        Err(e) => return Err(e).with_context(|| format!("reading {path}")),
    };
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
