//! `nightshift status`: the facts of `GET /api/status` (the same code
//! gathers them), as a table or JSON.

use chrono::Utc;
use clap::Args;
use nightshift_status::data::{self, Stats};

#[derive(Args)]
pub struct StatusArgs {
    /// Print JSON (the body of GET /api/status) instead of a table.
    #[arg(long)]
    json: bool,
    /// Runs shown per job.
    #[arg(long, default_value_t = 5)]
    limit: usize,
}

pub async fn status(args: StatusArgs) -> anyhow::Result<()> {
    let pool = crate::connect().await?;
    let delivery = nightshift_mail::DeliveryConfig::from_env()?;
    let specs = nightshift_tasks::specs();
    let mut status = data::collect(&pool, &specs, &delivery, Utc::now()).await?;
    for job in &mut status.jobs {
        job.recent_runs.truncate(args.limit);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&status)?);
        return Ok(());
    }
    println!("health: {}", status.health.status);
    for r in &status.health.reasons {
        println!("  - {r}");
    }
    println!();
    println!(
        "{:<15} {:<8} {:<10} {:<17} {:<17} {:>7} {:>9} {:>9} {:>5}",
        "JOB",
        "STATE",
        "LAST",
        "LAST RUN (UTC)",
        "NEXT RUN (UTC)",
        "OK 7D",
        "AVG MS",
        "P95 MS",
        "FAILS"
    );
    for j in &status.jobs {
        let state = if j.paused.is_some() {
            "paused"
        } else if j.running_now.is_some() {
            "running"
        } else {
            "active"
        };
        println!(
            "{:<15} {:<8} {:<10} {:<17} {:<17} {:>7} {:>9} {:>9} {:>5}",
            j.job_type,
            state,
            j.last_run.as_ref().map_or("never", |r| r.status.as_str()),
            j.last_run.as_ref().map_or("-".into(), |r| r
                .started_at
                .format("%Y-%m-%d %H:%M")
                .to_string()),
            j.next_run_at
                .map_or("-".into(), |t| t.format("%Y-%m-%d %H:%M").to_string()),
            rate(&j.stats_7d),
            ms(j.stats_7d.avg_duration_ms),
            ms(j.stats_7d.p95_duration_ms),
            j.consecutive_failures,
        );
    }
    // Each schedule on its own wall clock, UTC beside it (issue 31).
    println!();
    println!("{:<15} {:<32} NEXT RUN", "JOB", "SCHEDULE");
    for (spec, j) in specs.iter().zip(&status.jobs) {
        let next = j.next_run_at.map_or("-".into(), |t| spec.schedule.show(t));
        println!("{:<15} {:<32} {next}", j.job_type, spec.schedule.describe());
        if !j.skipped_soon.is_empty() {
            println!(
                "{:<15} will not run at {} {} (the clocks go forward)",
                "",
                j.skipped_soon.join(", ").replace('T', " "),
                j.timezone
            );
        }
    }
    println!();
    println!(
        "{:<15} {:<10} {:<7} {:<20} {:>9}  ERROR",
        "JOB", "STATUS", "TRIGGER", "STARTED (UTC)", "MS"
    );
    for j in &status.jobs {
        if j.recent_runs.is_empty() {
            println!("{:<15} {:<10}", j.job_type, "never run");
        }
        for r in &j.recent_runs {
            println!(
                "{:<15} {:<10} {:<7} {:<20} {:>9}  {}",
                j.job_type,
                r.status,
                r.trigger,
                r.started_at.format("%Y-%m-%d %H:%M:%S"),
                r.duration_ms.map_or("-".into(), |m| m.to_string()),
                short(r.error_message.as_deref().unwrap_or(""), 60),
            );
        }
    }
    println!();
    println!(
        "open alerts: {} · outbox: {} waiting, {} dead · work queue: {} pending, {} running, {} failed",
        status.open_alerts.len(),
        status.outbox.depth,
        status.outbox.dead,
        status.work_queue.pending,
        status.work_queue.running,
        status.work_queue.failed
    );
    Ok(())
}

fn rate(s: &Stats) -> String {
    s.success_rate
        .map_or("-".into(), |r| format!("{:.0}%", r * 100.0))
}

fn ms(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.0}"))
}

/// One line of at most `n` characters, without control characters: text
/// from the database (a GitHub title, a provider's error) can hold terminal
/// escape sequences, which must not reach the operator's terminal.
pub fn short(s: &str, n: usize) -> String {
    let one_line = crate::run_show::clean(s);
    if one_line.chars().count() > n {
        one_line.chars().take(n - 1).collect::<String>() + "…"
    } else {
        one_line
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn short_text_carries_no_escape_sequence() {
        let title = "\u{1b}[2J\u{1b}]0;pwned\u{7}Fix\nlogin\u{9b}31m";
        let shown = super::short(title, 60);
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
        assert_eq!(shown, "[2J]0;pwnedFix login31m");
        assert_eq!(super::short("abcdef", 4), "abc…");
    }
}
