//! A PagerDuty Events API v2 endpoint on loopback, as documented:
//! `POST /v2/enqueue` answers 202 `{status, message, dedup_key}`, or 400
//! `{status: "invalid event", message, errors}` for an event without a
//! routing key, an event action, or (to trigger) a payload's summary,
//! source and a severity among critical, error, warning, info. It keeps the
//! incidents a real account would (a trigger on an open key is the same
//! incident) and records every request. `fail_next` makes the next calls
//! answer a status of the test's choosing (429, 5xx, 400), as PagerDuty
//! does when throttling, failing or refusing.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header::RETRY_AFTER};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

#[derive(Default)]
struct Inner {
    requests: Vec<Value>,
    forced: VecDeque<(u16, Value)>,
    /// dedup_key -> open
    incidents: HashMap<String, bool>,
    opened: usize,
}

#[derive(Clone, Default)]
pub struct PagerDutyServer {
    inner: Arc<Mutex<Inner>>,
    pub url: String,
}

impl PagerDutyServer {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = Self {
            url: format!("http://{}/v2/enqueue", listener.local_addr().unwrap()),
            ..Self::default()
        };
        let app = Router::new()
            .route("/v2/enqueue", post(enqueue))
            .with_state(server.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        server
    }

    /// The next call answers `status` with `body`, whatever it carries.
    pub fn fail_next(&self, status: u16, body: Value) {
        self.lock().forced.push_back((status, body));
    }

    pub fn requests(&self) -> Vec<Value> {
        self.lock().requests.clone()
    }

    /// (incidents ever opened, incidents open now)
    pub fn incidents(&self) -> (usize, usize) {
        let s = self.lock();
        (s.opened, s.incidents.values().filter(|o| **o).count())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

async fn enqueue(State(server): State<PagerDutyServer>, body: Bytes) -> Response {
    let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut s = server.lock();
    s.requests.push(event.clone());
    if let Some((status, body)) = s.forced.pop_front() {
        let mut resp = (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response();
        if status == 429 {
            resp.headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from_static("1800"));
        }
        return resp;
    }
    let errors = invalid(&event);
    if !errors.is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({ "status": "invalid event",
                               "message": "Event object is invalid", "errors": errors })),
        )
            .into_response();
    }
    let key = event["dedup_key"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| format!("generated-{}", s.requests.len()));
    match event["event_action"].as_str() {
        Some("trigger") if s.incidents.get(&key) != Some(&true) => {
            s.opened += 1;
            s.incidents.insert(key.clone(), true);
        }
        Some("resolve") => {
            s.incidents.insert(key.clone(), false);
        }
        _ => {}
    }
    (
        StatusCode::ACCEPTED,
        axum::Json(json!({ "status": "success", "message": "Event processed", "dedup_key": key })),
    )
        .into_response()
}

/// The documented reasons PagerDuty refuses an event.
pub fn invalid(event: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let blank = |v: &Value| v.as_str().is_none_or(|s| s.trim().is_empty());
    if blank(&event["routing_key"]) {
        errors.push("'routing_key' is missing or blank".to_owned());
    } else if event["routing_key"].as_str().unwrap().len() != 32 {
        errors.push("Length of 'routing_key' is incorrect (should be 32 characters)".into());
    }
    match event["event_action"].as_str() {
        Some("trigger") => {
            for field in ["summary", "source", "severity"] {
                if blank(&event["payload"][field]) {
                    errors.push(format!("'payload.{field}' is missing or blank"));
                }
            }
            let severity = event["payload"]["severity"].as_str().unwrap_or_default();
            if !severity.is_empty() && !["critical", "error", "warning", "info"].contains(&severity)
            {
                errors.push(
                    "'payload.severity' is invalid (must be one of critical, error, warning, info)"
                        .into(),
                );
            }
        }
        Some("acknowledge" | "resolve") => {
            if blank(&event["dedup_key"]) {
                errors.push("'dedup_key' is missing or blank".into());
            }
        }
        Some(_) => errors.push("'event_action' is invalid".into()),
        None => errors.push("'event_action' is missing or blank".into()),
    }
    errors
}
