//! `nightshift check`: what would stop a deployment from working, found before
//! the first cron fires. Each problem is one line naming the file, key or
//! variable and what to do; the exit code is non-zero when there is any.
//! A project holding deploy/aws/template.yaml is also told when it is not
//! what its vercel.json gives (crate::deploy).

mod deadman;
mod layout;
mod remote;
mod setup;
mod zones;

use std::path::PathBuf;

use clap::Args;

#[derive(Args)]
pub struct CheckArgs {
    /// The project folder holding vercel.json, Cargo.toml and api/.
    #[arg(long, default_value = ".")]
    dir: PathBuf,
    /// A deployment to call: each route is asked `?dry_run=true` with CRON_SECRET.
    #[arg(long)]
    url: Option<String>,
    /// The deployment's secret, for --url; prefer the variable.
    #[arg(long, env = "CRON_SECRET", hide_env_values = true)]
    secret: Option<String>,
}

/// One thing to fix.
pub struct Problem {
    pub what: String,
    pub fix: String,
}

impl Problem {
    pub fn new(what: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            fix: fix.into(),
        }
    }
}

/// Returns the process exit code.
pub async fn check(args: CheckArgs) -> anyhow::Result<i32> {
    let mut problems = layout::check(&args.dir);
    problems.extend(crate::deploy::check_template(&args.dir));
    problems.extend(setup::check().await);
    if let Some(url) = &args.url {
        problems.extend(remote::check(&args.dir, url, args.secret.as_deref()).await);
    }
    for p in &problems {
        // A variable's problem points at its entry in the configuration reference
        // (docs/reference/configuration.md, generated from nightshift-env's table).
        match nightshift_env::vars::find(&p.what) {
            Some(var) => println!(
                "problem: {}: {} (docs/{})",
                p.what,
                p.fix,
                nightshift_env::vars::anchor(var.name)
            ),
            None => println!("problem: {}: {}", p.what, p.fix),
        }
    }
    for w in zones::warnings(&args.dir, chrono::Utc::now()) {
        println!("warning: {w}");
    }
    let code = if problems.is_empty() {
        println!(
            "ok: vercel.json, the environment{} look right",
            if args.url.is_some() {
                " and the deployment"
            } else {
                ""
            }
        );
        0
    } else {
        eprintln!("{} problem(s) found", problems.len());
        1
    };
    // What each route's dead-man check should expect, to set it up to match.
    for line in deadman::lines(&nightshift_tasks::specs(), chrono::Utc::now()) {
        println!("info: {line}");
    }
    Ok(code)
}
