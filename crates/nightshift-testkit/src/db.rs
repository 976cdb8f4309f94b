//! Database helpers for tests that hand a database to another process (a
//! route binary, the CLI): the URL of the test's own database.

use sqlx::PgPool;

/// The server of `DATABASE_URL` with database `db` on it.
pub fn url_of(db: &str) -> String {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let (server, _) = base
        .rsplit_once('/')
        .expect("DATABASE_URL ends in /database");
    format!("{server}/{db}")
}

/// The URL of the database `#[sqlx::test]` made for this test.
pub async fn database_url(pool: &PgPool) -> String {
    let db: String = sqlx::query_scalar!(r#"SELECT current_database() AS "db!""#)
        .fetch_one(pool)
        .await
        .expect("current_database()");
    url_of(&db)
}

/// An empty database next to the test's own, named after it (so parallel
/// tests never share one) plus `tag`; any leftover of a test that died is
/// dropped first. Returns its name; the caller migrates it its own way.
pub async fn scratch_db(pool: &PgPool, tag: &str) -> String {
    let own: String = sqlx::query_scalar!(r#"SELECT current_database() AS "db!""#)
        .fetch_one(pool)
        .await
        .expect("current_database()");
    // Test database names use all 63 characters Postgres allows: shorten.
    let name = format!("_{tag}_{}", own[11..35].to_lowercase());
    drop_db(pool, &name).await;
    // Runtime SQL: a database name cannot be a bound parameter.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(pool)
        .await
        .expect("CREATE DATABASE");
    name
}

pub async fn drop_db(pool: &PgPool, name: &str) {
    // Runtime SQL: a database name cannot be a bound parameter.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .execute(pool)
    .await
    .expect("DROP DATABASE");
}
