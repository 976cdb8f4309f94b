//! The dead-man's switch: with a check for the route (its own
//! `HEALTHCHECK_URL_<ROUTE>`, a ping key's, or the shared `HEALTHCHECK_URL`;
//! crates/nightshift-core/src/config/healthchecks.rs), every claimed run pings
//! `{url}/start` when it starts, then `{url}` on success or `{url}/fail`
//! otherwise, with the run's summary as the body. The monitor notices when pings stop, which
//! nothing inside Nightshift can. A ping that fails is logged, never fatal:
//! the monitor must not be able to break the job it watches.

use std::time::Duration;

use serde_json::json;

use crate::config::PingTarget;
use crate::outcome::{Outcome, RunAnswer};

/// Short, so a slow monitor costs a run seconds, not its budget.
pub const PING_TIMEOUT: Duration = Duration::from_secs(5);

pub async fn start(http: &reqwest::Client, target: Option<&PingTarget>, answer: &RunAnswer) {
    if let Some(t) = target {
        let body = format!("{} {} started", answer.job_type, answer.route);
        let url = format!("{}/start", t.base.trim_end_matches('/'));
        send(http, url, t.create, body, answer).await;
    }
}

pub async fn finish(http: &reqwest::Client, target: Option<&PingTarget>, answer: &RunAnswer) {
    let Some(t) = target else { return };
    let base = t.base.trim_end_matches('/');
    let url = if answer.outcome == Outcome::Completed {
        base.to_owned()
    } else {
        format!("{base}/fail")
    };
    let body = json!({
        "outcome": answer.outcome,
        "job_type": answer.job_type,
        "route": answer.route,
        "run_id": answer.run_id,
        "duration_ms": answer.duration_ms,
        "message": answer.message,
        "tasks": answer.tasks.iter().map(|t| json!({
            "name": t.name, "status": t.status, "error": t.error,
        })).collect::<Vec<_>>(),
    })
    .to_string();
    send(http, url, t.create, body, answer).await;
}

async fn send(http: &reqwest::Client, url: String, create: bool, body: String, answer: &RunAnswer) {
    // `rid` ties start and end together when two jobs share one check;
    // `create=1` makes a ping key's check on its first ping.
    let rid = answer.run_id.map(|id| id.to_string()).unwrap_or_default();
    let mut query = vec![("rid", rid.as_str())];
    if create {
        query.push(("create", "1"));
    }
    let result = http
        .post(&url)
        .query(&query)
        .timeout(PING_TIMEOUT)
        .body(body)
        .send()
        .await
        .and_then(|r| r.error_for_status());
    if let Err(e) = result {
        // The URL may hold the check's secret key: log only where it failed.
        tracing::warn!(error = %e.without_url(), "healthcheck ping failed; the run goes on");
    }
}
