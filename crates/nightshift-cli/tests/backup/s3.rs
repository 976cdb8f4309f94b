//! The same round trip through a real S3-compatible server (moto's, started by
//! scripts/test through scripts/moto), as an operator would run it: `export --to
//! s3://…` from one database, `restore --from s3://…` into another. Each test
//! writes under its own prefix, so runs never read each other's exports.

use super::*;

#[sqlx::test(migrations = "../../migrations")]
async fn export_then_restore_through_s3(pool: PgPool) {
    seed(&pool).await;
    let src = database_url(&pool).await;
    let base = nightshift_testkit::s3_test_url();
    let to = format!("{base}/cli-{}", uuid::Uuid::new_v4());

    let (code, out) = nightshift(&src, &["export", "--to", &to]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("exported 8 rows"), "{out}");

    let (name, url, other) = target(&pool, "cli_s3").await;
    // A day with no export there is refused, naming the day, and writes nothing.
    let (code, out) = nightshift(&url, &["restore", "--from", &to, "--date", "2001-01-01"]).await;
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("2001-01-01"), "{out}");
    assert_eq!(rows_in(&other).await, 0);

    let (code, out) = nightshift(&url, &["restore", "--from", &to]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(": 8 rows"), "{out}");
    assert_eq!(digest(&other).await, digest(&pool).await);
    other.close().await;
    drop_db(&pool, &name).await;
}
