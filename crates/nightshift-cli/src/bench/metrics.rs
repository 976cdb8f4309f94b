//! `nightshift bench metrics`: one scrape of `GET /api/metrics` (its
//! statements and the text, nightshift_status::metrics::{collect, render})
//! against the floor, a bare `SELECT count(*) FROM job_history`, in the same
//! round on the same data. `scripts/bench metrics` seeds 200k bugs; the
//! history is planted here up to `--history` runs (a run every five minutes
//! back from now, three jobs in turn, each run its own slot, one failure in twenty, each with its eleven
//! task results and task events), plus sent and waiting outbox rows, so the
//! scrape reads a ledger of a deployment's years.

use std::time::{Duration, Instant};

use super::{BenchArgs, ms, ratio, show};
use crate::pool_of;

pub async fn bench(args: &BenchArgs) -> anyhow::Result<()> {
    let (app, _, _) = crate::run::local_app()?;
    let pool = pool_of(&app).await?;
    plant(&pool, args.history).await?;
    let (bugs, runs, events): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM bugs), (SELECT count(*) FROM job_history),
                (SELECT count(*) FROM sync_events)",
    )
    .fetch_one(&pool)
    .await?;
    let specs = app.specs();
    println!(
        "metrics: {bugs} bugs, {runs} job_history rows, {events} sync_events rows, {} rounds",
        args.rounds
    );
    // Warm both sides once.
    let scrape = || async {
        let t = Instant::now();
        let facts = nightshift_status::metrics::collect(&pool, &specs, chrono::Utc::now()).await?;
        let text = nightshift_status::metrics::render(&facts, &specs, chrono::Utc::now());
        anyhow::Ok((
            t.elapsed(),
            text.lines().filter(|l| !l.starts_with('#')).count(),
        ))
    };
    let floor = || async {
        let t = Instant::now();
        let _: i64 = sqlx::query_scalar("SELECT count(*) FROM job_history")
            .fetch_one(&pool)
            .await?;
        anyhow::Ok(t.elapsed())
    };
    let (_, samples) = scrape().await?;
    floor().await?;
    let mut rounds: Vec<(Duration, Duration)> = Vec::new();
    for _ in 0..args.rounds {
        let (s, _) = scrape().await?;
        let f = floor().await?;
        rounds.push((s, f));
    }
    let scrape_ms: Vec<f64> = rounds.iter().map(|r| ms(r.0)).collect();
    let floor_ms: Vec<f64> = rounds.iter().map(|r| ms(r.1)).collect();
    let ratios: Vec<f64> = rounds.iter().map(|r| ratio(r.0, r.1)).collect();
    println!("RESULT metrics runs={runs} samples {samples}");
    println!(
        "RESULT metrics runs={runs} scrape_ms {}",
        show(&scrape_ms, 1)
    );
    println!("RESULT metrics runs={runs} floor_ms {}", show(&floor_ms, 1));
    println!(
        "RESULT metrics runs={runs} scrape_over_floor {}",
        show(&ratios, 2)
    );
    Ok(())
}

/// Runs up to `history` rows in all, and their events; nothing when there are.
async fn plant(pool: &sqlx::PgPool, history: i64) -> anyhow::Result<()> {
    let have: i64 = sqlx::query_scalar("SELECT count(*) FROM job_history")
        .fetch_one(pool)
        .await?;
    let n = history - have;
    if n <= 0 {
        return Ok(());
    }
    let t = Instant::now();
    let mut tx = pool.begin().await?;
    sqlx::query(
        "CREATE TEMP TABLE planted ON COMMIT DROP AS
         SELECT gen_random_uuid() AS id, i,
                (ARRAY['hourly_metrics', 'daily_sync', 'weekly_report'])[1 + i % 3] AS job_type,
                date_trunc('minute', now()) - i * interval '5 minutes' AS started_at,
                CASE WHEN i % 20 = 7 THEN 'failed' ELSE 'completed' END AS status,
                200 + (i * 7919) % 5000 AS ms
           FROM generate_series(1, $1::int8) AS i",
    )
    .bind(n)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO job_history (id, job_type, route, slot, status, trigger, attempt, max_attempts,
                                  started_at, completed_at, execution_time_ms, error_message, result)
         SELECT id, job_type, '/api/cron/' || split_part(job_type, '_', 1),
                started_at, status, 'cron', 1, 3, started_at,
                started_at + ms * interval '1 ms', ms,
                CASE WHEN status = 'failed' THEN 'task_3: upstream answered 502' END,
                jsonb_build_object('more_work', false, 'follow_up', NULL, 'tasks',
                  (SELECT jsonb_agg(jsonb_build_object(
                            'name', 'task_' || k, 'status',
                            CASE WHEN status = 'failed' AND k = 3 THEN 'failed' ELSE 'success' END,
                            'duration_ms', ms / 11, 'attempts', 1, 'records_processed', k * 10,
                            'records_failed', 0, 'more_work', false, 'details', '{}'::jsonb))
                     FROM generate_series(1, 11) AS k))
           FROM planted",
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO sync_events (job_id, event_type, source, status, message, duration_ms,
                                  records_processed, created_at)
         SELECT id, 'task', 'task_' || k, 'success', k * 10 || ' records processed', ms / 11,
                k * 10, started_at + ms * interval '1 ms'
           FROM planted, generate_series(1, 11) AS k",
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO notifications (kind, recipient, channel, subject, body, dedupe_key, status,
                                    attempts, next_attempt_at, created_at, sent_at)
         SELECT 'digest', 'p' || i || '@example.com', 'email', 's', 'b', 'bench:' || i,
                CASE WHEN i % 1000 = 0 THEN 'pending' ELSE 'sent' END, 1, now(),
                now() - i * interval '1 minute',
                CASE WHEN i % 1000 = 0 THEN NULL ELSE now() - i * interval '1 minute' END
           FROM generate_series(1, $1::int8 / 2) AS i
         ON CONFLICT DO NOTHING",
    )
    .bind(n)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    sqlx::query("VACUUM ANALYZE job_history")
        .execute(pool)
        .await?;
    sqlx::query("VACUUM ANALYZE sync_events")
        .execute(pool)
        .await?;
    sqlx::query("VACUUM ANALYZE notifications")
        .execute(pool)
        .await?;
    println!(
        "planted {n} runs with 11 task events each in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
