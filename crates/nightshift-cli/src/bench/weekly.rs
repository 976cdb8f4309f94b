//! `nightshift bench weekly`:
//!
//! * the CTO report: `nightshift_mail::report::render` (HTML, text, PNG
//!   charts) on the sample week, round after round: time and sizes;
//! * archival: N sync_events inserted with generate_series, then the
//!   `archive` task (production settings: keep the newest 10 000, batches of
//!   1 000) called bare until the ledger is trimmed: rows per second, and the
//!   longest any batch held its locks (`slowest_batch_ms`).

use std::time::Instant;

use anyhow::Context;
use nightshift_core::Task;
use nightshift_tasks::weekly::archive::Archive;

use super::{BenchArgs, bare_context, ms, show};
use crate::pool_of;

pub async fn bench(args: &BenchArgs) -> anyhow::Result<()> {
    render(args)?;
    archive(args).await
}

fn render(args: &BenchArgs) -> anyhow::Result<()> {
    let data = nightshift_mail::report::sample(chrono::Utc::now());
    // Warm-up: fonts parsed, allocator grown.
    nightshift_mail::render(&data)?;
    let rounds = args.rounds.max(1) * 4;
    let (mut times, mut html, mut png, mut text, mut charts) = (Vec::new(), 0, 0, 0, 0);
    for _ in 0..rounds {
        let t = Instant::now();
        let r = nightshift_mail::render(&data).context("rendering the sample report")?;
        times.push(ms(t.elapsed()));
        html = r.html.len();
        text = r.text.len();
        charts = r.images.len();
        png = r.images.iter().map(|i| i.data.len()).sum();
    }
    println!("weekly report (sample data), {rounds} renders");
    println!("RESULT weekly render_ms {}", show(&times, 1));
    println!(
        "RESULT weekly report_bytes html={html} text={text} png={png} ({charts} charts) total={}",
        html + text + png
    );
    Ok(())
}

async fn archive(args: &BenchArgs) -> anyhow::Result<()> {
    let (app, env, _secret) = crate::run::local_app()?;
    let pool = pool_of(&app).await?;
    let n = args.sync_events;
    let task = Archive::default();
    let rounds = args.rounds.clamp(1, 3);
    println!(
        "archive: {n} sync_events, keep {}, batches of {}, {rounds} rounds",
        task.keep_events, task.batch_size
    );
    let (mut rates, mut slowest, mut secs) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        sqlx::query!("TRUNCATE sync_events, sync_events_archive")
            .execute(&pool)
            .await?;
        let t = Instant::now();
        sqlx::query!(
            "INSERT INTO sync_events (job_id, event_type, source, status, message, details,
                                      duration_ms, records_processed, created_at)
             SELECT gen_random_uuid(), 'task', 'bench', 'success', 'bench event ' || g,
                    jsonb_build_object('n', g), g % 1000, g % 100,
                    now() - make_interval(secs => $1::int8 - g)
               FROM generate_series(1, $1::int8) g",
            n,
        )
        .execute(&pool)
        .await
        .context("generating sync_events")?;
        sqlx::query!("VACUUM ANALYZE sync_events")
            .execute(&pool)
            .await?;
        let inserted = t.elapsed();

        let t = Instant::now();
        let (mut moved, mut worst, mut runs) = (0i64, 0u64, 0);
        loop {
            let report = task
                .run(&bare_context(&app, &pool, "weekly").with_env(env.clone()))
                .await?;
            moved += report.details["sync_events_archived"].as_i64().unwrap_or(0);
            worst = worst.max(report.details["slowest_batch_ms"].as_u64().unwrap_or(0));
            runs += 1;
            if !report.more_work {
                break;
            }
        }
        let took = t.elapsed();
        let left: i64 = sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM sync_events"#)
            .fetch_one(&pool)
            .await?;
        anyhow::ensure!(
            moved == n - task.keep_events && left == task.keep_events,
            "archived {moved}, {left} left"
        );
        let rate = moved as f64 / took.as_secs_f64();
        println!(
            "  round {round}: insert {:.1} s, archived {moved} rows in {:.1} s ({runs} run): {rate:.0} rows/s, slowest batch {worst} ms",
            inserted.as_secs_f64(),
            took.as_secs_f64()
        );
        rates.push(rate);
        slowest.push(worst as f64);
        secs.push(took.as_secs_f64());
    }
    println!("RESULT archive rows={n} seconds {}", show(&secs, 1));
    println!("RESULT archive rows_per_s {}", show(&rates, 0));
    println!("RESULT archive slowest_batch_ms {}", show(&slowest, 0));
    sqlx::query!("TRUNCATE sync_events, sync_events_archive")
        .execute(&pool)
        .await?;
    Ok(())
}
