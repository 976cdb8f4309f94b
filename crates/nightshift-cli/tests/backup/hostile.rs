//! A bucket that lies (issue 33): files whose checksums match the manifest
//! but whose content a restore must not trust. Each is a non-zero exit that
//! names the file, with nothing written, or, for a next page on another
//! origin, a restore that drops it and says so.

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

use super::*;

/// Makes the manifest vouch for `file` as it now is, as a bucket writer could.
fn reseal(day: &Path, file: &str) {
    let bytes = std::fs::read(day.join(file)).unwrap();
    let sha = format!("{:x}", Sha256::digest(&bytes));
    edit_manifest(day, |m| {
        let entry = m["files"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|f| f["file"] == file)
            .unwrap();
        entry["bytes"] = bytes.len().into();
        entry["sha256"] = sha.into();
    });
}

/// Writes `lines` gzipped as `file`, and reseals it.
fn replace(day: &Path, file: &str, lines: &[&[u8]]) {
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    for l in lines {
        gz.write_all(l).unwrap();
        gz.write_all(b"\n").unwrap();
    }
    std::fs::write(day.join(file), gz.finish().unwrap()).unwrap();
    reseal(day, file);
}

/// The rows of a table file, as the export wrote them.
fn rows_of(day: &Path, file: &str) -> Vec<String> {
    let gz = std::fs::File::open(day.join(file)).unwrap();
    let text = std::io::read_to_string(flate2::read::GzDecoder::new(gz)).unwrap();
    text.lines().map(str::to_owned).collect()
}

#[sqlx::test(migrations = "../../migrations")]
async fn files_the_manifest_vouches_for_are_still_checked(pool: PgPool) {
    seed(&pool).await;
    let src = database_url(&pool).await;
    let good = tempfile::tempdir().unwrap();
    let (code, out) = nightshift(&src, &["export", "--to", good.path().to_str().unwrap()]).await;
    assert_eq!(code, 0, "{out}");
    let (name, url, other) = target(&pool, "cli_hostile").await;

    type Spoil = Box<dyn FnOnce(&Path)>;
    let cases: Vec<(&str, Spoil, &[&str])> = vec![
        (
            // Valid JSON padded with spaces: refused for its size alone.
            "oversized manifest",
            Box::new(|d| {
                let path = d.join("manifest.json");
                let mut m = std::fs::read(&path).unwrap();
                m.resize(m.len() + (2 << 20), b' ');
                std::fs::write(&path, m).unwrap();
            }),
            &["manifest.json is larger than 1024 KiB"],
        ),
        (
            "not gzip",
            Box::new(|d| {
                std::fs::write(d.join("bugs.ndjson.gz"), b"{\"id\": 1}\n").unwrap();
                reseal(d, "bugs.ndjson.gz");
            }),
            &["from bugs.ndjson.gz", "decompressing"],
        ),
        (
            // Two rows on one line would slip into the INSERT's array as two.
            "not one JSON object a line",
            Box::new(|d| {
                let row = rows_of(d, "users.ndjson.gz").remove(0);
                let two = format!("{row}, {row}");
                replace(d, "users.ndjson.gz", &[row.as_bytes(), two.as_bytes()]);
            }),
            &["from users.ndjson.gz", "line 2 is not one JSON object"],
        ),
    ];
    for (case, spoil, expected) in cases {
        let dir = spoiled(good.path(), spoil);
        let from = dir.path().to_str().unwrap();
        let (code, out) = nightshift(&url, &["restore", "--from", from]).await;
        assert_eq!(code, 1, "{case}: {out}");
        for e in expected {
            assert!(out.contains(e), "{case}: expected {e:?} in {out}");
        }
        assert!(out.contains("nothing was written"), "{case}: {out}");
        assert_eq!(rows_in(&other).await, 0, "{case}: rows were written");
    }
    other.close().await;
    drop_db(&pool, &name).await;
}

/// A second bug whose title is one byte past the 64 MiB a line may hold,
/// otherwise a row the database would take: refused as it is decompressed.
#[sqlx::test(migrations = "../../migrations")]
async fn an_over_long_line_is_refused_naming_file_and_line(pool: PgPool) {
    seed(&pool).await;
    let src = database_url(&pool).await;
    let good = tempfile::tempdir().unwrap();
    let (code, out) = nightshift(&src, &["export", "--to", good.path().to_str().unwrap()]).await;
    assert_eq!(code, 0, "{out}");
    let (name, url, other) = target(&pool, "cli_long_line").await;

    let dir = spoiled(good.path(), |d| {
        let row = rows_of(d, "bugs.ndjson.gz").remove(0);
        let (head, tail) = row.split_at(row.find("\"title\":\"").unwrap() + 9);
        let tail = &tail[tail.find('"').unwrap()..];
        let head = head.replacen("{\"id\":1,", "{\"id\":2,", 1);
        assert!(head.starts_with("{\"id\":2,"), "{row}");
        // Streamed: the title never exists whole in the test either; it
        // compresses to a few tens of KiB.
        let file = std::fs::File::create(d.join("bugs.ndjson.gz")).unwrap();
        let mut gz = GzEncoder::new(file, Compression::fast());
        writeln!(gz, "{row}").unwrap();
        gz.write_all(head.as_bytes()).unwrap();
        let title = vec![b'a'; 1 << 20];
        let mut left = (64 << 20) + 1 - head.len() - tail.len();
        while left > 0 {
            let n = left.min(title.len());
            gz.write_all(&title[..n]).unwrap();
            left -= n;
        }
        writeln!(gz, "{tail}").unwrap();
        gz.finish().unwrap();
        reseal(d, "bugs.ndjson.gz");
        edit_manifest(d, |m| {
            for f in m["files"].as_array_mut().unwrap() {
                if f["file"] == "bugs.ndjson.gz" {
                    f["rows"] = 2.into();
                }
            }
        });
    });
    let from = dir.path().to_str().unwrap();
    let (code, out) = nightshift(&url, &["restore", "--from", from]).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("from bugs.ndjson.gz"), "{out}");
    assert!(out.contains("line 2 is longer than 64 MiB"), "{out}");
    assert!(out.contains("nothing was written"), "{out}");
    assert_eq!(rows_in(&other).await, 0, "rows were written");
    other.close().await;
    drop_db(&pool, &name).await;
}

/// The one restored value the sync sends the token to. With GITHUB_API_URL
/// a GitHub Enterprise server, a page there is kept; one at a metadata
/// address and one at api.github.com (another origin here) are dropped, named,
/// and the rest of the restore goes in.
#[sqlx::test(migrations = "../../migrations")]
async fn a_next_page_on_another_origin_is_dropped_and_named(pool: PgPool) {
    seed(&pool).await;
    for sql in [
        "INSERT INTO projects (name, owner_id, github_repo)
         VALUES ('A', 1, 'acme/a'), ('B', 1, 'acme/b'), ('C', 1, 'acme/c')",
        "INSERT INTO github_sync_cursors (project_id, next_url, updated_at) VALUES
         (2, 'https://ghe.example.com/api/v3/repos/acme/a/issues?page=2', now()),
         (3, 'http://169.254.169.254/latest/meta-data/?page=2', now()),
         (4, 'https://api.github.com/repos/acme/c/issues?page=2', now())",
    ] {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    let src = database_url(&pool).await;
    let dir = tempfile::tempdir().unwrap();
    let (code, out) = nightshift(&src, &["export", "--to", dir.path().to_str().unwrap()]).await;
    assert_eq!(code, 0, "{out}");
    let (name, url, other) = target(&pool, "cli_next_url").await;

    let ghe = [("GITHUB_API_URL", "https://ghe.example.com/api/v3")];
    let from = dir.path().to_str().unwrap();
    let (code, out) = nightshift_with(&url, &["restore", "--from", from], &ghe).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(": 14 rows"), "{out}");
    for repo in ["acme/b", "acme/c"] {
        assert!(
            out.contains(&format!("dropped {repo}'s stored next page")),
            "{out}"
        );
    }
    assert!(!out.contains("dropped acme/a"), "{out}");
    assert!(out.contains("2 GitHub cursor(s) reset"), "{out}");
    let pages: Vec<(i64, Option<String>)> =
        sqlx::query_as("SELECT project_id, next_url FROM github_sync_cursors ORDER BY project_id")
            .fetch_all(&other)
            .await
            .unwrap();
    assert_eq!(
        pages,
        [
            (
                2,
                Some("https://ghe.example.com/api/v3/repos/acme/a/issues?page=2".to_owned())
            ),
            (3, None),
            (4, None),
        ]
    );
    other.close().await;
    drop_db(&pool, &name).await;
}
