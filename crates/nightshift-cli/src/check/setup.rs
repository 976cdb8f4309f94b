//! The environment the routes will read: required variables, the database
//! (reachable, migrated), a mail transport when reports are wanted, a GitHub
//! token that GitHub accepts.

use nightshift_core::db::MIGRATOR;
use nightshift_core::{Config, ConfigError, app::http_client};
use nightshift_tasks::TasksConfig;
use secrecy::ExposeSecret;

use super::Problem;

pub async fn check() -> Vec<Problem> {
    let mut out = Vec::new();
    // A weak or unusable secret is reported, and the rest still checked
    // without it (routes would answer 500: nightshift_core::SECRET_RULE).
    let mut dropped: Vec<&'static str> = Vec::new();
    let cfg = loop {
        let get = |k: &str| {
            (!dropped.contains(&k))
                .then(|| std::env::var(k).ok())
                .flatten()
        };
        match Config::from_lookup(get) {
            Ok(c) => break c,
            Err(ConfigError::Invalid { name, reason })
                if name.starts_with("CRON_SECRET") && !dropped.contains(&name) =>
            {
                out.push(Problem::new(name, reason));
                dropped.push(name);
            }
            Err(e) => return vec![Problem::new(e.to_string(), "fix the variable's value")],
        }
    };
    let env = match TasksConfig::from_env() {
        Ok(env) => env,
        Err(e) => return vec![Problem::new(e.to_string(), "fix the variable's value")],
    };
    if cfg.cron_secret.is_none() && !dropped.contains(&"CRON_SECRET") {
        out.push(Problem::new(
            "CRON_SECRET",
            "not set; every route answers 500 until it is (`openssl rand -hex 32` makes one)",
        ));
    }
    match &cfg.database_url {
        None => out.push(Problem::new(
            "DATABASE_URL",
            "not set; point it at your Postgres",
        )),
        Some(url) => out.extend(database(url.expose_secret(), cfg.pgbouncer_mode()).await),
    }
    let wants_mail = std::env::var("REPORT_EMAILS").is_ok_and(|v| !v.trim().is_empty());
    let transport = ["SMTP_URL", "RESEND_API_KEY", "SENDGRID_API_KEY"]
        .iter()
        .any(|k| std::env::var(k).is_ok_and(|v| !v.trim().is_empty()));
    if wants_mail && !transport {
        out.push(Problem::new(
            "REPORT_EMAILS",
            "is set but no mail transport is: set SMTP_URL, RESEND_API_KEY or SENDGRID_API_KEY",
        ));
    }
    if let Some(token) = &env.github_token {
        out.extend(github(&env.github_api_url, token.expose_secret()).await);
    }
    out
}

async fn database(url: &str, pooler: bool) -> Vec<Problem> {
    let opts = match nightshift_core::db::connect_options(url, pooler) {
        Ok(o) => o,
        Err(e) => return vec![Problem::new("DATABASE_URL", e.to_string())],
    };
    let pool = match sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(std::time::Duration::from_secs(5))
        .connect_with(opts)
        .await
    {
        Ok(p) => p,
        Err(e) => {
            let why = if nightshift_core::db::is_unavailable(&e) {
                "unreachable"
            } else {
                "refused the connection"
            };
            return vec![Problem::new(
                "DATABASE_URL",
                format!("the database is {why}; check host, port, credentials and network"),
            )];
        }
    };
    let applied: Option<i64> =
        // Runtime SQL: the migrator's own table, absent from the schema the
        // macros are checked against (scripts/sqlx-prepare applies the files).
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
            .fetch_one(&pool)
            .await
            .unwrap_or(None);
    let expected = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    let mut out = Vec::new();
    if applied.unwrap_or(0) < expected {
        out.push(Problem::new(
            "DATABASE_URL",
            format!(
                "schema is at migration {}, this build needs {expected}; run `nightshift migrate`",
                applied.unwrap_or(0)
            ),
        ));
    }
    pool.close().await;
    out
}

/// `/rate_limit` costs no quota and answers 401 for a bad token.
async fn github(api: &str, token: &str) -> Vec<Problem> {
    let resp = http_client()
        .get(format!("{api}/rate_limit"))
        .bearer_auth(token)
        .header("accept", "application/vnd.github+json")
        .send()
        .await;
    match resp {
        Ok(r) if r.status().is_success() => Vec::new(),
        Ok(r) if r.status().as_u16() == 401 => vec![Problem::new(
            "GITHUB_TOKEN",
            format!("rejected by {api} (401); create a new token"),
        )],
        Ok(r) => vec![Problem::new(
            "GITHUB_API_URL",
            format!("{api}/rate_limit answered {}; check the URL", r.status()),
        )],
        Err(e) => vec![Problem::new(
            "GITHUB_API_URL",
            format!("{api} is unreachable ({e}); check the URL and network"),
        )],
    }
}
