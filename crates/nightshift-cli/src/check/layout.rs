//! vercel.json against the files: every cron has a route binary and parses,
//! every cron route binary (api/cron/) has a cron, every function has its
//! binary, every cron function's maxDuration leaves room for the route's
//! budget. Functions outside api/cron (the status API) need no cron.

use std::path::Path;
use std::time::Duration;

use nightshift_core::Schedule;
use nightshift_core::schedule::{BOOKKEEPING_MARGIN, VercelJson};

use super::Problem;

pub fn check(dir: &Path) -> Vec<Problem> {
    let mut out = Vec::new();
    let text = match std::fs::read_to_string(dir.join("vercel.json")) {
        Ok(t) => t,
        Err(e) => {
            return vec![Problem::new(
                "vercel.json",
                format!("cannot be read ({e}); run from the project folder or pass --dir"),
            )];
        }
    };
    let vercel = match VercelJson::parse(&text) {
        Ok(v) => v,
        Err(e) => return vec![Problem::new("vercel.json", format!("{e}; fix the JSON"))],
    };
    let cargo = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap_or_default();
    let budget = std::env::var("JOB_BUDGET_SECS")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok());
    for cron in &vercel.crons {
        let path = cron.path.split('?').next().unwrap_or_default();
        let key = format!("{}.rs", path.trim_start_matches('/'));
        if !dir.join(&key).is_file() || !cargo.contains(&format!("path = \"{key}\"")) {
            out.push(Problem::new(
                format!("vercel.json crons[{}].path", cron.path),
                format!(
                    "no route binary {key} with a [[bin]] in Cargo.toml; add one or remove the cron"
                ),
            ));
        }
        if let Err(e) = Schedule::parse(&cron.schedule) {
            out.push(Problem::new(
                format!(
                    "vercel.json crons[{}].schedule {:?}",
                    cron.path, cron.schedule
                ),
                format!("{e}; use five fields in UTC, e.g. \"0 * * * *\""),
            ));
        }
        match vercel.functions.get(&key).and_then(|f| f.max_duration) {
            None => out.push(Problem::new(
                format!("vercel.json functions.\"{key}\".maxDuration"),
                "missing; set it above the route's budget (e.g. 300)",
            )),
            Some(max) => {
                let max = Duration::from_secs(max);
                let needed = budget
                    .map(Duration::from_secs_f64)
                    .unwrap_or(Duration::ZERO)
                    + BOOKKEEPING_MARGIN;
                if max <= needed {
                    out.push(Problem::new(
                        format!("vercel.json functions.\"{key}\".maxDuration = {}", max.as_secs()),
                        format!(
                            "must exceed the budget plus {} s of bookkeeping ({} s); raise it or lower JOB_BUDGET_SECS",
                            BOOKKEEPING_MARGIN.as_secs(),
                            needed.as_secs()
                        ),
                    ));
                }
            }
        }
    }
    let mut functions: Vec<&String> = vercel.functions.keys().collect();
    functions.sort();
    for key in functions {
        if !dir.join(key).is_file() || !cargo.contains(&format!("path = \"{key}\"")) {
            out.push(Problem::new(
                format!("vercel.json functions.\"{key}\""),
                "no such binary with a [[bin]] in Cargo.toml; add it or remove the entry",
            ));
        }
    }
    if let Ok(entries) = std::fs::read_dir(dir.join("api/cron")) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            let Some(stem) = name.strip_suffix(".rs") else {
                continue;
            };
            let path = format!("/api/cron/{stem}");
            if !vercel
                .crons
                .iter()
                .any(|c| c.path.split('?').next() == Some(path.as_str()))
            {
                out.push(Problem::new(
                    format!("api/cron/{name}"),
                    format!("no cron in vercel.json calls {path}; add {{\"path\": \"{path}\", \"schedule\": …}} or remove the route"),
                ));
            }
        }
    }
    out
}
