//! `nightshift seed`: fills an empty database with a synthetic engineering
//! organisation (people, projects, bugs) for demos, load tests and the
//! dashboard's own tests.
//!
//! Everything runs in one transaction: a seed that fails half-way leaves the
//! database as empty as it found it, so it can simply be run again.

mod bugs;
mod copy;
mod org;
mod words;

use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, SubsecRound, Utc};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sqlx::PgConnection;

use bugs::BugGen;
use copy::{CopyStream, ts};
use org::Org;

#[derive(Args)]
pub struct SeedArgs {
    /// Projects to create.
    #[arg(long, default_value_t = 25)]
    projects: usize,
    /// Bugs to create, spread over the projects.
    #[arg(long, default_value_t = 2000)]
    bugs: u64,
    /// Random seed: the same seed and --now give identical rows.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// The instant the data is relative to (RFC 3339), e.g.
    /// 2026-11-24T12:00:00Z. Defaults to the current time.
    #[arg(long, value_parser = parse_now)]
    now: Option<DateTime<Utc>>,
    /// Also compute this many past days of project metrics (health scores)
    /// with the real `daily_metrics` task, so trends and the weekly report
    /// have a history to show. `scripts/dev` asks for 28.
    #[arg(long, default_value_t = 0)]
    history_days: u32,
}

fn parse_now(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{e}; expected RFC 3339, e.g. 2026-11-24T12:00:00Z"))
}

pub async fn seed(args: SeedArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.projects >= 1, "--projects must be at least 1");
    anyhow::ensure!(args.projects <= 1_000_000, "--projects is at most 1000000");
    let started = Instant::now();
    // Postgres keeps microseconds; dropping the rest keeps what we print and
    // what we store identical.
    let now = args.now.unwrap_or_else(Utc::now).trunc_subsecs(6);
    let pool = crate::connect().await?;
    let mut tx = pool.begin().await?;

    // Taken before the emptiness check, so two seeds started together run one
    // after the other and the second sees the first one's projects.
    sqlx::query!("LOCK TABLE users, projects, bugs IN EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    let existing: i64 = sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM projects"#)
        .fetch_one(&mut *tx)
        .await?;
    if existing > 0 {
        anyhow::bail!(
            "the database already has {existing} projects; seed fills an empty database only"
        );
    }
    // Users may exist without projects (added by hand): new ids go after
    // theirs. Projects are empty, and bugs cannot exist without projects, so
    // both start at 1.
    let user_base: i64 = sqlx::query_scalar!(r#"SELECT COALESCE(max(id), 0) AS "n!" FROM users"#)
        .fetch_one(&mut *tx)
        .await?;

    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let org = org::generate(&mut rng, now, args.projects, args.bugs, user_base);
    copy_org(&mut tx, &org).await?;

    // Each bug gets its risk band at the seed's clock as it is copied, as the
    // GitHub sync's bugs do (migrations/20261203000400_bands_at_write.sql).
    sqlx::query!("SELECT assess_new_bugs_at($1)", now)
        .execute(&mut *tx)
        .await?;
    let stats = copy_bugs(&mut tx, &org, &mut rng, now, args.bugs).await?;

    // Later inserts that let the database pick ids (`project add`, synced
    // bugs) must not collide with the ids chosen here.
    sqlx::query_scalar!(
        "SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users))"
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query_scalar!(
        "SELECT setval(pg_get_serial_sequence('projects', 'id'), (SELECT max(id) FROM projects))"
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query_scalar!(
        "SELECT setval(pg_get_serial_sequence('bugs', 'id'), GREATEST((SELECT max(id) FROM bugs), 1), \
         (SELECT max(id) FROM bugs) IS NOT NULL)"
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await.context("committing the seed")?;

    // Fresh statistics so the first queries after a bulk load get sane plans.
    sqlx::query!("ANALYZE users, projects, bugs")
        .execute(&pool)
        .await?;
    // The dashboard reads a table of derived rows
    // (migrations/20261203000301_dashboard_table.sql); without a refresh it
    // would show none of the new projects until its task next runs.
    sqlx::query_scalar!(r#"SELECT refresh_dashboard_projects($1) AS "n!""#, now)
        .fetch_one(&pool)
        .await
        .context("refreshing dashboard_projects")?;

    if args.history_days > 0 {
        history(&pool, now, args.history_days).await?;
    }

    println!(
        "seeded {} users ({} executive, {} directors, {} managers, {} engineers), {} projects \
         ({} linked to GitHub), {} bugs in {:.1}s",
        org.users.len(),
        org.count_role("executive"),
        org.count_role("director"),
        org.count_role("manager"),
        org.count_role("engineer"),
        org.projects.len(),
        org.projects
            .iter()
            .filter(|p| p.github_repo.is_some())
            .count(),
        args.bugs,
        started.elapsed().as_secs_f64(),
    );
    println!(
        "open or in progress: {} ({} past their SLA, {} critical without assignee); seed {}, now {}",
        stats.open,
        stats.past_sla,
        stats.unassigned_open_critical,
        args.seed,
        now.to_rfc3339(),
    );
    Ok(())
}

/// Runs `daily_metrics` for each past day, oldest first, as the daily route
/// would have (its trend term reads the row of 7 days before). Bug statuses
/// are today's, so the history shows SLA breaches accumulating, not a replay.
async fn history(pool: &sqlx::PgPool, now: DateTime<Utc>, days: u32) -> anyhow::Result<()> {
    use nightshift_core::{Task, TaskContext};
    use nightshift_tasks::daily::daily_metrics::DailyMetrics;
    let routes: std::sync::Arc<[nightshift_core::RouteSpec]> = nightshift_tasks::specs().into();
    for back in (0..days).rev() {
        let ctx = TaskContext::new(
            pool.clone(),
            now - chrono::Duration::days(i64::from(back)),
            "daily_sync",
            std::sync::Arc::new(nightshift_core::Config::default()),
            routes.clone(),
        )
        .with_budget(std::time::Duration::from_secs(600))
        .with_env(std::sync::Arc::new(nightshift_tasks::TasksConfig::default()));
        DailyMetrics
            .run(&ctx)
            .await
            .with_context(|| format!("project metrics of {back} day(s) ago"))?;
    }
    Ok(())
}

async fn copy_org(conn: &mut PgConnection, org: &Org) -> anyhow::Result<()> {
    let mut out = CopyStream::begin(
        conn,
        "COPY users (id, name, email, github_login, team, role, manager_id, created_at) FROM STDIN",
    )
    .await?;
    for u in &org.users {
        out.value(u.id)
            .text(&u.name)
            .text(&u.email)
            .text(&u.github_login)
            .opt_text(u.team.as_deref())
            .value(u.role)
            .opt_value(u.manager_id)
            .value(ts(u.created_at));
        out.end_row().await?;
    }
    out.finish().await.context("copying users")?;

    let mut out = CopyStream::begin(
        conn,
        "COPY projects (id, name, owner_id, github_repo, sync_enabled, confidential, status, \
         created_at) FROM STDIN",
    )
    .await?;
    for p in &org.projects {
        out.value(p.id)
            .text(&p.name)
            .value(p.owner_id)
            .opt_text(p.github_repo.as_deref())
            .value(false)
            .value(p.confidential)
            .value(p.status)
            .value(ts(p.created_at));
        out.end_row().await?;
    }
    out.finish().await.context("copying projects")?;
    Ok(())
}

async fn copy_bugs(
    conn: &mut PgConnection,
    org: &Org,
    rng: &mut ChaCha8Rng,
    now: DateTime<Utc>,
    total: u64,
) -> anyhow::Result<bugs::Stats> {
    let bar = ProgressBar::new(total).with_style(
        ProgressStyle::with_template("bugs {bar:40} {pos}/{len} {per_sec} eta {eta}")
            .expect("a valid template"),
    );
    // The followers, escalation_level and sla_risk defaults ('{}', 0, NULL)
    // are what a new bug has; leaving them out of the COPY keeps rows short.
    let mut out = CopyStream::begin(conn, bugs::COPY_BUGS).await?;
    let mut bug_gen = BugGen::new(org, now, total, 1);
    for i in 0..total {
        bug_gen.write(rng, i, &mut out);
        bar.inc(out.end_row().await?);
    }
    let copied = out.finish().await.context("copying bugs")?;
    bar.finish_and_clear();
    anyhow::ensure!(copied == total, "copied {copied} bugs, expected {total}");
    Ok(bug_gen.stats)
}
