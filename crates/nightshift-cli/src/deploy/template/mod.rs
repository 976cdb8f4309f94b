//! The AWS SAM template: the route and status functions, one EventBridge
//! Scheduler schedule per route (from vercel.json, docs/deploy/aws.md), the
//! roles, a dead-letter queue, and one HTTP API in front of every function,
//! because `BASE_URL` must reach each route at its own path (the heartbeat
//! calls `{BASE_URL}/api/cron/<route>`, crates/nightshift-core/src/kick.rs)
//! and a Function URL reaches one function only.

mod functions;
mod scheduler;

use super::yaml::{Node, int, list, map, s};

/// One route as the template needs it.
pub struct RouteIn {
    pub name: String,
    pub path: String,
    /// vercel.json's expression, and its EventBridge form.
    pub expr: String,
    pub eventbridge: String,
    pub zone: chrono_tz::Tz,
    pub timeout_secs: u64,
    /// How long Scheduler and Lambda may keep retrying a delivery.
    pub max_age_secs: i64,
}

pub struct Input {
    pub routes: Vec<RouteIn>,
    pub status_timeout_secs: u64,
    /// The scheduled event the route functions take as a direct invocation
    /// (crates/nightshift-http/src/lambda.rs).
    pub scheduled_event: String,
}

/// Scheduler retries a failed Invoke call (throttling, a service error)
/// with back-off until the event is `max_age_secs` old; this bounds the count.
const SCHEDULER_RETRIES: i64 = 10;
/// Lambda's own retries of a run that failed (the README's one retry).
const LAMBDA_RETRIES: i64 = 1;
/// Lambda keeps an asynchronous event at most six hours.
const LAMBDA_MAX_EVENT_AGE: i64 = 6 * 3600;

fn sub(v: &str) -> Node {
    map([("Fn::Sub", s(v))])
}
fn get_att(resource: &str, attribute: &str) -> Node {
    map([("Fn::GetAtt", list([s(resource), s(attribute)]))])
}
fn r(name: &str) -> Node {
    map([("Ref", s(name))])
}
fn logical(name: &str, suffix: &str) -> String {
    let mut c = name.chars();
    let first = c.next().map(|f| f.to_ascii_uppercase()).into_iter();
    first
        .chain(c.filter(|c| c.is_ascii_alphanumeric()))
        .collect::<String>()
        + suffix
}
fn secret(key: &str) -> Node {
    sub(&format!(
        "{{{{resolve:secretsmanager:${{SecretName}}:SecretString:{key}}}}}"
    ))
}

/// The parameter, else the HTTP API's own address.
fn base_url() -> Node {
    let api = sub("https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}");
    map([("Fn::If", list([s("HasBaseUrl"), r("BaseUrl"), api]))])
}

pub fn build(input: &Input) -> Node {
    let mut resources: Vec<(String, Node)> = vec![
        ("DeadLetterQueue".into(), scheduler::dead_letter_queue()),
        ("FunctionRole".into(), functions::function_role()),
        ("SchedulerRole".into(), scheduler::scheduler_role(input)),
        ("HttpApi".into(), functions::http_api()),
        ("HttpApiStage".into(), functions::http_api_stage()),
    ];
    for route in &input.routes {
        let f = logical(&route.name, "Function");
        resources.push((f.clone(), functions::route_function(route)));
        resources.push((
            logical(&route.name, "Schedule"),
            scheduler::schedule(route, &f, input),
        ));
        resources.extend(functions::api_routes(
            &route.name,
            &f,
            &[&format!("ANY {}", route.path)],
        ));
    }
    resources.push((
        "StatusFunction".into(),
        functions::status_function(input.status_timeout_secs),
    ));
    let status_paths = [
        "ANY /api/status",
        "ANY /api/status/{proxy+}",
        "GET /api/health",
        "GET /api/openapi.json",
    ];
    resources.extend(functions::api_routes(
        "status",
        "StatusFunction",
        &status_paths,
    ));
    map([
        ("AWSTemplateFormatVersion", s("2010-09-09")),
        ("Transform", s("AWS::Serverless-2016-10-31")),
        (
            "Description",
            s(
                "Nightshift: cron routes on AWS Lambda, scheduled by EventBridge Scheduler (docs/deploy/aws.md)",
            ),
        ),
        ("Parameters", parameters()),
        (
            "Conditions",
            map([(
                "HasBaseUrl",
                map([(
                    "Fn::Not",
                    list([map([("Fn::Equals", list([r("BaseUrl"), s("")]))])]),
                )]),
            )]),
        ),
        ("Globals", globals()),
        ("Resources", Node::Map(resources)),
        ("Outputs", outputs(input)),
    ])
}

fn parameters() -> Node {
    map([
        (
            "SecretName",
            map([
                ("Type", s("String")),
                ("Default", s("nightshift")),
                (
                    "Description",
                    s(
                        "Secrets Manager secret (JSON) holding CRON_SECRET and DATABASE_URL; CloudFormation resolves it when it deploys a function",
                    ),
                ),
            ]),
        ),
        (
            "BaseUrl",
            map([
                ("Type", s("String")),
                ("Default", s("")),
                (
                    "Description",
                    s(
                        "BASE_URL: your custom domain in front of HttpApi, with no trailing slash; empty for the HTTP API's own URL",
                    ),
                ),
            ]),
        ),
        (
            "OrgTimezone",
            map([
                ("Type", s("String")),
                ("Default", s("")),
                (
                    "Description",
                    s("ORG_TIMEZONE (reminders, the report week); empty for UTC"),
                ),
            ]),
        ),
        (
            "SecretRevision",
            map([
                ("Type", s("String")),
                ("Default", s("1")),
                (
                    "Description",
                    s(
                        "change it (e.g. to today's date) after changing the secret: CloudFormation reads the secret only when it updates a function",
                    ),
                ),
            ]),
        ),
    ])
}

fn globals() -> Node {
    map([(
        "Function",
        map([
            ("CodeUri", s("../..")),
            ("Handler", s("bootstrap")),
            ("Runtime", s("provided.al2023")),
            ("Architectures", list([s("arm64")])),
            (
                "Environment",
                map([(
                    "Variables",
                    map([
                        ("CRON_SECRET", secret("CRON_SECRET")),
                        ("DATABASE_URL", secret("DATABASE_URL")),
                        ("BASE_URL", base_url()),
                        ("ORG_TIMEZONE", r("OrgTimezone")),
                        // Read by nothing: a new value makes CloudFormation
                        // update the functions, resolving the secret again.
                        ("NIGHTSHIFT_SECRET_REVISION", r("SecretRevision")),
                    ]),
                )]),
            ),
        ]),
    )])
}

fn outputs(input: &Input) -> Node {
    let out = |desc: &str, value: Node| map([("Description", s(desc)), ("Value", value)]);
    let mut entries = vec![
        (
            "BaseUrl".to_owned(),
            out(
                "BASE_URL: every route and the status API at their paths",
                base_url(),
            ),
        ),
        (
            "StatusUrl".to_owned(),
            out(
                "the status function's own Function URL (the dashboard: api/status?format=html)",
                get_att("StatusFunctionUrl", "FunctionUrl"),
            ),
        ),
        (
            "DeadLetterQueueUrl".to_owned(),
            out("deliveries Scheduler gave up on", r("DeadLetterQueue")),
        ),
    ];
    for route in &input.routes {
        let f = logical(&route.name, "Function");
        entries.push((
            f.clone(),
            out(&format!("the {} route's function", route.path), r(&f)),
        ));
    }
    Node::Map(entries)
}
