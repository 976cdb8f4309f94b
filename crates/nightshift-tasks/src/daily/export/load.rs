//! One file of an export into its table: streamed, decompressed and inserted
//! in batches with `jsonb_populate_recordset`, inside the restore's transaction.

use std::io::Write;

use anyhow::{Context, ensure};
use flate2::write::GzDecoder;
use futures_util::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use sha2::{Digest, Sha256};
use sqlx::{AssertSqlSafe, PgConnection};

use super::ManifestFile;
use super::lines::{LineTooLong, Lines, MAX_LINE};
use super::progress::RestoreProgress;
use super::restore::check_hash;
use super::tables::Table;

/// Rows per INSERT, and the most JSON text one may carry.
const BATCH_ROWS: usize = 1000;
const BATCH_BYTES: usize = 8 << 20;
/// Compressed bytes decoded at a time. Deflate expands at most about 1,032
/// to 1, so whole lines waiting to be loaded stay under ~8 MiB however the
/// store chunks the object.
const SLICE: usize = 8 << 10;

/// Streams, decompresses and inserts one file in batches; hashes it again on
/// the way, since it could have changed since `verify`.
pub(super) async fn load_table(
    conn: &mut PgConnection,
    store: &dyn ObjectStore,
    table: &'static Table,
    entry: &ManifestFile,
    path: &Path,
    progress: &dyn RestoreProgress,
) -> anyhow::Result<i64> {
    let mut loader = Loader::new(conn, table, progress).await?;
    let mut stream = store.get(path).await?.into_stream();
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    let mut gz = GzDecoder::new(Lines::new(MAX_LINE));
    while let Some(chunk) = stream.try_next().await? {
        hasher.update(&chunk);
        bytes += chunk.len() as u64;
        for slice in chunk.chunks(SLICE) {
            gz.write_all(slice).map_err(decoding)?;
            let (first, lines) = gz.get_mut().take_complete();
            loader.push_lines(conn, first, &lines).await?;
        }
    }
    let mut rest = gz.finish().map_err(decoding)?;
    let (first, lines) = rest.take_rest();
    loader.push_lines(conn, first, &lines).await?;
    check_hash(entry, bytes, hasher)?;
    let rows = loader.finish(conn).await?;
    ensure!(
        rows == entry.rows,
        "{} rows restored, the manifest says {}",
        rows,
        entry.rows
    );
    Ok(rows)
}

/// The decoder's error: a line past [`MAX_LINE`] as itself (it numbers the
/// line), anything else as data that is not gzip.
fn decoding(e: std::io::Error) -> anyhow::Error {
    if let Some(long) = e.get_ref().and_then(|i| i.downcast_ref::<LineTooLong>()) {
        return anyhow::anyhow!("{long}");
    }
    anyhow::Error::new(e).context("decompressing")
}

/// Collects JSON rows into a `[...]` array and inserts it with
/// `jsonb_populate_recordset`, which reads each value as the column's type.
struct Loader<'p> {
    progress: &'p dyn RestoreProgress,
    table: &'static Table,
    insert: String,
    batch: String,
    batch_rows: usize,
    rows: i64,
    /// (id, referenced id) of a self-referencing column, set after all rows.
    refs: Vec<(i64, i64)>,
}

impl<'p> Loader<'p> {
    async fn new(
        conn: &mut PgConnection,
        table: &'static Table,
        progress: &'p dyn RestoreProgress,
    ) -> anyhow::Result<Self> {
        // Runtime SQL: the table comes from the export's table list (export/tables.rs), and an
        // identifier cannot be a bound parameter.
        let empty: bool = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT NOT EXISTS (SELECT 1 FROM {})",
            table.name
        )))
        .fetch_one(&mut *conn)
        .await?;
        ensure!(
            empty,
            "{} is not empty: restore needs an empty database",
            table.name
        );
        // Generated columns (bugs' SLA window and deadline) cannot be
        // inserted; the database computes them again from the rest.
        let cols: Vec<String> = sqlx::query_scalar!(
            r#"SELECT quote_ident(column_name::text) AS "col!" FROM information_schema.columns
              WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER'
              ORDER BY ordinal_position"#,
            table.name,
        )
        .fetch_all(&mut *conn)
        .await?;
        ensure!(!cols.is_empty(), "table {} does not exist", table.name);
        let list = cols.join(", ");
        let t = table.name;
        let source = format!("jsonb_populate_recordset(NULL::{t}, $1::text::jsonb)");
        let insert = match table.self_ref {
            None => format!("INSERT INTO {t} ({list}) SELECT {list} FROM {source}"),
            Some(col) => {
                let values = cols
                    .iter()
                    .map(|c| if c == col { "NULL" } else { c.as_str() })
                    .collect::<Vec<_>>()
                    .join(", ");
                format!(
                    "WITH r AS (SELECT * FROM {source}),
                          ins AS (INSERT INTO {t} ({list}) SELECT {values} FROM r)
                     SELECT id, {col} FROM r WHERE {col} IS NOT NULL"
                )
            }
        };
        Ok(Self {
            progress,
            table,
            insert,
            batch: String::new(),
            batch_rows: 0,
            rows: 0,
            refs: Vec::new(),
        })
    }

    /// Lines numbered from `first`, each checked to be one JSON object so
    /// that a bad one is named here rather than by Postgres for the batch.
    async fn push_lines(
        &mut self,
        conn: &mut PgConnection,
        first: u64,
        text: &[u8],
    ) -> anyhow::Result<()> {
        for (n, line) in (first..).zip(text.split(|b| *b == b'\n')) {
            let line =
                std::str::from_utf8(line).with_context(|| format!("line {n} is not UTF-8"))?;
            if line.trim().is_empty() {
                continue;
            }
            ensure!(
                line.trim_start().starts_with('{')
                    && serde_json::from_str::<serde::de::IgnoredAny>(line).is_ok(),
                "line {n} is not one JSON object"
            );
            self.batch
                .push(if self.batch.is_empty() { '[' } else { ',' });
            self.batch.push_str(line);
            self.batch_rows += 1;
            if self.batch_rows >= BATCH_ROWS || self.batch.len() >= BATCH_BYTES {
                self.flush(conn).await?;
            }
        }
        Ok(())
    }

    async fn flush(&mut self, conn: &mut PgConnection) -> anyhow::Result<()> {
        if self.batch_rows == 0 {
            return Ok(());
        }
        self.batch.push(']');
        let json = std::mem::take(&mut self.batch);
        // Runtime SQL: the INSERT is built per table from its columns (`Loader::new`).
        let sql = AssertSqlSafe(self.insert.clone());
        if self.table.self_ref.is_some() {
            let refs: Vec<(i64, i64)> =
                sqlx::query_as(sql).bind(json).fetch_all(&mut *conn).await?;
            self.refs.extend(refs);
        } else {
            sqlx::query(sql).bind(json).execute(&mut *conn).await?;
        }
        self.rows += self.batch_rows as i64;
        self.progress.rows(self.table.name, self.batch_rows as u64);
        self.batch_rows = 0;
        Ok(())
    }

    async fn finish(mut self, conn: &mut PgConnection) -> anyhow::Result<i64> {
        self.flush(conn).await?;
        if let Some(col) = self.table.self_ref {
            let (ids, targets): (Vec<i64>, Vec<i64>) = self.refs.into_iter().unzip();
            let t = self.table.name;
            // Runtime SQL: the table comes from the export's table list (export/tables.rs), and
            // an identifier cannot be a bound parameter.
            sqlx::query(AssertSqlSafe(format!(
                "UPDATE {t} SET {col} = x.target
                   FROM unnest($1::bigint[], $2::bigint[]) AS x(id, target)
                  WHERE {t}.id = x.id"
            )))
            .bind(ids)
            .bind(targets)
            .execute(&mut *conn)
            .await
            .with_context(|| format!("setting {t}.{col}"))?;
        }
        Ok(self.rows)
    }
}
