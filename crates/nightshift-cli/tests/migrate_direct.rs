//! `nightshift migrate` never goes through a transaction pooler: with
//! DATABASE_URL_DIRECT it migrates there, whatever DATABASE_URL is; with a
//! pooler's DATABASE_URL and no direct one it refuses, naming the variable,
//! and changes nothing (sqlx's migrator holds a session advisory lock, which
//! a pooler would strand on one of its server connections).

use nightshift_testkit::cli;
use nightshift_testkit::db::{drop_db, scratch_db, url_of};
use sqlx::PgPool;

async fn migrations_table(url: &str) -> Option<String> {
    let db = PgPool::connect(url).await.unwrap();
    let t = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text")
        .fetch_one(&db)
        .await
        .unwrap();
    db.close().await;
    t
}

#[sqlx::test(migrations = false)]
async fn migrate_goes_to_the_direct_url(pool: PgPool) {
    let name = scratch_db(&pool, "mig_direct").await;
    let direct = url_of(&name);
    // DATABASE_URL leads nowhere (a closed port): only the direct URL can work.
    let pooled = "postgres://nightshift:x@127.0.0.1:1/nightshift?pgbouncer=true";
    let r = cli::run(
        env!("CARGO_BIN_EXE_nightshift"),
        pooled,
        &["migrate"],
        &[("DATABASE_URL_DIRECT", &direct)],
        &["DATABASE_PGBOUNCER"],
    )
    .await;
    assert_eq!(r.code, 0, "{}", r.text());
    let applied: i64 = {
        let db = PgPool::connect(&direct).await.unwrap();
        let n = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
            .fetch_one(&db)
            .await
            .unwrap();
        db.close().await;
        n
    };
    assert_eq!(applied, nightshift_core::db::MIGRATOR.iter().count() as i64);
    drop_db(&pool, &name).await;
}

#[sqlx::test(migrations = false)]
async fn migrate_refuses_a_pooler_url_without_a_direct_one(pool: PgPool) {
    let name = scratch_db(&pool, "mig_refuse").await;
    let url = url_of(&name);
    // The variable says pooler; then the URL says so (auto-detection).
    let cases = [
        (url.clone(), vec![("DATABASE_PGBOUNCER", "true")], vec![]),
        (
            format!("{url}?pgbouncer=true"),
            vec![],
            vec!["DATABASE_PGBOUNCER"],
        ),
    ];
    for (database_url, env, mut remove) in cases {
        remove.push("DATABASE_URL_DIRECT");
        let r = cli::run(
            env!("CARGO_BIN_EXE_nightshift"),
            &database_url,
            &["migrate"],
            &env,
            &remove,
        )
        .await;
        assert_eq!(r.code, 1, "{}", r.text());
        assert!(r.stderr.contains("DATABASE_URL_DIRECT"), "{}", r.stderr);
        assert_eq!(migrations_table(&url).await, None, "nothing was migrated");
    }
    drop_db(&pool, &name).await;
}
