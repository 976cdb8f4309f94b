//! `nightshift bench hourly`: the hourly route end to end (auth, sweep, claim,
//! tasks, events, fenced finish) against the same tasks called bare, one after
//! the other in each round on the same data, so the ratio is the runtime's
//! cost and machine noise hits both sides alike.

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use nightshift_core::TaskContext;
use uuid::Uuid;

#[derive(Args)]
pub struct BenchArgs {
    /// Which part to measure.
    #[arg(value_parser = ["hourly"])]
    part: String,
    /// Measured rounds after one warm-up run.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
}

pub async fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let (app, secret) = crate::run::local_app()?;
    let pool = app
        .db
        .ready()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .clone();
    let bugs: i64 = sqlx::query_scalar("SELECT count(*) FROM bugs")
        .fetch_one(&pool)
        .await?;
    let projects: i64 = sqlx::query_scalar("SELECT count(*) FROM projects")
        .fetch_one(&pool)
        .await?;
    let route = app.route(&args.part).context("no such route")?;
    println!(
        "{} route: {projects} projects, {bugs} bugs, {} tasks, {} rounds",
        args.part,
        route.tasks.len(),
        args.rounds
    );

    // The first run after seeding works off the backlog (every breached bug
    // escalates once); the rounds measure the steady hourly state.
    let started = Instant::now();
    end_to_end(&app, &secret, &args.part).await?;
    println!("first run (backlog): {:.0} ms", ms(started.elapsed()));

    let mut rounds = Vec::new();
    for _ in 0..args.rounds {
        let t = Instant::now();
        end_to_end(&app, &secret, &args.part).await?;
        let e2e = t.elapsed();
        let t = Instant::now();
        for task in &route.tasks {
            let ctx = TaskContext {
                pool: pool.clone(),
                now: chrono::Utc::now(),
                deadline: tokio::time::Instant::now() + Duration::from_secs(3600),
                run_id: Uuid::new_v4(),
                job_type: route.spec.job_type,
                cfg: app.cfg.clone(),
                routes: app.specs(),
                http: app.http.clone(),
                worker: false,
            };
            task.run(&ctx)
                .await
                .with_context(|| format!("bare {}", task.name()))?;
        }
        let bare = t.elapsed();
        println!(
            "  end-to-end {:>8.1} ms   bare {:>8.1} ms   ratio {:.3}",
            ms(e2e),
            ms(bare),
            ratio(e2e, bare)
        );
        rounds.push((e2e, bare));
    }
    let mut ratios: Vec<f64> = rounds.iter().map(|(e, b)| ratio(*e, *b)).collect();
    ratios.sort_by(f64::total_cmp);
    let mut e2e: Vec<Duration> = rounds.iter().map(|r| r.0).collect();
    e2e.sort();
    let mut bare: Vec<Duration> = rounds.iter().map(|r| r.1).collect();
    bare.sort();
    let mid = rounds.len() / 2;
    println!(
        "median: end-to-end {:.1} ms, bare {:.1} ms, ratio {:.3} (spread {:.3}-{:.3}), {:.2} µs per bug end to end",
        ms(e2e[mid]),
        ms(bare[mid]),
        ratios[mid],
        ratios[0],
        ratios[ratios.len() - 1],
        ms(e2e[mid]) * 1000.0 / bugs.max(1) as f64,
    );
    Ok(())
}

async fn end_to_end(
    app: &std::sync::Arc<nightshift_core::App>,
    secret: &str,
    route: &str,
) -> anyhow::Result<()> {
    let (status, body) = crate::run::call(app, secret, route, "force=true").await?;
    anyhow::ensure!(
        body["outcome"] == "completed",
        "route answered {status}: {body}"
    );
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}
