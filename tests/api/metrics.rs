//! `GET /api/metrics`: Prometheus text over a ledger with a completed and a
//! failed run, planted outbox, queue and alert rows. Who may scrape it:
//! metrics_auth.rs.

use std::collections::HashMap;
use std::sync::Arc;

use crate::common::*;
use chrono::Duration as Span;
use nightshift_core::{Config, Task};
use sqlx::PgPool;

pub(crate) const TOKEN: &str = "metrics-token-7f3a9c2e5b1d8f4a6c0e2b9d7a5f3c1e";

fn metrics_config() -> Config {
    // Through the settings path every variable takes.
    Config::from_lookup(|k| match k {
        "CRON_SECRET" => Some(SECRET.into()),
        "METRICS_TOKEN" => Some(TOKEN.into()),
        // The token test presents it where it is wrong, more times than the
        // back-off allows (crates/nightshift-core/src/throttle.rs).
        "AUTH_FAILURES_PER_CLIENT" | "AUTH_FAILURES_GLOBAL" => Some("1000".into()),
        _ => None,
    })
    .unwrap()
}

pub(crate) fn app(pool: &PgPool) -> TestApp {
    let tasks: Vec<Arc<dyn Task>> = vec![
        Arc::new(Fine("fine")),
        Arc::new(Permanent(Default::default())),
    ];
    let spec = nightshift_tasks::specs().remove(0);
    app_with(
        pool,
        metrics_config(),
        vec![nightshift_core::Route { spec, tasks }],
    )
}

pub(crate) async fn scrape(base: &str, token: Option<&str>) -> (u16, String, String) {
    let mut req = reqwest::Client::new().get(format!("{base}/api/metrics"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let code = resp.status().as_u16();
    let ctype = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (code, ctype, resp.text().await.unwrap())
}

/// `name{labels}` -> value; panics on a line that is not HELP, TYPE or a
/// sample, or on a sample whose family has no HELP and TYPE before it.
fn samples(text: &str) -> HashMap<String, f64> {
    let mut typed = Vec::new();
    let mut out = HashMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert_eq!(kind, "gauge", "{line}");
            typed.push(name.to_owned());
            continue;
        }
        if line.starts_with("# HELP nightshift_") {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line:?}"));
        let name = series.split('{').next().unwrap();
        assert!(name.starts_with("nightshift_"), "{line}");
        assert!(
            !name.ends_with("_total"),
            "windowed counts are gauges: {line}"
        );
        assert_eq!(typed.last().map(String::as_str), Some(name), "{line}");
        out.insert(series.to_owned(), value.parse().unwrap());
    }
    out
}

pub(crate) const HOURLY: &str = r#"job_type="hourly_metrics",route="/api/cron/hourly""#;

#[sqlx::test(migrations = "./migrations")]
async fn metrics_count_runs_tasks_outbox_queue_and_alerts(pool: PgPool) {
    let t = app(&pool);
    let base = serve_all(t.app.clone()).await;
    let client = reqwest::Client::new();
    let run = |q: &'static str| {
        let (client, base) = (client.clone(), base.clone());
        async move {
            call(
                &client,
                &format!("{base}/api/cron/hourly?{q}"),
                Some(&bearer()),
            )
            .await
        }
    };
    assert_eq!(run("force=true").await.body["outcome"], "failed");
    t.clock.advance(Span::seconds(30));
    assert_eq!(
        run("force=true&tasks=fine").await.body["outcome"],
        "completed"
    );
    sqlx::query(
        "INSERT INTO notifications (kind, recipient, channel, subject, body, dedupe_key, status,
                                    attempts, next_attempt_at, created_at)
         VALUES ('digest', 'a@example.com', 'email', 's', 'b', 'k1', 'pending', 0, $1, $1 - interval '90 s'),
                ('digest', 'b@example.com', 'email', 's', 'b', 'k2', 'pending', 2, $1, $1),
                ('digest', 'c@example.com', 'email', 's', 'b', 'k3', 'dead', 5, $1, $1),
                ('alert', '#ops', 'slack', 's', 'b', 'k4', 'sent', 1, $1, $1)",
    )
    .bind(t0())
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "WITH p AS (INSERT INTO projects (name) VALUES ('p') RETURNING id)
         INSERT INTO work_queue (kind, project_id, status, enqueued_at)
         SELECT 'github_sync', id, 'pending', $1 - interval '1 hour' FROM p;
        ",
    )
    .bind(t0())
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO alerts (dedupe_key, source, kind, severity, title, status, raised_at, last_seen_at)
         VALUES ('x', 'test', 'k', 'critical', 'T', 'open', $1, $1)",
    )
    .bind(t0())
    .execute(&pool)
    .await
    .unwrap();

    // Three hours on: slots 22:00, 23:00 and 00:00 had no run.
    t.clock.set(t0() + Span::hours(3));
    let (code, ctype, text) = scrape(&base, Some(SECRET)).await;
    assert_eq!(code, 200, "{text}");
    assert_eq!(ctype, "text/plain; version=0.0.4; charset=utf-8");
    let m = samples(&text);
    let get = |s: &str| *m.get(s).unwrap_or_else(|| panic!("no {s} in\n{text}"));
    for (outcome, n) in [("completed", 1.0), ("failed", 1.0), ("timeout", 0.0)] {
        assert_eq!(
            get(&format!(
                "nightshift_job_runs_24h{{{HOURLY},outcome=\"{outcome}\"}}"
            )),
            n
        );
        assert_eq!(
            get(&format!(
                "nightshift_job_runs_7d{{{HOURLY},outcome=\"{outcome}\"}}"
            )),
            n
        );
    }
    assert_eq!(
        get(&format!(
            "nightshift_job_last_outcome{{{HOURLY},outcome=\"completed\"}}"
        )),
        1.0
    );
    assert_eq!(
        get(&format!(
            "nightshift_job_last_outcome{{{HOURLY},outcome=\"failed\"}}"
        )),
        0.0
    );
    let started = (t0() + Span::seconds(30)).timestamp() as f64;
    let last_run = get(&format!(
        "nightshift_job_last_run_timestamp_seconds{{{HOURLY}}}"
    ));
    assert!((last_run - started).abs() < 1.0, "{last_run} vs {started}");
    let success = get(&format!(
        "nightshift_job_last_success_timestamp_seconds{{{HOURLY}}}"
    ));
    assert!(success >= last_run, "{success}");
    assert_eq!(
        get(&format!("nightshift_job_last_attempt{{{HOURLY}}}")),
        1.0
    );
    assert_eq!(
        get(&format!(
            "nightshift_job_follow_ups_pending{{{HOURLY},kind=\"retry\"}}"
        )),
        0.0
    );
    assert_eq!(
        get(&format!("nightshift_job_missed_slots_7d{{{HOURLY}}}")),
        3.0
    );
    // 00:17:05 to 01:00.
    assert_eq!(
        get(&format!(
            "nightshift_job_until_next_slot_seconds{{{HOURLY}}}"
        )),
        2575.0
    );
    assert!(
        get(&format!(
            "nightshift_job_run_duration_7d_max_seconds{{{HOURLY}}}"
        )) >= 0.0
    );
    assert!(m.contains_key(&format!(
        "nightshift_job_run_duration_7d_p95_seconds{{{HOURLY}}}"
    )));
    // The subset run did not run `permanent`: its outcome is the older run's.
    let task = |name: &str, outcome: &str| {
        get(&format!(
            "nightshift_task_last_outcome{{job_type=\"hourly_metrics\",task=\"{name}\",outcome=\"{outcome}\"}}"
        ))
    };
    assert_eq!(
        (task("permanent", "failed"), task("permanent", "success")),
        (1.0, 0.0)
    );
    assert_eq!(
        (task("fine", "success"), task("fine", "failed")),
        (1.0, 0.0)
    );
    assert!(m.contains_key(
        "nightshift_task_last_duration_seconds{job_type=\"hourly_metrics\",task=\"fine\"}"
    ));
    let outbox = |c: &str, s: &str| {
        get(&format!(
            "nightshift_outbox_messages{{channel=\"{c}\",state=\"{s}\"}}"
        ))
    };
    assert_eq!(
        (
            outbox("email", "pending"),
            outbox("email", "retrying"),
            outbox("email", "dead"),
            outbox("slack", "pending")
        ),
        (1.0, 1.0, 1.0, 0.0)
    );
    // The oldest pending row was written 90 s before t0; the scrape is 3 h later.
    assert_eq!(
        get("nightshift_outbox_oldest_pending_age_seconds{channel=\"email\"}"),
        3.0 * 3600.0 + 90.0
    );
    assert_eq!(get("nightshift_work_queue_depth{status=\"pending\"}"), 1.0);
    assert_eq!(
        get("nightshift_work_queue_oldest_item_age_seconds"),
        4.0 * 3600.0
    );
    assert_eq!(get("nightshift_alerts_open{severity=\"critical\"}"), 1.0);
    assert_eq!(get("nightshift_alerts_open{severity=\"warning\"}"), 0.0);
}
