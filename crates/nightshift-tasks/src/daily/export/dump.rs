//! One table out: rows streamed from Postgres as JSON, gzipped and uploaded
//! in chunks, hashed on the way, so memory stays flat however big the table.

use std::io::Write;

use anyhow::Context;
use flate2::Compression;
use flate2::write::GzEncoder;
use futures_util::TryStreamExt;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use sha2::{Digest, Sha256};
use sqlx::{AssertSqlSafe, PgConnection};
use tokio::io::AsyncWriteExt;

use super::ManifestFile;
use super::store::Dest;
use super::tables::{Table, file_name};

/// Compressed bytes handed to the uploader at a time.
const CHUNK: usize = 1 << 20;
/// Objects up to this size are one PUT; bigger ones a multipart upload.
const PART: usize = 10 << 20;

pub(super) async fn dump_table(
    conn: &mut PgConnection,
    table: &Table,
    dest: &Dest,
    path: Path,
) -> anyhow::Result<ManifestFile> {
    let mut out = BufWriter::with_capacity(dest.store.clone(), path, PART);
    match write_rows(conn, table, &mut out).await {
        Ok(file) => {
            out.shutdown().await.context("finishing the upload")?;
            Ok(file)
        }
        Err(e) => {
            // A multipart upload left open costs storage until it expires.
            let _ = out.abort().await;
            Err(e)
        }
    }
}

async fn write_rows(
    conn: &mut PgConnection,
    table: &Table,
    out: &mut BufWriter,
) -> anyhow::Result<ManifestFile> {
    // row_to_json keeps column order and renders every type in its canonical
    // text (numeric exactly, timestamps in ISO 8601), so
    // jsonb_populate_recordset reads back the very same values.
    let sql = format!(
        "SELECT row_to_json(t)::text FROM {} t ORDER BY {}",
        table.name, table.order_by
    );
    // The gzip header carries no name and mtime 0: same rows, same bytes.
    let mut gz = GzEncoder::new(Vec::with_capacity(CHUNK * 2), Compression::default());
    let mut sink = Sink::default();
    let mut rows = 0i64;
    {
        // Runtime SQL: the table comes from the export's table list (export/tables.rs), and an
        // identifier cannot be a bound parameter.
        let mut stream = sqlx::query_scalar::<_, String>(AssertSqlSafe(sql)).fetch(&mut *conn);
        while let Some(line) = stream.try_next().await.context("reading rows")? {
            gz.write_all(line.as_bytes())?;
            gz.write_all(b"\n")?;
            rows += 1;
            if gz.get_ref().len() >= CHUNK {
                let chunk = std::mem::take(gz.get_mut());
                sink.send(out, &chunk).await?;
            }
        }
    }
    let tail = gz.finish().context("finishing gzip")?;
    sink.send(out, &tail).await?;
    Ok(ManifestFile {
        table: table.name.to_owned(),
        file: file_name(table),
        rows,
        bytes: sink.bytes,
        sha256: format!("{:x}", sink.hasher.finalize()),
    })
}

/// What the manifest says about the uploaded bytes, counted as they go.
#[derive(Default)]
struct Sink {
    hasher: Sha256,
    bytes: u64,
}

impl Sink {
    async fn send(&mut self, out: &mut BufWriter, chunk: &[u8]) -> anyhow::Result<()> {
        self.hasher.update(chunk);
        self.bytes += chunk.len() as u64;
        out.write_all(chunk).await.context("uploading")?;
        Ok(())
    }
}
