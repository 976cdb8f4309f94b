//! The checked-in OpenAPI description (crates/nightshift-status/openapi.json)
//! against the code (docs/decisions.md, 55): every path the routers serve is
//! described and nothing else; each cron route's options are the parser's and
//! its task enum is the registry's; the jobs of pause/resume are the routes';
//! and real answers (a run, a duplicate, errors, the status, a pause), served
//! on loopback over a fresh database, fit the schemas they are described by.
//! schemathesis (scripts/test) then fuzzes a running `nightshift serve`.

use std::collections::BTreeSet;

use crate::common::*;
use nightshift_core::options::VALID_KEYS;
use serde_json::Value;
use sqlx::PgPool;

fn doc() -> Value {
    serde_json::from_str(nightshift_status::openapi::DOCUMENT).expect("openapi.json is JSON")
}

/// Follows a local `$ref` (`#/components/...`).
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v["$ref"].as_str() {
        Some(r) => resolve(doc, doc.pointer(r.trim_start_matches('#')).expect(r)),
        None => v,
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn every_served_path_is_described_and_nothing_else() {
    let doc = doc();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1."));
    let described: BTreeSet<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let routes = routes();
    let mut served: BTreeSet<&str> = nightshift_status::paths().into_iter().collect();
    served.extend(routes.iter().map(|r| r.spec.path));
    assert_eq!(described, served);
}

#[test]
fn each_cron_route_describes_the_parsers_options_and_its_tasks() {
    let doc = doc();
    for route in routes() {
        let item = &doc["paths"][route.spec.path];
        let methods: BTreeSet<&str> = item
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .filter(|k| *k != "parameters")
            .collect();
        assert_eq!(
            methods,
            BTreeSet::from(["get", "post"]),
            "{}",
            route.spec.path
        );
        let params: Vec<&Value> = item["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| resolve(&doc, p))
            .collect();
        let names: BTreeSet<&str> = params.iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            VALID_KEYS.iter().copied().collect(),
            "{}",
            route.spec.path
        );
        let tasks = params.iter().find(|p| p["name"] == "tasks").unwrap();
        assert_eq!(
            strings(&tasks["schema"]["items"]["enum"]),
            route.task_names(),
            "{}: the tasks enum is the registry's, in its order",
            route.spec.path
        );
        // worker=true is described as valid exactly where a task works a queue.
        let worker = params.iter().find(|p| p["name"] == "worker").unwrap();
        let takes_true = misfit(&doc, &Value::Bool(true), &worker["schema"], "worker").is_none();
        assert_eq!(
            takes_true,
            route.tasks.iter().any(|t| t.drains_queue()),
            "{}: worker",
            route.spec.path
        );
    }
    let jobs = &doc["paths"]["/api/status/jobs/{job}/{action}"]["post"]["parameters"][0];
    let routes = routes();
    let mut expected: Vec<&str> = routes.iter().map(|r| r.spec.name).collect();
    expected.extend(routes.iter().map(|r| r.spec.job_type));
    assert_eq!(strings(&jobs["schema"]["enum"]), expected);
}

/// Why `value` does not fit `schema`, for the keywords the description uses.
fn misfit(doc: &Value, value: &Value, schema: &Value, at: &str) -> Option<String> {
    let schema = resolve(doc, schema);
    let fail = |why: String| Some(format!("{at}: {why} (value {value})"));
    if let Some(c) = schema.get("const") {
        return (c != value).then(|| format!("{at}: {value} is not {c}"));
    }
    if let Some(e) = schema.get("enum")
        && !e.as_array().unwrap().contains(value)
    {
        return fail(format!("not one of {e}"));
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(alts) = schema.get(key).and_then(Value::as_array) {
            let fits = alts
                .iter()
                .filter(|s| misfit(doc, value, s, at).is_none())
                .count();
            let ok = if key == "oneOf" { fits == 1 } else { fits > 0 };
            return (!ok).then(|| format!("{at}: {value} fits {fits} of {key}"));
        }
    }
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    if let Some(t) = schema["type"].as_str()
        && t != kind
        && !(t == "number" && kind == "integer")
    {
        return fail(format!("a {kind}, described as {t}"));
    }
    if let Some(min) = schema["minimum"].as_i64()
        && value.as_i64().is_some_and(|n| n < min)
    {
        return fail(format!("below {min}"));
    }
    if let (Some(items), Value::Array(vs)) = (schema.get("items"), value) {
        return vs
            .iter()
            .enumerate()
            .find_map(|(i, v)| misfit(doc, v, items, &format!("{at}[{i}]")));
    }
    let Value::Object(fields) = value else {
        return None;
    };
    for required in schema["required"].as_array().into_iter().flatten() {
        if !fields.contains_key(required.as_str().unwrap()) {
            return fail(format!("{required} is missing"));
        }
    }
    let props = schema["properties"].as_object();
    for (k, v) in fields {
        match props.and_then(|p| p.get(k)) {
            Some(s) => {
                if let Some(why) = misfit(doc, v, s, &format!("{at}.{k}")) {
                    return Some(why);
                }
            }
            None if schema["additionalProperties"] == false => {
                return fail(format!("{k} is not described"));
            }
            None => {}
        }
    }
    None
}

/// The JSON schema the description gives `path`'s `method` answer `status`.
fn answer_schema<'a>(doc: &'a Value, path: &str, method: &str, status: u16) -> &'a Value {
    let op = &doc["paths"][path][method];
    let resp = resolve(doc, &op["responses"][status.to_string()]);
    assert!(
        resp.is_object(),
        "{method} {path}: {status} is not described"
    );
    &resp["content"]["application/json"]["schema"]
}

async fn check(doc: &Value, base: &str, method: &str, path: &str, auth: bool) -> Answer {
    let client = reqwest::Client::new();
    let url = format!("{base}{path}");
    let mut req = match method {
        "get" => client.get(&url),
        _ => client.post(&url),
    };
    if auth {
        req = req.header("authorization", bearer());
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body: Value = resp.json().await.unwrap();
    let template = path.split('?').next().unwrap();
    let template = if template.starts_with("/api/status/jobs/") {
        "/api/status/jobs/{job}/{action}"
    } else if template.starts_with("/api/status/runs/") {
        "/api/status/runs/{id}"
    } else {
        template
    };
    let schema = answer_schema(doc, template, method, status);
    if let Some(why) = misfit(doc, &body, schema, "answer") {
        panic!("{method} {path} answered {status} outside its description: {why}");
    }
    Answer {
        status,
        headers,
        body,
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn real_answers_fit_their_description(pool: PgPool) {
    let doc = doc();
    let t = real_app(&pool);
    let base = serve_all(t.app.clone()).await;
    let run = check(&doc, &base, "post", "/api/cron/hourly", true).await;
    assert_eq!(
        (run.status, run.body["outcome"].as_str()),
        (200, Some("completed"))
    );
    let id = run.body["run_id"].as_str().unwrap();
    let one = check(&doc, &base, "get", &format!("/api/status/runs/{id}"), true).await;
    assert_eq!(
        (one.status, one.body["tasks"].as_array().map(Vec::len)),
        (200, Some(route_tasks()))
    );
    let unknown = "/api/status/runs/00000000-0000-4000-8000-000000000000";
    assert_eq!(check(&doc, &base, "get", unknown, true).await.status, 404);
    assert_eq!(
        check(&doc, &base, "get", "/api/status/runs/x", true)
            .await
            .status,
        400
    );
    let again = check(&doc, &base, "get", "/api/cron/hourly", true).await;
    assert_eq!(again.body["outcome"], "skipped_duplicate");
    let dry = check(&doc, &base, "get", "/api/cron/daily?dry_run=true", true).await;
    assert_eq!(dry.body["outcome"], "dry_run");
    let refused = check(&doc, &base, "post", "/api/cron/weekly", false).await;
    assert_eq!(refused.status, 401);
    assert_eq!(refused.headers["www-authenticate"], "Bearer");
    let bad = check(&doc, &base, "get", "/api/cron/hourly?tasks=nope", true).await;
    assert_eq!(bad.status, 400);
    let paused = check(&doc, &base, "post", "/api/status/jobs/hourly/pause", true).await;
    assert_eq!(paused.body["paused"], true);
    let skipped = check(&doc, &base, "post", "/api/cron/hourly?force=true", true).await;
    assert_eq!(skipped.body["outcome"], "skipped_paused");
    let status = check(&doc, &base, "get", "/api/status", true).await;
    assert_eq!(status.status, 200);
    assert!(
        status.body["jobs"][0]["paused"].is_object(),
        "{}",
        status.body
    );

    // The description itself, as served.
    let served: Value = reqwest::get(format!("{base}/api/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(served, doc);
}

/// The hourly route's tasks: a run of it reports each.
fn route_tasks() -> usize {
    routes()
        .iter()
        .find(|r| r.spec.path == "/api/cron/hourly")
        .unwrap()
        .tasks
        .len()
}

#[test]
fn the_checker_catches_an_undescribed_field() {
    let doc = doc();
    let schema = &doc["components"]["schemas"]["Error"];
    let good = serde_json::json!({"outcome": "error", "error": "unauthorized", "message": "m"});
    assert_eq!(misfit(&doc, &good, schema, "e"), None);
    let extra =
        serde_json::json!({"outcome": "error", "error": "unauthorized", "message": "m", "x": 1});
    assert!(misfit(&doc, &extra, schema, "e").is_some());
    let wrong = serde_json::json!({"outcome": "error", "error": "nope", "message": "m"});
    assert!(misfit(&doc, &wrong, schema, "e").is_some());
}
