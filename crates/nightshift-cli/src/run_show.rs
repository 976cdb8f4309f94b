//! `nightshift runs show ID`: one run as its page tells it
//! (nightshift_status::run): trigger, attempt, slot, each task, the
//! follow-up. Text from the database (errors come from libraries and, through
//! GitHub, from anyone) is printed without control characters, so it cannot
//! move the cursor or recolour the terminal.

use clap::Subcommand;
use nightshift_status::redact::Redactor;
use nightshift_status::run::{self, RunDetail, RunRef};

use crate::listing::{self, Column, Listing, col, num};

#[derive(Subcommand)]
pub enum RunsCommand {
    /// One run: trigger, attempt, slot, each task's outcome and error, its follow-up.
    #[command(
        after_help = "Example:\n  nightshift runs show 123e4567-e89b-12d3-a456-426614174000\n  nightshift runs show 123e4567-e89b-12d3-a456-426614174000 --json"
    )]
    Show {
        /// The run's id (a UUID, as `nightshift runs` lists them).
        id: String,
        /// Print JSON (the body of GET /api/status/runs/{id}) instead of a table.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(command: RunsCommand) -> anyhow::Result<()> {
    let RunsCommand::Show { id, json } = command;
    let id = run::parse_id(&id).map_err(anyhow::Error::msg)?;
    // The same secrets the server hides are hidden here, if this shell has them.
    let redactor = nightshift_core::Config::from_env()
        .map(|c| Redactor::new(&c))
        .unwrap_or_default();
    let pool = crate::connect().await?;
    let Some(d) = run::fetch(&pool, &nightshift_tasks::specs(), id, &redactor).await? else {
        anyhow::bail!("no run {id} in job_history");
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&d)?);
        return Ok(());
    }
    print!("{}", header(&d));
    println!();
    listing::print(&d.tasks.iter().map(TaskRow).collect::<Vec<_>>(), false)
}

/// Text from the database, one line, without control characters.
pub fn clean(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            '\n' | '\r' | '\t' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect()
}

fn header(d: &RunDetail) -> String {
    let time = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    let reference = |r: &Option<RunRef>| {
        r.as_ref().map_or("-".into(), |r| {
            format!(
                "{} ({}, {}, attempt {})",
                r.id,
                clean(&r.status),
                clean(&r.trigger),
                r.attempt
            )
        })
    };
    let mut lines = vec![
        ("run", d.id.to_string()),
        (
            "job",
            format!("{} ({})", clean(&d.job_type), clean(&d.route)),
        ),
        ("status", clean(&d.status)),
        ("trigger", clean(&d.trigger)),
        (
            "attempt",
            format!("{} of at most {}", d.attempt, d.max_attempts),
        ),
        (
            "slot",
            match (&d.slot, &d.slot_local) {
                (Some(s), Some(l)) if l.zone != "UTC" => {
                    format!("{} ({})", time(*s), clean(&l.local))
                }
                (Some(s), _) => time(*s),
                (None, _) => "none (a forced run or a task subset)".into(),
            },
        ),
        ("started", time(d.started_at)),
        ("completed", d.completed_at.map_or("-".into(), time)),
        (
            "duration",
            d.duration_ms.map_or("-".into(), |ms| format!("{ms} ms")),
        ),
        (
            "more work",
            d.more_work
                .map_or("-".into(), |m| if m { "yes" } else { "no" }.into()),
        ),
        (
            "follow-up",
            d.follow_up.as_ref().map_or("none".into(), |f| {
                let mut s = format!("{} ({})", clean(&f.kind), f.state);
                if let Some(at) = f.due_at {
                    s.push_str(&format!(", due {}", time(at)));
                }
                if let Some(t) = &f.from_task {
                    s.push_str(&format!(", from task {}", clean(t)));
                }
                s
            }),
        ),
        ("followed by", reference(&d.followed_by)),
        ("follows", reference(&d.follows)),
    ];
    if let Some(e) = &d.error_message {
        lines.push(("error", clean(e)));
    }
    lines
        .into_iter()
        .map(|(k, v)| format!("{:<12} {v}\n", format!("{k}:")))
        .collect()
}

#[derive(serde::Serialize)]
struct TaskRow<'a>(&'a run::TaskLine);

impl Listing for TaskRow<'_> {
    const COLUMNS: &'static [Column] = &[
        col("TASK", 24),
        col("OUTCOME", 8),
        num("MS", 9),
        num("TRIES", 5),
        num("DONE", 8),
        num("FAILED", 7),
        col("MORE", 4),
        col("ERROR", 0),
    ];
    const EMPTY: &'static str = "(no task results: the run is still going, or was swept)";
    fn cells(&self) -> Vec<String> {
        let t = self.0;
        vec![
            clean(&t.name),
            clean(&t.status),
            t.duration_ms.to_string(),
            t.attempts.to_string(),
            t.records_processed.to_string(),
            t.records_failed.to_string(),
            if t.more_work { "yes" } else { "no" }.into(),
            clean(t.error.as_deref().or(t.warning.as_deref()).unwrap_or("")),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn control_characters_never_reach_the_terminal() {
        assert_eq!(clean("a\u{1b}[31mred\u{7}\nnext\tcol"), "a[31mred next col");
    }
}
