//! vercel.json against the files: every schedule (`crons` or `schedules`)
//! parses and has a route binary, every route binary (api/cron/) has one, every function has its
//! binary, every cron function's maxDuration leaves room for the route's
//! budget. Functions outside api/cron (the status API) need no cron.

use std::path::Path;
use std::time::Duration;

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
    // A bad entry or a path declared twice stops every route at start.
    let (declared, problems) = vercel.check_all();
    for e in problems {
        let text = e.to_string();
        let (what, fix) = text.split_once(": ").unwrap_or(("vercel.json", &text));
        out.push(Problem::new(what, fix));
    }
    let cargo = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap_or_default();
    let budget = std::env::var("JOB_BUDGET_SECS")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok());
    for d in &declared {
        let key = format!("{}.rs", d.path.trim_start_matches('/'));
        if !dir.join(&key).is_file() || !cargo.contains(&format!("path = \"{key}\"")) {
            out.push(Problem::new(
                format!("vercel.json {}.path {:?}", d.source, d.path),
                format!(
                    "no route binary {key} with a [[bin]] in Cargo.toml; add one or remove the schedule"
                ),
            ));
        }
    }
    // Every scheduled route's function, and every cron function even when
    // its schedule is broken: both limits must be right before it runs.
    let mut keys: Vec<String> = declared
        .iter()
        .map(|d| format!("{}.rs", d.path.trim_start_matches('/')))
        .chain(
            vercel
                .functions
                .keys()
                .filter(|k| k.starts_with("api/cron/"))
                .cloned(),
        )
        .collect();
    keys.sort();
    keys.dedup();
    for key in keys {
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
            if !vercel.paths().contains(&path) {
                out.push(Problem::new(
                    format!("api/cron/{name}"),
                    format!("no schedule in vercel.json calls {path}; add {{\"path\": \"{path}\", \"schedule\": …}} to `schedules` or remove the route"),
                ));
            }
        }
    }
    out
}
