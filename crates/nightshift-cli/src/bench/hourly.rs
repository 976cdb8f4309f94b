//! `nightshift bench hourly`: the hourly route end to end (auth, sweep, claim,
//! tasks, events, fenced finish) against two things measured in the same
//! round on the same data, so machine noise hits every side alike:
//! - the same tasks called bare: the ratio is the runtime's cost;
//! - the floor (issue 19): one read-only SQL pass over `bugs` computing what
//!   the hour's figures need per project (open, breached, medium risk,
//!   revenue at risk, resolutions over four weeks). The steady run over the
//!   floor is what the work costs against what it has to read.
//!
//! The first run after seeding works off the backlog; its time over the
//! steady run's median is the second ratio. `scripts/bench hourly` gives each
//! invocation a fresh copy of the seeded database, so the first run is a first.
//! Its own floor is the bare writes it must make (bench/write_floor.rs),
//! timed once after the rounds.

use std::time::{Duration, Instant};

use anyhow::Context;

use super::{BenchArgs, bare_context, ms, ratio, show};
use crate::pool_of;

pub async fn bench(args: &BenchArgs) -> anyhow::Result<()> {
    let (app, _, secret) = crate::run::local_app()?;
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

    // Warm the floor's pages once, as the route's rounds are warmed by the
    // first run, so neither side pays the disk alone.
    floor(&pool).await?;
    let first_floor = floor(&pool).await?;
    let started = Instant::now();
    end_to_end(&app, &secret).await?;
    let first = started.elapsed();
    println!(
        "first run (backlog): {:.0} ms   floor {:.1} ms",
        ms(first),
        ms(first_floor)
    );

    let mut rounds: Vec<[Duration; 3]> = Vec::new();
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
        let pass = floor(&pool).await?;
        println!(
            "  end-to-end {:>8.1} ms   bare {:>8.1} ms   floor {:>7.1} ms   ratio {:.3}   steady/floor {:.2}",
            ms(e2e),
            ms(bare),
            ms(pass),
            ratio(e2e, bare),
            ratio(e2e, pass)
        );
        rounds.push([e2e, bare, pass]);
    }
    let (writes, rows, rewritten) = super::write_floor::backlog_writes(&pool).await?;
    println!(
        "the first run's writes, bare: {rows} escalation rows and {rewritten} bug rewrites in {:.0} ms",
        ms(writes)
    );
    let col = |i: usize| -> Vec<f64> { rounds.iter().map(|r| ms(r[i])).collect() };
    let (e2e, bare, pass) = (col(0), col(1), col(2));
    let ratios: Vec<f64> = rounds.iter().map(|r| ratio(r[0], r[1])).collect();
    let over_floor: Vec<f64> = rounds.iter().map(|r| ratio(r[0], r[2])).collect();
    let first_over: Vec<f64> = rounds.iter().map(|r| ratio(first, r[0])).collect();
    let per_bug: Vec<f64> = e2e
        .iter()
        .map(|m| m * 1000.0 / bugs.max(1) as f64)
        .collect();
    println!("median end-to-end ms: {}", show(&e2e, 1));
    println!("median bare ms:       {}", show(&bare, 1));
    println!("median floor ms:      {}", show(&pass, 1));
    println!("RESULT hourly bugs={bugs} first_ms {:.0}", ms(first));
    println!("RESULT hourly bugs={bugs} ratio {}", show(&ratios, 3));
    println!(
        "RESULT hourly bugs={bugs} steady_over_floor {}",
        show(&over_floor, 2)
    );
    println!(
        "RESULT hourly bugs={bugs} first_over_steady {}",
        show(&first_over, 2)
    );
    println!("RESULT hourly bugs={bugs} writes_ms {:.0}", ms(writes));
    println!(
        "RESULT hourly bugs={bugs} first_over_writes {:.2}",
        ratio(first, writes)
    );
    let writes_over: Vec<f64> = rounds.iter().map(|r| ratio(writes, r[0])).collect();
    println!(
        "RESULT hourly bugs={bugs} writes_over_steady {}",
        show(&writes_over, 2)
    );
    println!("RESULT hourly bugs={bugs} us_per_bug {}", show(&per_bug, 2));
    Ok(())
}

/// The floor, timed: one read-only pass over `bugs` at the wall clock's now,
/// every bug read once and grouped per project. Deadlines and windows give
/// the risk bands as crates/nightshift-tasks/src/hourly/sla_risk.rs defines them.
async fn floor(pool: &sqlx::PgPool) -> anyhow::Result<Duration> {
    let t = Instant::now();
    sqlx::query_scalar!(
        r#"
        SELECT count(*) AS "groups!" FROM (
            SELECT project_id,
                   count(*) FILTER (WHERE open) AS open,
                   count(*) FILTER (WHERE open AND $1 >= sla_deadline) AS breached,
                   count(*) FILTER (WHERE open AND $1 < sla_deadline
                                      AND extract(epoch FROM sla_deadline - $1) * 10 >= sla_window_hours * 3600
                                      AND extract(epoch FROM sla_deadline - $1) * 4 < sla_window_hours * 3600) AS medium,
                   COALESCE(sum(revenue_impact_daily) FILTER (WHERE open), 0) AS revenue,
                   count(*) FILTER (WHERE resolved_at > $1 - interval '28 days' AND resolved_at <= $1) AS resolved_4w
              FROM (SELECT *, status IN ('open', 'in_progress') AS open FROM bugs) b
             GROUP BY project_id
        ) per_project
        "#,
        chrono::Utc::now()
    )
        .fetch_one(pool)
        .await
        .context("the floor pass")?;
    Ok(t.elapsed())
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
