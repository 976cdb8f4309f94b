//! Issue 19: the hourly tasks touch only what changed (bugs whose risk band
//! or escalation level fell due, and bugs written since), and their results
//! stay those of a full recomputation. Two copies of the same seeded
//! organisation (`nightshift seed`, the built binary) go through the same
//! logical hours and the same edits between them; copy B is told before every
//! hour that each open bug must be re-assessed (`risk_next_at` = -infinity,
//! what a full pass reads), copy A is not. Every table the tasks write must
//! match after every hour, and no escalation the full rule would find may be
//! left over in A.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use nightshift_core::{Config, Task, TaskContext};
use nightshift_tasks::TasksConfig;
use nightshift_tasks::delivery::ComposeDigests;
use nightshift_tasks::hourly::{
    alerts::Alerts, escalations::Escalations, refresh_dashboard::RefreshDashboard,
    revenue_at_risk::RevenueAtRisk, sla_risk::SlaRisk, velocity::Velocity, workload::Workload,
};
use nightshift_testkit::cli;
use nightshift_testkit::db::{drop_db, scratch_db, url_of};
use sqlx::PgPool;
use uuid::Uuid;

const NOW: &str = "2026-11-24T12:00:00Z";

async fn nightshift(url: &str, args: &[&str]) {
    let r = cli::run(env!("CARGO_BIN_EXE_nightshift"), url, args, &[], &[]).await;
    assert_eq!(r.code, 0, "nightshift {args:?}: {}", r.text());
}

async fn seeded(pool: &PgPool, tag: &str) -> (String, PgPool) {
    let name = scratch_db(pool, tag).await;
    let url = url_of(&name);
    nightshift(&url, &["migrate"]).await;
    let seed = [
        "seed",
        "--projects",
        "12",
        "--bugs",
        "3000",
        "--seed",
        "5",
        "--now",
        NOW,
    ];
    nightshift(&url, &seed).await;
    (name, PgPool::connect(&url).await.unwrap())
}

fn ctx(pool: &PgPool, now: DateTime<Utc>, run_id: Uuid) -> TaskContext<TasksConfig> {
    TaskContext {
        run_id,
        ..TaskContext::new(
            pool.clone(),
            now,
            "hourly_metrics",
            Arc::new(Config::default()),
            nightshift_tasks::specs().into(),
        )
        .with_budget(Duration::from_secs(600))
        .with_env(Arc::default())
    }
}

/// The same edits on both copies: a few bugs resolved, reopened,
/// re-graded, given their own SLA window, another assignee, another revenue
/// and blocker flag, or only a new title (counted by no total), as people
/// and the GitHub sync would between two runs.
const EDITS: &str = "
WITH r AS (UPDATE bugs SET status = 'resolved', resolved_at = $1, updated_at = $1
            WHERE id % 89 = $2 AND status = 'open' RETURNING 1),
     o AS (UPDATE bugs SET status = 'open', resolved_at = NULL, updated_at = $1
            WHERE id % 97 = $2 AND status IN ('resolved', 'closed') RETURNING 1),
     s AS (UPDATE bugs SET severity = CASE severity WHEN 'low' THEN 'critical' ELSE 'low' END,
                           updated_at = $1
            WHERE id % 101 = $2 AND status IN ('open', 'in_progress') RETURNING 1),
     w AS (UPDATE bugs SET sla_hours = 2 + $2, updated_at = $1
            WHERE id % 103 = $2 AND status IN ('open', 'in_progress') RETURNING 1),
     a AS (UPDATE bugs SET assignee_id = NULL, updated_at = $1
            WHERE id % 107 = $2 AND status IN ('open', 'in_progress') RETURNING 1),
     v AS (UPDATE bugs SET revenue_impact_daily = revenue_impact_daily + 250, is_blocker = NOT is_blocker,
                           updated_at = $1
            WHERE id % 109 = $2 AND status IN ('open', 'in_progress') RETURNING 1),
     t AS (UPDATE bugs SET title = title || ' (edited)', updated_at = $1
            WHERE id % 113 = $2 RETURNING 1)
SELECT (SELECT count(*) FROM r) + (SELECT count(*) FROM o) + (SELECT count(*) FROM s)
     + (SELECT count(*) FROM w) + (SELECT count(*) FROM a) + (SELECT count(*) FROM v)
     + (SELECT count(*) FROM t)";

/// What the hourly tasks wrote, table by table, without what differs by
/// construction (surrogate ids, the stored instants themselves).
const FINGERPRINTS: &[(&str, &str)] = &[
    (
        "bugs",
        "SELECT md5(string_agg((to_jsonb(b) - 'risk_next_at')::text, E'\\n' ORDER BY id)) FROM bugs b",
    ),
    (
        "escalations",
        "SELECT md5(string_agg((to_jsonb(e) - 'id')::text, E'\\n' ORDER BY bug_id, level)) FROM escalations e",
    ),
    (
        "notices",
        "SELECT md5(string_agg((to_jsonb(n) - 'id' - 'notification_id')::text, E'\\n' ORDER BY dedupe_key)) FROM notices n",
    ),
    (
        "notifications",
        "SELECT md5(string_agg((to_jsonb(n) - 'id')::text, E'\\n' ORDER BY dedupe_key)) FROM notifications n",
    ),
    (
        "hourly_snapshots",
        // B's digests of inputs are cleared before every hour (it rebuilds).
        "SELECT md5(string_agg((to_jsonb(s) - 'inputs')::text, E'\\n' ORDER BY hour, kind)) FROM hourly_snapshots s",
    ),
    (
        "alerts",
        "SELECT md5(string_agg((to_jsonb(a) - 'id')::text, E'\\n' ORDER BY dedupe_key, raised_at)) FROM alerts a",
    ),
    (
        "dashboard_projects",
        "SELECT md5(string_agg(to_jsonb(d)::text, E'\\n' ORDER BY project_id)) FROM dashboard_projects d",
    ),
    (
        "projects",
        "SELECT md5(string_agg(to_jsonb(p)::text, E'\\n' ORDER BY id)) FROM projects p",
    ),
];

/// The totals the triggers keep, against the same totals summed afresh.
const TOTALS_KEPT: &str = "
SELECT md5(string_agg(concat_ws(',', project_id, assignee_id, open_bugs, critical_bugs, breached_bugs,
                                blockers, revenue::numeric(14, 2), blocker_revenue::numeric(14, 2),
                                revenue_bugs, load), E'\n' ORDER BY project_id, assignee_id))
  FROM open_bug_totals WHERE open_bugs > 0";
const TOTALS_NOW: &str = "
SELECT md5(string_agg(concat_ws(',', project_id, assignee_id, open_bugs, critical_bugs, breached_bugs,
                                blockers, revenue::numeric(14, 2), blocker_revenue::numeric(14, 2),
                                revenue_bugs, load), E'\n' ORDER BY project_id, assignee_id))
  FROM (SELECT project_id, assignee_id, count(*) AS open_bugs,
               count(*) FILTER (WHERE severity = 'critical') AS critical_bugs,
               count(*) FILTER (WHERE sla_risk = 'breached') AS breached_bugs,
               count(*) FILTER (WHERE is_blocker) AS blockers,
               sum(revenue_impact_daily) AS revenue,
               COALESCE(sum(revenue_impact_daily) FILTER (WHERE is_blocker), 0) AS blocker_revenue,
               count(*) FILTER (WHERE revenue_impact_daily > 0) AS revenue_bugs,
               sum(bug_weight(severity, is_blocker)) AS load
          FROM bugs WHERE status IN ('open', 'in_progress') GROUP BY project_id, assignee_id) t";

/// The rollups the same triggers keep (migrations/20261203000300_open_bug_rollups.sql),
/// per project, per assignee and per (severity, band), against the open bugs
/// summed afresh: one row of text per rollup row, keyed `p,`, `a,` or `r,`.
const ROLLUPS_KEPT: &str = "
SELECT md5(string_agg(r, E'\n' ORDER BY r)) FROM (
    SELECT concat_ws(',', 'p', project_id, open_bugs, critical_bugs, breached_bugs, blockers,
                     revenue::numeric(14, 2), blocker_revenue::numeric(14, 2), revenue_bugs, load) AS r
      FROM open_bugs_by_project WHERE open_bugs > 0
    UNION ALL
    SELECT concat_ws(',', 'a', assignee_id, open_bugs, critical_bugs, breached_bugs, blockers,
                     revenue::numeric(14, 2), blocker_revenue::numeric(14, 2), revenue_bugs, load)
      FROM open_bugs_by_assignee WHERE open_bugs > 0
    UNION ALL
    SELECT concat_ws(',', 'r', severity, COALESCE(sla_risk, '-'), open_bugs, critical_bugs, breached_bugs,
                     blockers, revenue::numeric(14, 2), blocker_revenue::numeric(14, 2), revenue_bugs, load)
      FROM open_bugs_by_risk WHERE open_bugs > 0) k";
const ROLLUPS_NOW: &str = "
SELECT md5(string_agg(r, E'\n' ORDER BY r)) FROM (
    SELECT concat_ws(',',
                     CASE WHEN GROUPING(project_id) = 0 THEN 'p,' || project_id
                          WHEN GROUPING(assignee_id) = 0 THEN 'a,' || assignee_id
                          ELSE 'r,' || severity || ',' || COALESCE(sla_risk, '-') END,
                     count(*), count(*) FILTER (WHERE severity = 'critical'),
                     count(*) FILTER (WHERE sla_risk = 'breached'), count(*) FILTER (WHERE is_blocker),
                     sum(revenue_impact_daily)::numeric(14, 2),
                     COALESCE(sum(revenue_impact_daily) FILTER (WHERE is_blocker), 0)::numeric(14, 2),
                     count(*) FILTER (WHERE revenue_impact_daily > 0),
                     sum(bug_weight(severity, is_blocker))) AS r
      FROM bugs WHERE status IN ('open', 'in_progress')
     GROUP BY GROUPING SETS ((project_id), (assignee_id), (severity, sla_risk))
    HAVING GROUPING(assignee_id) = 1 OR assignee_id IS NOT NULL) k";

/// The dashboard table as written, against the materialized view it
/// replaced, computed from every bug at the run's clock
/// (migrations/20261124000002_domain.sql, with `now()` as $1).
const DASHBOARD_KEPT: &str = "
SELECT md5(string_agg(to_jsonb(d)::text, E'\n' ORDER BY project_id)) FROM dashboard_projects d";
const DASHBOARD_NOW: &str = "
SELECT md5(string_agg(to_jsonb(d)::text, E'\n' ORDER BY project_id)) FROM (
WITH open_bugs AS (
    SELECT * FROM bugs WHERE status IN ('open', 'in_progress')
), loads AS (
    SELECT assignee_id, workload_level(sum(bug_weight(severity, is_blocker))) AS level
      FROM open_bugs WHERE assignee_id IS NOT NULL GROUP BY assignee_id
)
SELECT p.id AS project_id, p.name,
       count(b.id) AS open_bugs,
       count(b.id) FILTER (WHERE b.severity = 'critical') AS critical_bugs,
       count(b.id) FILTER (WHERE b.sla_risk = 'breached') AS breached_bugs,
       count(b.id) FILTER (WHERE b.is_blocker) AS blockers,
       COALESCE(sum(b.revenue_impact_daily), 0)::numeric(14, 2) AS revenue_at_risk,
       COALESCE(sum(b.revenue_impact_daily) FILTER (WHERE b.is_blocker), 0)::numeric(14, 2) AS blocker_revenue_at_risk,
       (SELECT count(*) FROM bugs r WHERE r.project_id = p.id AND r.resolved_at > $1 - interval '28 days'
                                       AND r.resolved_at <= $1)::numeric / 4 AS velocity_per_week,
       count(DISTINCT b.assignee_id) FILTER (WHERE l.level IN ('HIGH', 'CRITICAL')) AS workload_hotspots
  FROM projects p
  LEFT JOIN open_bugs b ON b.project_id = p.id
  LEFT JOIN loads l ON l.assignee_id = b.assignee_id
 GROUP BY p.id, p.name) d";

async fn fingerprint(pool: &PgPool, sql: &'static str) -> Option<String> {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

/// Open bugs with a level due under the escalation rule as a full pass
/// states it (crates/nightshift-tasks/src/hourly/escalations.rs), unrecorded.
async fn escalations_left(pool: &PgPool, now: DateTime<Utc>) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM bugs b
           JOIN (VALUES (1, 1), (2, 2), (3, 4)) AS l(level, windows) ON b.escalation_level < l.level
          WHERE b.status IN ('open', 'in_progress')
            AND $1 >= b.created_at + make_interval(hours => b.sla_window_hours * l.windows)",
    )
    .bind(now)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = false)]
async fn incremental_hours_match_a_full_recomputation(pool: PgPool) {
    let (name_a, a) = seeded(&pool, "inc_a").await;
    let (name_b, b) = seeded(&pool, "inc_b").await;
    let start: DateTime<Utc> = NOW.parse().unwrap();
    let tasks: Vec<Box<dyn Task<TasksConfig>>> = vec![
        Box::new(SlaRisk),
        Box::new(Escalations),
        Box::new(RevenueAtRisk),
        Box::new(Velocity),
        Box::new(Workload),
        Box::new(Alerts),
        Box::new(RefreshDashboard),
        Box::new(ComposeDigests),
    ];
    // Hours of logical time after the seed's now; the last one is earlier
    // than the one before, as a replay or a test with its own clock may be.
    // Hour 27 comes with no edits: a quiet hour, where A reuses snapshots.
    let hours = [0, 1, 2, 5, 11, 26, 27, 50, 97, 30];
    let mut assessed = (0, 0);
    let mut reused = 0;
    for (step, h) in hours.into_iter().enumerate() {
        let now = start + TimeDelta::hours(h) + TimeDelta::minutes(3);
        let run_id = Uuid::new_v4();
        for db in [&a, &b] {
            if step > 0 && h != 27 {
                let edited: i64 = sqlx::query_scalar(EDITS)
                    .bind(now - TimeDelta::minutes(1))
                    .bind(step as i64)
                    .fetch_one(db)
                    .await
                    .unwrap();
                assert!(edited > 0, "hour {h}: the edits touch some bugs");
            }
        }
        sqlx::query(
            "UPDATE bugs SET risk_next_at = '-infinity' WHERE status IN ('open', 'in_progress')",
        )
        .execute(&b)
        .await
        .unwrap();
        // B keeps no digest of a snapshot's inputs, so it rebuilds them all.
        sqlx::query("UPDATE hourly_snapshots SET inputs = NULL")
            .execute(&b)
            .await
            .unwrap();
        for (db, side) in [(&a, 0), (&b, 1)] {
            for task in &tasks {
                let report = task
                    .run(&ctx(db, now, run_id))
                    .await
                    .unwrap_or_else(|e| panic!("hour {h}, copy {side}, {}: {e:#}", task.name()));
                if side == 0 && report.details["reused"] == true {
                    reused += 1;
                }
                if task.name() == "sla_risk" {
                    let n = report.details["assessed"].as_i64().unwrap();
                    if side == 0 {
                        assessed.0 += n
                    } else {
                        assessed.1 += n
                    }
                }
            }
        }
        for (table, sql) in FINGERPRINTS {
            assert_eq!(
                fingerprint(&a, sql).await,
                fingerprint(&b, sql).await,
                "hour {h}: {table} differ between the incremental and the full run"
            );
        }
        assert_eq!(escalations_left(&a, now).await, 0, "hour {h}");
        for db in [&a, &b] {
            assert_eq!(
                fingerprint(db, TOTALS_KEPT).await,
                fingerprint(db, TOTALS_NOW).await,
                "hour {h}: open_bug_totals drifted from the bugs"
            );
            assert_eq!(
                fingerprint(db, ROLLUPS_KEPT).await,
                fingerprint(db, ROLLUPS_NOW).await,
                "hour {h}: the open-bug rollups drifted from the bugs"
            );
            let kept: Option<String> = sqlx::query_scalar(DASHBOARD_KEPT)
                .fetch_one(db)
                .await
                .unwrap();
            let now_rows: Option<String> = sqlx::query_scalar(DASHBOARD_NOW)
                .bind(now)
                .fetch_one(db)
                .await
                .unwrap();
            assert_eq!(
                kept, now_rows,
                "hour {h}: dashboard_projects differs from the view it replaced"
            );
        }
    }
    let escalated: i64 = sqlx::query_scalar("SELECT count(*) FROM escalations")
        .fetch_one(&a)
        .await
        .unwrap();
    assert!(escalated > 0, "the hours escalate something");
    assert!(reused > 0, "the quiet hour reuses a snapshot");
    // The point of it: the incremental copy read far fewer bugs.
    assert!(
        assessed.0 * 2 < assessed.1,
        "assessed incremental {} vs full {}",
        assessed.0,
        assessed.1
    );
    a.close().await;
    b.close().await;
    drop_db(&pool, &name_a).await;
    drop_db(&pool, &name_b).await;
}
