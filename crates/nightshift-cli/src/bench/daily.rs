//! `nightshift bench daily`: the GitHub sync against a fake GitHub on loopback
//! (nightshift-testkit's Replay serving its synthetic issues: Link pagination,
//! per-page ETags, a fixed latency on every response).
//!
//! * concurrency: `?tasks=github_sync` with the default GITHUB_CONCURRENCY
//!   against the same call with GITHUB_CONCURRENCY=1 (the same client, one
//!   repository at a time), each round on a fresh sync state;
//! * a second run over unchanged data: requests, 200s and 304s;
//! * the work queue: Q small repositories drained by W concurrent
//!   `?worker=true` invocations (each its own App and pool, like separate
//!   platform invocations) against one invocation.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use nightshift_core::{App, Config};
use nightshift_tasks::TasksConfig;
use nightshift_testkit::{Replay, synthetic_issues};
use serde_json::Value;

use super::{BenchArgs, ms, show};
use crate::pool_of;

const QUEUE_ISSUES: usize = 5;

pub async fn bench(args: &BenchArgs) -> anyhow::Result<()> {
    let (base, base_env, secret) = crate::run::local_app()?;
    let pool = pool_of(&base).await?;
    // No recordings: only the synthetic repositories are served.
    let empty = Path::new("target/bench/no-fixtures");
    std::fs::create_dir_all(empty)?;
    let replay = Replay::start_from(empty).await;
    add_repos(&replay, "bench", args.repos, args.issues, args.latency_ms);
    let cfg = |concurrency: Option<usize>| {
        let mut c: Config = (*base.cfg).clone();
        c.job_budget = Some(Duration::from_secs(3000));
        let mut env: TasksConfig = (*base_env).clone();
        env.github_api_url = replay.url();
        if let Some(n) = concurrency {
            env.github_concurrency = n;
        }
        (c, env)
    };
    let default_concurrency = cfg(None).1.github_concurrency;
    println!(
        "daily: {} repositories x {} issues, {} ms per response, GITHUB_CONCURRENCY {} vs 1, {} rounds",
        args.repos, args.issues, args.latency_ms, default_concurrency, args.rounds
    );

    let expected = (args.repos * args.issues) as i64;
    let (mut conc, mut seq, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..args.rounds {
        reset(&pool, "bench", args.repos).await?;
        let c = sync_once(cfg(None), &secret, "tasks=github_sync").await?;
        ensure_synced(&pool, expected).await?;
        let first_requests = replay.requests().len();
        replay.clear_requests();
        reset(&pool, "bench", args.repos).await?;
        let s = sync_once(cfg(Some(1)), &secret, "tasks=github_sync").await?;
        ensure_synced(&pool, expected).await?;
        replay.clear_requests();
        println!(
            "  round {round}: concurrent {:.0} ms, sequential {:.0} ms, ratio {:.2} ({first_requests} requests per run)",
            ms(c),
            ms(s),
            s.as_secs_f64() / c.as_secs_f64()
        );
        conc.push(ms(c));
        seq.push(ms(s));
        ratios.push(s.as_secs_f64() / c.as_secs_f64());
    }
    println!("RESULT daily concurrent_ms {}", show(&conc, 0));
    println!("RESULT daily sequential_ms {}", show(&seq, 0));
    println!("RESULT daily speedup {}", show(&ratios, 2));

    // The state left by the last round is a complete sync: run again.
    replay.clear_requests();
    let again = sync_once(cfg(None), &secret, "tasks=github_sync").await?;
    let seen = replay.requests();
    let ok = seen.iter().filter(|r| r.status == 200).count();
    let not_modified = seen.iter().filter(|r| r.status == 304).count();
    println!(
        "RESULT daily second_run requests={} status_200={ok} status_304={not_modified} ms={:.0}",
        seen.len(),
        ms(again)
    );

    if args.queue_repos > 0 {
        queue(args, &replay, &pool, &cfg(None), &secret).await?;
    }
    drop_state(&pool).await
}

async fn queue(
    args: &BenchArgs,
    replay: &Replay,
    pool: &sqlx::PgPool,
    cfg: &(Config, TasksConfig),
    secret: &str,
) -> anyhow::Result<()> {
    let (q, w) = (args.queue_repos, args.workers.max(1));
    add_repos(replay, "queue", q, QUEUE_ISSUES, args.latency_ms);
    println!(
        "queue: {q} repositories x {QUEUE_ISSUES} issues, {w} concurrent ?worker=true invocations vs 1"
    );
    let rounds = args.rounds.min(3);
    let (mut one, mut many, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let mut times = [Duration::ZERO; 2];
        for (i, n) in [1, w].into_iter().enumerate() {
            reset(pool, "queue", q).await?;
            enqueue(pool).await?;
            replay.clear_requests();
            let started = Instant::now();
            let calls: Vec<_> = (0..n)
                .map(|_| {
                    let (cfg, secret) = (cfg.clone(), secret.to_owned());
                    tokio::spawn(async move { sync_once(cfg, &secret, "worker=true").await })
                })
                .collect();
            for c in calls {
                c.await??;
            }
            times[i] = started.elapsed();
            ensure_synced(pool, (q * QUEUE_ISSUES) as i64).await?;
            let done: i64 = sqlx::query_scalar!(
                r#"SELECT count(*) AS "n!" FROM work_queue WHERE kind = 'github_sync' AND status = 'done'"#
            )
            .fetch_one(pool)
            .await?;
            let twice = replay.fetched_twice().len();
            anyhow::ensure!(twice == 0, "{twice} pages fetched twice by {n} invocations");
            anyhow::ensure!(done == q as i64, "{done} items done for {q} repositories");
        }
        let r = times[0].as_secs_f64() / times[1].as_secs_f64();
        println!(
            "  round {round}: 1 invocation {:.0} ms, {w} invocations {:.0} ms, ratio {r:.2}",
            ms(times[0]),
            ms(times[1])
        );
        one.push(ms(times[0]));
        many.push(ms(times[1]));
        ratios.push(r);
    }
    println!("RESULT queue repos={q} one_invocation_ms {}", show(&one, 0));
    println!("RESULT queue repos={q} workers={w}_ms {}", show(&many, 0));
    println!("RESULT queue repos={q} speedup {}", show(&ratios, 2));
    Ok(())
}

fn add_repos(replay: &Replay, owner: &str, n: usize, issues: usize, latency_ms: u64) {
    let id0 = if owner == "queue" { 1_000_000 } else { 1_000 };
    for r in 0..n {
        let repo = format!("{owner}/repo-{r}");
        for (path, page, canned) in
            synthetic_issues(&repo, id0 + r as u64, issues, 100, &replay.url())
        {
            replay.add(&path, Some(page), canned.delay(latency_ms));
        }
    }
}

/// One route call on an App of its own (own pool, own HTTP client), timed.
async fn sync_once(
    (cfg, env): (Config, TasksConfig),
    secret: &str,
    query: &str,
) -> anyhow::Result<Duration> {
    let routes = nightshift_tasks::routes(Arc::new(env));
    let app = Arc::new(App::new(cfg, routes).map_err(|e| anyhow::anyhow!(e.detail()))?);
    let started = Instant::now();
    let (status, body) = crate::run::call(&app, secret, "daily", query).await?;
    let took = started.elapsed();
    // A worker may end while the others still hold items (more_work: true);
    // the caller checks the queue is empty once all of them are back.
    let worker = query.contains("worker=true");
    anyhow::ensure!(
        body["outcome"] == "completed" && (worker || body["more_work"] == Value::Bool(false)),
        "daily?{query} answered {status}: {body}"
    );
    Ok(took)
}

async fn ensure_synced(pool: &sqlx::PgPool, expected: i64) -> anyhow::Result<()> {
    let n: i64 = sqlx::query_scalar!(
        r#"SELECT (SELECT count(*) FROM bugs) + (SELECT count(*) FROM pull_requests) AS "n!""#
    )
    .fetch_one(pool)
    .await?;
    anyhow::ensure!(n == expected, "{n} items stored, {expected} expected");
    Ok(())
}

/// A fresh sync state: `n` sync-enabled projects named `{owner}/repo-{i}`.
async fn reset(pool: &sqlx::PgPool, owner: &str, n: usize) -> anyhow::Result<()> {
    drop_state(pool).await?;
    sqlx::query!(
        "INSERT INTO projects (name, github_repo, sync_enabled)
         SELECT $1 || ' ' || g, $1 || '/repo-' || g, true FROM generate_series(0, $2 - 1) g",
        owner,
        n as i64,
    )
    .execute(pool)
    .await
    .context("inserting projects")?;
    Ok(())
}

async fn drop_state(pool: &sqlx::PgPool) -> anyhow::Result<()> {
    sqlx::query!(
        "TRUNCATE work_queue, github_sync_cursors, bugs, pull_requests, projects,
                  job_history, sync_events RESTART IDENTITY CASCADE"
    )
    .execute(pool)
    .await
    .context("resetting the sync state")?;
    Ok(())
}

/// What the scheduled run would enqueue, so the invocations only drain.
async fn enqueue(pool: &sqlx::PgPool) -> anyhow::Result<()> {
    sqlx::query!(
        "INSERT INTO work_queue (kind, project_id, status, enqueued_at)
         SELECT 'github_sync', id, 'pending', now() FROM projects"
    )
    .execute(pool)
    .await?;
    Ok(())
}
