//! `nightshift trigger ROUTE --url BASE`: a route called over HTTP, as curl
//! would, with CRON_SECRET as the bearer token. Prints the answer; the exit
//! code is 0 only for a 2xx.

use std::time::Duration;

use anyhow::Context;
use clap::Args;

#[derive(Args)]
pub struct TriggerArgs {
    /// daily, hourly or weekly
    #[arg(value_parser = ["daily", "hourly", "weekly"])]
    route: String,
    /// The deployment, e.g. https://your-app.vercel.app or http://localhost:3000;
    /// https:// unless the host is loopback (the secret is sent to it).
    #[arg(long, env = "BASE_URL")]
    url: String,
    /// Extra query, e.g. force=true or tasks=watch_jobs.
    #[arg(long)]
    query: Option<String>,
    /// The bearer token; prefer the variable (a flag shows in the process list).
    #[arg(long, env = "CRON_SECRET", hide_env_values = true)]
    secret: Option<String>,
}

/// Returns the process exit code.
pub async fn trigger(args: TriggerArgs) -> anyhow::Result<i32> {
    let secret = args
        .secret
        .as_deref()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .context("CRON_SECRET is not set; trigger sends it as the bearer token")?;
    // The bearer goes to no host over plain HTTP but loopback: the rule of
    // BASE_URL, which this flag defaults to. Checked before anything is sent.
    nightshift_core::bearer_url(&args.url)
        .map_err(|reason| anyhow::anyhow!("--url (or BASE_URL) {reason}"))?;
    let mut url = format!(
        "{}/api/cron/{}",
        args.url.trim().trim_end_matches('/'),
        args.route
    );
    if let Some(q) = &args.query {
        url.push('?');
        url.push_str(q.trim_start_matches('?'));
    }
    // A daily run may take its whole maxDuration (800 s).
    let client = reqwest::Client::builder()
        .user_agent(concat!("nightshift-cli/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(900))
        .build()?;
    let resp = client
        .post(&url)
        .bearer_auth(secret)
        .send()
        .await
        .with_context(|| format!("calling {url}"))?;
    let status = resp.status();
    let text = resp.text().await.context("reading the answer")?;
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(v) => println!("{}", serde_json::to_string_pretty(&v)?),
        Err(_) => println!("{text}"),
    }
    eprintln!("HTTP {}", status.as_u16());
    Ok(if status.is_success() { 0 } else { 1 })
}
