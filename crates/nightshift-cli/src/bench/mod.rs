//! `nightshift bench PART`: measurements behind `scripts/bench`. Every figure
//! is a ratio of two things measured in the same run, round after round
//! (these machines are shared and noisy), printed with its median and spread.

mod daily;
mod hourly;
mod invoke;
mod metrics;
mod notify;
mod weekly;
mod write_floor;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use nightshift_core::{App, TaskContext};

#[derive(Args)]
pub struct BenchArgs {
    /// Which part to measure (storm lives in scripts/bench: it drives `wrk`).
    #[arg(value_parser = ["hourly", "invoke", "daily", "weekly", "notify", "metrics"])]
    part: String,
    /// Measured rounds (after one warm-up where the part has one).
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// invoke: the route binary to start cold (default: `hourly` next to this executable).
    #[arg(long)]
    route_binary: Option<PathBuf>,
    /// invoke: calls per side and round for the overhead figure.
    #[arg(long, default_value_t = 20)]
    calls: usize,
    /// daily: repositories of the fake GitHub.
    #[arg(long, default_value_t = 100)]
    repos: usize,
    /// daily: issues per repository.
    #[arg(long, default_value_t = 300)]
    issues: usize,
    /// daily: latency of every fake GitHub response, in milliseconds.
    #[arg(long, default_value_t = 50)]
    latency_ms: u64,
    /// daily: repositories in the work-queue figure (0 skips it).
    #[arg(long, default_value_t = 2000)]
    queue_repos: usize,
    /// daily: concurrent `?worker=true` invocations in the work-queue figure.
    #[arg(long, default_value_t = 4)]
    workers: usize,
    /// weekly: sync_events rows inserted for the archival figure.
    #[arg(long, default_value_t = 1_000_000)]
    sync_events: i64,
    /// notify: pending digests planted before a weekly run (0: measure the
    /// first hourly run instead).
    #[arg(long, default_value_t = 0)]
    planted: usize,
    /// metrics: job_history rows the scrape reads (planted up to this many).
    #[arg(long, default_value_t = 100_000)]
    history: i64,
}

pub async fn bench(args: BenchArgs) -> anyhow::Result<()> {
    match args.part.as_str() {
        "hourly" => hourly::bench(&args).await,
        "invoke" => invoke::bench(&args).await,
        "daily" => daily::bench(&args).await,
        "weekly" => weekly::bench(&args).await,
        "notify" => notify::bench(&args).await,
        "metrics" => metrics::bench(&args).await,
        other => anyhow::bail!("no bench part {other}"),
    }
}

/// What a task gets from the runtime, built by hand for a bare call.
pub(crate) fn bare_context(app: &Arc<App>, pool: &sqlx::PgPool, route: &str) -> TaskContext {
    let spec = app.route(route).expect("known route").spec.clone();
    TaskContext::with_client(
        pool.clone(),
        chrono::Utc::now(),
        spec.job_type,
        app.cfg.clone(),
        app.specs(),
        app.http.clone(),
    )
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub(crate) fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

/// Median, min and max (upper median for an even count).
pub(crate) fn spread(values: &[f64]) -> (f64, f64, f64) {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

/// `median (min–max)` with `digits` decimals.
pub(crate) fn show(values: &[f64], digits: usize) -> String {
    let (m, lo, hi) = spread(values);
    format!(
        "{m:.digits$} (spread {lo:.digits$}-{hi:.digits$}, n={})",
        values.len()
    )
}

#[cfg(test)]
mod tests {
    use super::spread;

    #[test]
    fn median_and_range() {
        assert_eq!(spread(&[3.0, 1.0, 2.0]), (2.0, 1.0, 3.0));
        assert_eq!(spread(&[4.0, 1.0]), (4.0, 1.0, 4.0));
        assert!(spread(&[]).0.is_nan());
    }
}
