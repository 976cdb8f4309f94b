//! The local scheduler of `nightshift serve`: vercel.json's schedules, each on
//! its zone's wall clock (crates/nightshift-core/src/schedule/),
//! fired at this server over HTTP with the secret, as the platform does, so
//! slots, duplicates, pauses and the ledger behave as in production. A tick
//! missed while the machine slept fires once, not once per missed slot (the
//! platform does not backfill either).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use nightshift_core::{App, Schedule};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How a fired call introduces itself: like Vercel's scheduler, so the run's
/// trigger is `cron` and it claims its slot.
pub const USER_AGENT: &str = "vercel-cron/1.0 (nightshift serve)";

/// How often `serve` starts due follow-ups on its own.
const HEARTBEAT: chrono::Duration = chrono::Duration::minutes(1);

pub struct Scheduler {
    pub app: Arc<App>,
    /// Where this server listens, e.g. http://127.0.0.1:3000.
    pub base_url: String,
    pub secret: String,
    /// How much faster than the wall clock the app's clock runs (tests
    /// drive minutes in seconds); 1 in real use.
    pub speed: f64,
}

impl Scheduler {
    /// Fires until `stop` turns true, then waits for the calls it made.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let crons: Vec<(&'static str, Schedule)> = self
            .app
            .routes
            .iter()
            .map(|r| (r.spec.path, r.spec.schedule.clone()))
            .collect();
        let start = self.app.clock.now();
        let mut next: Vec<Option<DateTime<Utc>>> =
            crons.iter().map(|(_, s)| s.next_after(start)).collect();
        let client = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(self.app.longest_budget() + Duration::from_secs(60))
            .build()
            .expect("the scheduler's HTTP client builds with static settings");
        let mut calls = JoinSet::new();
        tracing::info!(crons = crons.len(), "local scheduler started");
        // The heartbeat (nightshift_core::kick) at least once a minute, so a
        // due retry or catch-up starts on time here, not at the next cron.
        let mut heartbeat = start + HEARTBEAT;
        while let Some(due) = next.iter().flatten().min().copied() {
            let wake = due.min(heartbeat);
            let wait = (wake - self.app.clock.now())
                .to_std()
                .unwrap_or_default()
                .div_f64(self.speed);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.wait_for(|s| *s) => break,
            }
            let now = self.app.clock.now();
            if now >= heartbeat {
                heartbeat = now + HEARTBEAT;
                let app = self.app.clone();
                calls.spawn(async move {
                    nightshift_core::kick::kick(&app).await;
                });
            }
            if now < due {
                continue; // a heartbeat, or woke a little early
            }
            for (i, (path, schedule)) in crons.iter().enumerate() {
                if next[i].is_some_and(|t| t <= now) {
                    next[i] = schedule.next_after(now);
                    let req = client
                        .post(format!("{}{path}", self.base_url))
                        .bearer_auth(&self.secret);
                    calls.spawn(fire(req, path));
                }
            }
            while calls.try_join_next().is_some() {}
        }
        tracing::info!("local scheduler stopped; waiting for the calls it made");
        while calls.join_next().await.is_some() {}
    }
}

async fn fire(req: reqwest::RequestBuilder, path: &'static str) {
    tracing::info!(route = path, "cron tick");
    match req.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let body: serde_json::Value = resp.json().await.unwrap_or_default();
            tracing::info!(
                route = path,
                status,
                outcome = body["outcome"].as_str().unwrap_or("?"),
                "cron call answered"
            );
        }
        Err(e) => tracing::warn!(route = path, error = %e.without_url(), "cron call failed"),
    }
}
