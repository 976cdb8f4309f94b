//! The demo as a new team meets it: `nightshift seed`, then the first hourly
//! run through the built binary. Everyone hears once (a backlog summary, and
//! the critical alerts of the projects they own), not once per bug and level.

use nightshift_testkit::cli;
use nightshift_testkit::db::{drop_db, scratch_db, url_of};
use sqlx::PgPool;

async fn nightshift(url: &str, args: &[&str]) {
    let secret = ("CRON_SECRET", "first-run-test-secret-0123456789abcdef");
    let r = cli::run(env!("CARGO_BIN_EXE_nightshift"), url, args, &[secret], &[]).await;
    assert_eq!(r.code, 0, "nightshift {args:?}: {}", r.text());
}

#[sqlx::test(migrations = false)]
async fn the_demos_first_hourly_run_writes_one_email_per_person(pool: PgPool) {
    let name = scratch_db(&pool, "first_run").await;
    let url = url_of(&name);
    nightshift(&url, &["migrate"]).await;
    nightshift(&url, &["seed"]).await;
    nightshift(&url, &["run", "hourly"]).await;
    let db = PgPool::connect(&url).await.unwrap();
    let (people, emails, per_person_max, escalations, backlog, per_bug): (
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
    ) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM users),
                (SELECT count(*) FROM notifications WHERE channel = 'email'),
                (SELECT COALESCE(max(n), 0) FROM (SELECT count(*) AS n FROM notifications
                  GROUP BY lower(recipient)) x),
                (SELECT count(*) FROM escalations),
                (SELECT count(*) FROM notices WHERE kind = 'backlog'),
                (SELECT count(*) FROM notices WHERE kind = 'escalation')",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert!(
        escalations > 1000,
        "the backlog is escalated: {escalations}"
    );
    assert_eq!(per_bug, 0, "no message per bug on the first run");
    assert!(backlog > 0);
    assert!(emails <= people, "{emails} e-mails for {people} people");
    assert_eq!(per_person_max, 1);

    // The next run (forced: same hour) finds nothing new to tell.
    nightshift(&url, &["run", "hourly", "--force"]).await;
    let again: i64 = sqlx::query_scalar("SELECT count(*) FROM notifications")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(again, emails);
    db.close().await;
    drop_db(&pool, &name).await;
}
