//! AWS Lambda, both ways (docs/decisions.md, 54): an HTTP event (Function
//! URL, API Gateway REST and HTTP APIs, ALB) goes to the router as the
//! request it describes; a direct invocation by a scheduler (EventBridge
//! Scheduler's Lambda target, an EventBridge rule's) is a scheduled
//! delivery: authenticated by IAM, its slot is the event's `time`, its
//! trigger `cron`, and its result the route's JSON answer (carried by a
//! function error where HTTP would answer non-2xx). lambda_http hands
//! a payload that is no HTTP event through as a POST whose body is the
//! payload (its `pass_through` feature); anything there that is not a
//! scheduled event is a function error and never reaches the router.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use aws_lambda_events::cloudwatch_events::CloudWatchEvent;
use axum::Router;
use axum::response::Response;
use lambda_http::lambda_runtime::Diagnostic;
use lambda_http::request::RequestContext;
use lambda_http::{RequestExt, Service};
use nightshift_core::{InvocationDeadline, ScheduledDelivery};
use tower::ServiceExt;

use crate::BoxError;

/// What a scheduled delivery's payload must be: EventBridge's scheduled
/// event. An EventBridge rule sends it as is; an EventBridge Scheduler
/// schedule sends it as the target's input, filled in from the Scheduler's
/// context attributes (docs/deploy/lambda.md).
pub const EXPECTED_EVENT: &str = r#"{"detail-type":"Scheduled Event","source":"aws.scheduler","time":"<aws.scheduler.scheduled-time>","resources":["<aws.scheduler.schedule-arn>"],"id":"<aws.scheduler.execution-id>","detail":{}}"#;

/// An answer bigger than this is no route's answer.
const ANSWER_LIMIT: usize = 1 << 20;

pub async fn run(router: Router) -> Result<(), BoxError> {
    lambda_http::run(LambdaService { router }).await
}

/// Why a direct invocation has no answer of the route's, or why the
/// answer is a failure: Lambda reports both as the invocation's error.
#[derive(Debug)]
pub enum DirectError {
    /// The payload is neither an HTTP event nor a scheduled event.
    NotAScheduledEvent(String),
    /// The route answered what would be a non-2xx status over HTTP (a
    /// failed or timed-out run, another run in progress, the database
    /// away): the JSON answer, as the error's message, so the invocation
    /// counts as failed and Lambda's retries apply ("failure is never a 200").
    Answer { code: String, json: String },
}

impl From<DirectError> for Diagnostic {
    fn from(e: DirectError) -> Self {
        match e {
            DirectError::NotAScheduledEvent(why) => Diagnostic {
                error_type: "nightshift.unrecognized_event".into(),
                error_message: why,
            },
            DirectError::Answer { code, json } => Diagnostic {
                error_type: format!("nightshift.{code}"),
                error_message: json,
            },
        }
    }
}

/// The scheduled delivery a direct invocation's payload describes, or why
/// it describes none.
pub fn scheduled_delivery(payload: &[u8]) -> Result<ScheduledDelivery, String> {
    let expected = || {
        format!(
            "this function takes an HTTP event (Function URL, API Gateway, ALB) or an \
             EventBridge scheduled event, e.g. {EXPECTED_EVENT}"
        )
    };
    let event: CloudWatchEvent = serde_json::from_slice(payload)
        .map_err(|e| format!("unrecognized payload ({e}); {}", expected()))?;
    match event.detail_type.as_deref() {
        Some("Scheduled Event") => Ok(ScheduledDelivery {
            scheduled_time: event.time,
            source: event.source,
            id: event.id,
        }),
        other => Err(format!(
            "unrecognized event: detail-type is {other:?}, not \"Scheduled Event\"; {}",
            expected()
        )),
    }
}

#[derive(Clone)]
struct LambdaService {
    router: Router,
}

type Answer = Pin<Box<dyn Future<Output = Result<Response, DirectError>> + Send>>;

impl Service<lambda_http::Request> for LambdaService {
    type Response = Response;
    type Error = DirectError;
    type Future = Answer;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), DirectError>> {
        Poll::Ready(Ok(())) // an axum Router is always ready
    }

    fn call(&mut self, mut req: lambda_http::Request) -> Answer {
        // Lambda tells each invocation its deadline; the run's budget must
        // end before it.
        let end = req
            .lambda_context_ref()
            .and_then(|c| invocation_deadline(c.deadline));
        if let Some(end) = end {
            req.extensions_mut().insert(InvocationDeadline(end));
        }
        // The address wrong secrets are counted against (HTTP events only; a
        // direct invocation presents no secret).
        if let Some(ip) = crate::client_addr::lambda(&req) {
            req.extensions_mut()
                .insert(nightshift_core::throttle::ClientAddr(ip));
        }
        let direct = matches!(req.request_context_ref(), Some(RequestContext::PassThrough));
        let router = self.router.clone();
        Box::pin(async move {
            if !direct {
                return Ok(router.oneshot(req).await.unwrap_or_else(|e| match e {}));
            }
            let delivery = scheduled_delivery(req.body()).map_err(|why| {
                tracing::error!(error = %why, "direct invocation refused; no run");
                DirectError::NotAScheduledEvent(why)
            })?;
            tracing::info!(
                scheduled_time = %delivery.scheduled_time,
                source = delivery.source.as_deref().unwrap_or("?"),
                "scheduled delivery"
            );
            req.extensions_mut().insert(delivery);
            let resp = router.oneshot(req).await.unwrap_or_else(|e| match e {});
            if resp.status().is_success() {
                return Ok(resp);
            }
            let body = axum::body::to_bytes(resp.into_body(), ANSWER_LIMIT)
                .await
                .unwrap_or_default();
            let json = String::from_utf8_lossy(&body).into_owned();
            let code = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| match v["outcome"].as_str() {
                    Some("error") => v["error"].as_str().map(str::to_owned),
                    other => other.map(str::to_owned),
                })
                .unwrap_or_else(|| "error".into());
            Err(DirectError::Answer { code, json })
        })
    }
}

/// Earliest `Lambda-Runtime-Deadline-Ms` taken as a deadline: 2001-09-09 in
/// Unix milliseconds. Lambda sends the Unix time in milliseconds at which the
/// invocation times out; a smaller value is not one. `cargo lambda watch`
/// (1.9) sends the constant 600000, which read as a Unix time is 1970 and
/// would leave every run a budget of 0.
const EARLIEST_DEADLINE_MS: u64 = 1_000_000_000_000;

/// The invocation's deadline from the Runtime API header, or None (the
/// configured budget alone applies) when the value is no Unix time in
/// milliseconds. A real deadline that has passed is kept: the run then has
/// no budget and says so.
fn invocation_deadline(deadline_ms: u64) -> Option<std::time::SystemTime> {
    if deadline_ms < EARLIEST_DEADLINE_MS {
        tracing::warn!(
            deadline_ms,
            "Lambda-Runtime-Deadline-Ms is not a Unix time in milliseconds \
             (an emulator?); using the configured budget alone"
        );
        return None;
    }
    Some(std::time::UNIX_EPOCH + std::time::Duration::from_millis(deadline_ms))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn a_unix_time_in_milliseconds_is_the_deadline() {
        let ms = 1_795_555_025_000;
        assert_eq!(
            invocation_deadline(ms),
            Some(UNIX_EPOCH + Duration::from_millis(ms))
        );
    }

    #[test]
    fn cargo_lambda_watchs_constant_is_no_deadline() {
        assert_eq!(invocation_deadline(600_000), None);
        assert_eq!(invocation_deadline(0), None);
    }

    #[test]
    fn the_documented_scheduler_input_is_a_scheduled_event() {
        let filled = EXPECTED_EVENT
            .replace("<aws.scheduler.scheduled-time>", "2026-11-24T21:00:00Z")
            .replace(
                "<aws.scheduler.schedule-arn>",
                "arn:aws:scheduler:::schedule/x",
            )
            .replace("<aws.scheduler.execution-id>", "d32c5kddcf5bb8c3");
        let d = scheduled_delivery(filled.as_bytes()).unwrap();
        assert_eq!(d.scheduled_time.to_rfc3339(), "2026-11-24T21:00:00+00:00");
        assert_eq!(d.source.as_deref(), Some("aws.scheduler"));
        // Unfilled, the time is no time: refused, saying what to send.
        let err = scheduled_delivery(EXPECTED_EVENT.as_bytes()).unwrap_err();
        assert!(err.contains("Scheduled Event"), "{err}");
    }

    #[test]
    fn other_payloads_are_no_scheduled_event() {
        for payload in [
            r#"{}"#,
            r#"{"key1":"value1"}"#,
            r#"{"detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","time":"2026-11-24T21:00:00Z","resources":[],"detail":{}}"#,
            "[1,2]",
        ] {
            assert!(scheduled_delivery(payload.as_bytes()).is_err(), "{payload}");
        }
    }
}
