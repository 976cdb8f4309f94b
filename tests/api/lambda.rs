//! The `hourly` binary under the real lambda_runtime loop, polling a Lambda
//! Runtime API emulated on loopback (next invocation, response, error), with
//! Function URL and API Gateway REST payloads: wrong secret, a run, a
//! duplicate, and a deadline shorter than the work, answered as a timeout
//! before it. Then invoked directly, as EventBridge Scheduler and an
//! EventBridge rule do, with the events of tests/lambda-events/.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::common::*;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use chrono::{DateTime, DurationRound, SecondsFormat, TimeDelta, Utc};
use nightshift_testkit::db::database_url;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::process::Child;
use tokio::sync::{Mutex, mpsc, oneshot};

/// An invocation: its event, its deadline (ms since the epoch), where the
/// function's answer goes.
type Invocation = (Value, u64, oneshot::Sender<Value>);

/// The Runtime API: invocations queued by the test, answers handed back.
#[derive(Clone)]
struct RuntimeApi {
    events: Arc<Mutex<mpsc::Receiver<Invocation>>>,
    waiting: Arc<Mutex<Vec<Waiting>>>,
}

/// An invocation handed out, by request id, until its answer comes back.
type Waiting = (String, oneshot::Sender<Value>);

async fn next(State(api): State<RuntimeApi>) -> axum::response::Response {
    let (event, deadline_ms, reply) = api.events.lock().await.recv().await.expect("test ended");
    let id = uuid::Uuid::new_v4().to_string();
    api.waiting.lock().await.push((id.clone(), reply));
    axum::response::Response::builder()
        .header("lambda-runtime-aws-request-id", id)
        .header("lambda-runtime-deadline-ms", deadline_ms.to_string())
        .header(
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:eu-west-1:000000000000:function:hourly",
        )
        .header("content-type", "application/json")
        .body(axum::body::Body::from(event.to_string()))
        .unwrap()
}

/// The function's answer, as `{"kind": "response"|"error", "payload": …}`.
async fn respond(
    State(api): State<RuntimeApi>,
    Path((id, kind)): Path<(String, String)>,
    body: String,
) -> &'static str {
    let mut waiting = api.waiting.lock().await;
    if let Some(i) = waiting.iter().position(|(w, _)| *w == id) {
        let (_, reply) = waiting.remove(i);
        let payload = serde_json::from_str(&body).unwrap_or(Value::String(body));
        let _ = reply.send(json!({ "kind": kind, "payload": payload }));
    }
    "ok"
}

fn function_url_event(auth: &str) -> Value {
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/api/cron/hourly", "rawQueryString": "",
        "headers": { "authorization": auth, "user-agent": "eventbridge", "host": "abc.lambda-url.eu-west-1.on.aws",
                     "x-forwarded-for": "198.51.100.66" },
        "requestContext": {
            "accountId": "anonymous", "apiId": "abc", "domainName": "abc.lambda-url.eu-west-1.on.aws",
            "domainPrefix": "abc", "requestId": "r1", "routeKey": "$default", "stage": "$default",
            "time": "24/Nov/2026:21:17:05 +0000", "timeEpoch": 1795555025000u64,
            "http": { "method": "POST", "path": "/api/cron/hourly", "protocol": "HTTP/1.1",
                      "sourceIp": "203.0.113.7", "userAgent": "eventbridge" }
        },
        "isBase64Encoded": false
    })
}

fn rest_event(auth: &str) -> Value {
    json!({
        "resource": "/api/cron/hourly", "path": "/api/cron/hourly", "httpMethod": "POST",
        "headers": { "Authorization": auth }, "multiValueHeaders": { "Authorization": [auth] },
        "queryStringParameters": null, "multiValueQueryStringParameters": null,
        "pathParameters": null, "stageVariables": null, "body": null, "isBase64Encoded": false,
        "requestContext": { "accountId": "000000000000", "resourceId": "r", "stage": "prod", "requestId": "r2",
                            "identity": { "sourceIp": "127.0.0.1" }, "resourcePath": "/api/cron/hourly",
                            "httpMethod": "POST", "apiId": "api", "path": "/prod/api/cron/hourly" }
    })
}

fn deadline_in(d: Duration) -> u64 {
    (SystemTime::now() + d)
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// The `hourly` binary polling a Runtime API on loopback, over the test's
/// database, with `env` on top of the Lambda variables.
struct Function {
    tx: mpsc::Sender<Invocation>,
    child: Child,
}

impl Function {
    async fn start(pool: &PgPool, env: &[(&str, &str)]) -> Self {
        let (tx, rx) = mpsc::channel(4);
        let api = RuntimeApi {
            events: Arc::new(Mutex::new(rx)),
            waiting: Arc::default(),
        };
        let app = axum::Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/{kind}", post(respond))
            .with_state(api);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let runtime_api = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_hourly"))
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
            .env("AWS_LAMBDA_FUNCTION_NAME", "hourly")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("DATABASE_URL", database_url(pool).await)
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        Self { tx, child }
    }

    /// Hands the function one invocation; its answer as `respond` records it.
    async fn call(&self, event: Value, deadline: Duration) -> Value {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((event, deadline_in(deadline), reply))
            .await
            .unwrap();
        answer.await.unwrap()
    }

    /// An HTTP event's answer: its status and its parsed body.
    async fn http(&self, event: Value, deadline: Duration) -> (u64, Value) {
        let answer = self.call(event, deadline).await;
        assert_eq!(answer["kind"], "response", "{answer}");
        let resp = &answer["payload"];
        let body: Value =
            serde_json::from_str(resp["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
        (resp["statusCode"].as_u64().unwrap(), body)
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn hourly_runs_under_the_lambda_runtime(pool: PgPool) {
    let mut function = Function::start(&pool, &[("CRON_SECRET", SECRET)]).await;
    let invoke = |event: Value, deadline: Duration| function.http(event, deadline);
    let minute = Duration::from_secs(60);
    let (status, _) = invoke(function_url_event("Bearer not-the-secret"), minute).await;
    assert_eq!(status, 401);
    assert_eq!(count(&pool, "SELECT count(*) FROM job_history").await, 0);
    // The throttle counts the failure against the sourceIp AWS wrote, not
    // the X-Forwarded-For the caller could.
    let scopes: Vec<String> =
        sqlx::query_scalar("SELECT scope FROM auth_throttle WHERE scope <> 'global'")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(scopes, ["ip:203.0.113.7"]);

    let (status, body) = invoke(function_url_event(&bearer()), Duration::from_secs(300)).await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (200, Some("completed")),
        "{body}"
    );
    // 300 s of invocation: the configured 280 s budget, less what has passed.
    assert!(
        (279_000..=280_000).contains(&body["budget_ms"].as_u64().unwrap()),
        "{body}"
    );
    let (status, body) = invoke(rest_event(&bearer()), minute).await;
    assert_eq!(
        (status, body["outcome"].as_str()),
        (200, Some("skipped_duplicate")),
        "{body}"
    );

    // The bugs table is locked by someone else: the forced run's SQL waits,
    // and a 23-second invocation gets a 3-second budget, answered as a
    // timeout well before Lambda would kill it.
    let mut blocker = pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE bugs IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *blocker)
        .await
        .unwrap();
    let mut forced = function_url_event(&bearer());
    forced["rawQueryString"] = json!("force=true");
    forced["queryStringParameters"] = json!({ "force": "true" });
    let started = std::time::Instant::now();
    let (status, body) = invoke(forced, Duration::from_secs(23)).await;
    let took = started.elapsed();
    blocker.rollback().await.unwrap();
    assert_eq!(
        (status, body["outcome"].as_str()),
        (504, Some("timeout")),
        "{body}"
    );
    assert!(body["budget_ms"].as_u64().unwrap() <= 3_000, "{body}");
    assert!(
        took < Duration::from_secs(23),
        "answered after the invocation's deadline: {took:?}"
    );
    let statuses: Vec<String> =
        sqlx::query_scalar("SELECT status FROM job_history ORDER BY started_at")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(statuses, ["completed", "timeout"]);
    function.child.kill().await.unwrap();
}

/// An event of tests/lambda-events/ (shared with scripts/lambda-e2e), its
/// `@TIME@` set to `time`.
fn event_file(name: &str, time: DateTime<Utc>) -> Value {
    let path = format!("{}/tests/lambda-events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str(&text.replace("@TIME@", &time.to_rfc3339_opts(SecondsFormat::Secs, true)))
        .unwrap()
}

/// A direct invocation's answer: the route's JSON as the result, or the
/// function error's type and message.
fn result_of(answer: &Value) -> Result<&Value, (&str, &str)> {
    match answer["kind"].as_str() {
        Some("response") => Ok(&answer["payload"]),
        _ => Err((
            answer["payload"]["errorType"].as_str().unwrap_or(""),
            answer["payload"]["errorMessage"].as_str().unwrap_or(""),
        )),
    }
}

/// EventBridge Scheduler's Lambda target and an EventBridge rule invoke the
/// function directly, authenticated by IAM: no CRON_SECRET is set here. The
/// slot is the event's time, so a duplicate (either shape) is one run and a
/// late delivery claims the slot it was meant for; a payload that is no
/// event is an error and no run. HTTP still fails closed without a secret.
#[sqlx::test(migrations = "./migrations")]
async fn scheduled_deliveries_are_invoked_directly(pool: PgPool) {
    let mut function = Function::start(&pool, &[]).await;
    let minute = Duration::from_secs(60);
    let runs = || async {
        sqlx::query_as::<_, (String, String, DateTime<Utc>)>(
            "SELECT status, trigger, slot FROM job_history ORDER BY slot",
        )
        .fetch_all(&pool)
        .await
        .unwrap()
    };
    let hour = Utc::now().duration_trunc(TimeDelta::hours(1)).unwrap();

    let answer = function
        .call(event_file("scheduler.json", hour), Duration::from_secs(300))
        .await;
    let first = result_of(&answer).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(first["outcome"], "completed", "{first}");
    assert_eq!(first["trigger"], "cron", "{first}");
    assert_eq!(
        first["slot"]
            .as_str()
            .map(|s| s.parse::<DateTime<Utc>>().unwrap()),
        Some(hour)
    );
    let run_id = first["run_id"].clone();

    // Delivered again (Lambda's async invocations are at least once), then
    // the same slot as an EventBridge rule delivers it: one run.
    for file in ["scheduler.json", "eventbridge-rule.json"] {
        let answer = function.call(event_file(file, hour), minute).await;
        let again = result_of(&answer).unwrap_or_else(|e| panic!("{file}: {e:?}"));
        assert_eq!(again["outcome"], "skipped_duplicate", "{file}: {again}");
        assert_eq!(again["existing_run"], run_id, "{file}: {again}");
    }

    // Two hours late: the slot it was meant for, not the current one.
    let late = hour - TimeDelta::hours(2);
    let answer = function
        .call(event_file("scheduler.json", late), minute)
        .await;
    let body = result_of(&answer).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(body["outcome"], "completed", "{body}");
    assert_eq!(
        body["slot"]
            .as_str()
            .map(|s| s.parse::<DateTime<Utc>>().unwrap()),
        Some(late)
    );

    // The Lambda console's sample event: refused, saying what to send.
    let answer = function
        .call(event_file("not-an-event.json", hour), minute)
        .await;
    let (kind, message) = result_of(&answer).unwrap_err();
    assert_eq!(kind, "nightshift.unrecognized_event", "{answer}");
    assert!(message.contains("Scheduled Event"), "{message}");
    // A time the scheduler cannot have meant: refused, as a function error.
    let answer = function
        .call(
            event_file("scheduler.json", hour + TimeDelta::hours(3)),
            minute,
        )
        .await;
    let (kind, message) = result_of(&answer).unwrap_err();
    assert_eq!(kind, "nightshift.bad_request", "{answer}");
    assert!(message.contains("in the future"), "{message}");

    let cron = |slot| ("completed".to_owned(), "cron".to_owned(), slot);
    assert_eq!(runs().await, [cron(late), cron(hour)]);

    // Over HTTP the bearer secret still guards the route: none is set, so
    // the call is refused (fail closed) and nothing runs.
    let (status, body) = function.http(function_url_event("Bearer x"), minute).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (500, Some("secret_not_configured"))
    );
    assert_eq!(runs().await.len(), 2);
    function.child.kill().await.unwrap();
}
