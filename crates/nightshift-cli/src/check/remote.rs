//! `--url`: each deployed route asked `?dry_run=true` with CRON_SECRET, which
//! checks the secret, the deployment's database and schema, and runs nothing.

use std::path::Path;

use nightshift_core::Outcome;
use nightshift_core::app::http_client;
use nightshift_core::schedule::VercelJson;

use super::Problem;

pub async fn check(dir: &Path, base: &str, secret: Option<&str>) -> Vec<Problem> {
    let Some(secret) = secret else {
        return vec![Problem::new(
            "CRON_SECRET",
            "needed with --url to call the deployment",
        )];
    };
    let paths: Vec<String> = std::fs::read_to_string(dir.join("vercel.json"))
        .ok()
        .and_then(|t| VercelJson::parse(&t).ok())
        .and_then(|v| v.declared().ok())
        .map(|d| d.into_iter().map(|d| d.path).collect())
        .unwrap_or_default();
    let client = http_client();
    let mut out = Vec::new();
    for path in paths {
        let url = format!("{}{path}?dry_run=true", base.trim_end_matches('/'));
        let answer = client.get(&url).bearer_auth(secret.trim()).send().await;
        let problem = match answer {
            Err(e) => Some(format!("unreachable ({e}); check --url")),
            Ok(r) => {
                let status = r.status();
                let body: serde_json::Value = r.json().await.unwrap_or_default();
                let outcome = body["outcome"].as_str().and_then(Outcome::parse);
                match (status.as_u16(), outcome) {
                    (200, Some(Outcome::DryRun)) => None,
                    (401, _) => Some("401: the deployment's CRON_SECRET differs from yours".into()),
                    (code, _) => Some(format!(
                        "answered {code}: {}",
                        body["message"]
                            .as_str()
                            .unwrap_or("not a Nightshift answer; check --url")
                    )),
                }
            }
        };
        if let Some(fix) = problem {
            out.push(Problem::new(url, fix));
        }
    }
    out
}
