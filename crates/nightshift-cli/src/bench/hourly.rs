//! `nightshift bench hourly`: the hourly route end to end (auth, sweep, claim,
//! tasks, events, fenced finish) against the same tasks called bare, one after
//! the other in each round on the same data, so the ratio is the runtime's
//! cost and machine noise hits both sides alike.

use std::time::{Duration, Instant};

use anyhow::Context;

use super::{BenchArgs, bare_context, ms, ratio, show};
use crate::pool_of;

pub async fn bench(args: &BenchArgs) -> anyhow::Result<()> {
    let (app, secret) = crate::run::local_app()?;
    let pool = pool_of(&app).await?;
    let bugs: i64 = sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM bugs"#)
        .fetch_one(&pool)
        .await?;
    let projects: i64 = sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM projects"#)
        .fetch_one(&pool)
        .await?;
    let route = app.route("hourly").context("no such route")?;
    println!(
        "hourly route: {projects} projects, {bugs} bugs, {} tasks, {} rounds",
        route.tasks.len(),
        args.rounds
    );

    // The first run after seeding works off the backlog (every breached bug
    // escalates once); the rounds measure the steady hourly state.
    let started = Instant::now();
    end_to_end(&app, &secret).await?;
    println!("first run (backlog): {:.0} ms", ms(started.elapsed()));

    let mut rounds: Vec<(Duration, Duration)> = Vec::new();
    for _ in 0..args.rounds {
        let t = Instant::now();
        end_to_end(&app, &secret).await?;
        let e2e = t.elapsed();
        let t = Instant::now();
        for task in &route.tasks {
            let ctx = bare_context(&app, &pool, "hourly");
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
    let ratios: Vec<f64> = rounds.iter().map(|(e, b)| ratio(*e, *b)).collect();
    let e2e: Vec<f64> = rounds.iter().map(|r| ms(r.0)).collect();
    let bare: Vec<f64> = rounds.iter().map(|r| ms(r.1)).collect();
    let per_bug: Vec<f64> = e2e
        .iter()
        .map(|m| m * 1000.0 / bugs.max(1) as f64)
        .collect();
    println!("median end-to-end ms: {}", show(&e2e, 1));
    println!("median bare ms:       {}", show(&bare, 1));
    println!("RESULT hourly bugs={bugs} ratio {}", show(&ratios, 3));
    println!("RESULT hourly bugs={bugs} us_per_bug {}", show(&per_bug, 2));
    Ok(())
}

async fn end_to_end(
    app: &std::sync::Arc<nightshift_core::App>,
    secret: &str,
) -> anyhow::Result<()> {
    let (status, body) = crate::run::call(app, secret, "hourly", "force=true").await?;
    anyhow::ensure!(
        body["outcome"] == "completed",
        "route answered {status}: {body}"
    );
    Ok(())
}
