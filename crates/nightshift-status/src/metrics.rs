//! `GET /api/metrics`: Prometheus text exposition (format 0.0.4), computed
//! from the ledger at scrape time (`facts`): a serverless function keeps no
//! counters between calls, so every figure is a gauge over the database.
//! Windowed counts are gauges named for their window (`_24h`, `_7d`), not
//! `_total` counters. Jobs are labelled `job_type` and `route`, never `job`:
//! Prometheus owns that label (the scrape job's name).
//! Auth: the bearer, or the read-only METRICS_TOKEN
//! (nightshift_core::auth::authorize_metrics).

mod facts;
mod jobs;
mod system;

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use http::{Method, header};
use nightshift_core::{App, HandleError, RouteSpec, auth};

pub use facts::{Facts, collect};

pub const PATH: &str = "/api/metrics";
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

pub async fn serve(State(app): State<Arc<App>>, req: Request) -> Response {
    crate::respond(answer(&app, req).await)
}

async fn answer(app: &App, req: Request) -> Result<Response, HandleError> {
    crate::only(req.method(), &Method::GET, "GET")?;
    auth::authorize_metrics(app, req.headers(), req.extensions()).await?;
    let now = app.clock.now();
    let pool = app.db.ready().await?;
    let facts = collect(pool, &app.specs(), now)
        .await
        .map_err(HandleError::from_db)?;
    Ok((
        [
            (header::CONTENT_TYPE, CONTENT_TYPE),
            (header::CACHE_CONTROL, "no-store"),
        ],
        render(&facts, &app.specs(), now),
    )
        .into_response())
}

/// One metric family: its HELP and TYPE lines, then its samples.
struct Family<'a> {
    out: &'a mut String,
}

impl Family<'_> {
    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        if !value.is_finite() {
            return;
        }
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }
}

fn family<'a>(out: &'a mut String, name: &str, help: &str) -> Family<'a> {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
    Family { out }
}

/// Label values escape backslash, double quote and newline (format 0.0.4).
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn last(j: &facts::Job) -> Option<&facts::Last> {
    j.last.as_ref()
}

fn secs(t: DateTime<Utc>) -> f64 {
    t.timestamp_millis() as f64 / 1000.0
}

/// The whole exposition: per job, per task, then the system.
pub fn render(facts: &Facts, routes: &[RouteSpec], now: DateTime<Utc>) -> String {
    let mut out = String::new();
    jobs::render(&mut out, facts, routes, now);
    system::render_tasks(&mut out, facts);
    system::render_system(&mut out, facts);
    out
}
