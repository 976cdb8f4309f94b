//! The per-task, outbox, work queue and alert families of `GET /api/metrics`
//! (crate::metrics).

use super::facts::Facts;
use super::family;

/// Every value a task's outcome takes (crates/nightshift-core/src/report.rs).
const TASK_OUTCOMES: [&str; 4] = ["success", "failed", "timeout", "skipped"];
const OUTBOX_CHANNELS: [&str; 4] = ["email", "slack", "pagerduty", "webhook"];
const OUTBOX_STATES: [&str; 4] = ["pending", "retrying", "sending", "dead"];
const SEVERITIES: [&str; 3] = ["info", "warning", "critical"];

pub(super) fn render_tasks(out: &mut String, facts: &Facts) {
    let name = "nightshift_task_last_duration_seconds";
    let mut fam = family(
        out,
        name,
        "How long the task took in the newest run that ran it.",
    );
    for t in &facts.tasks {
        if let Some(ms) = t.duration_ms {
            fam.sample(
                name,
                &[("job_type", &t.job_type), ("task", &t.task)],
                ms / 1000.0,
            );
        }
    }
    let name = "nightshift_task_last_outcome";
    let mut fam = family(
        out,
        name,
        "1 for the task's outcome in the newest run that ran it, 0 for the others.",
    );
    for t in &facts.tasks {
        for o in TASK_OUTCOMES {
            let labels = [
                ("job_type", t.job_type.as_str()),
                ("task", &t.task),
                ("outcome", o),
            ];
            fam.sample(name, &labels, f64::from(u8::from(o == t.outcome)));
        }
    }
}

pub(super) fn render_system(out: &mut String, facts: &Facts) {
    let get = |family: &str, a: &str, b: &str| {
        facts
            .system
            .iter()
            .find(|(f, x, y, _)| f == family && x == a && y == b)
            .map(|r| r.3)
    };
    let mut channels: Vec<&str> = OUTBOX_CHANNELS.to_vec();
    for (f, c, _, _) in &facts.system {
        if f.starts_with("outbox") && !channels.contains(&c.as_str()) {
            channels.push(c);
        }
    }
    let name = "nightshift_outbox_messages";
    let mut fam = family(
        out,
        name,
        "Outbox rows not yet sent, by channel and state (retrying: pending after a failed attempt).",
    );
    for c in &channels {
        for s in OUTBOX_STATES {
            fam.sample(
                name,
                &[("channel", c), ("state", s)],
                get("outbox", c, s).unwrap_or(0.0),
            );
        }
    }
    let name = "nightshift_outbox_oldest_pending_age_seconds";
    let mut fam = family(
        out,
        name,
        "Age of the oldest outbox row not yet sent (pending or sending), by channel; 0 when none.",
    );
    for c in &channels {
        fam.sample(
            name,
            &[("channel", c)],
            get("outbox_oldest", c, "").unwrap_or(0.0).max(0.0),
        );
    }
    let name = "nightshift_work_queue_depth";
    let mut fam = family(out, name, "Work queue items not finished, by status.");
    for s in ["pending", "running"] {
        fam.sample(name, &[("status", s)], get("queue", "", s).unwrap_or(0.0));
    }
    let name = "nightshift_work_queue_oldest_item_age_seconds";
    let mut fam = family(
        out,
        name,
        "Age of the oldest unfinished work queue item; 0 when the queue is empty.",
    );
    fam.sample(
        name,
        &[],
        get("queue_oldest", "", "").unwrap_or(0.0).max(0.0),
    );
    let name = "nightshift_alerts_open";
    let mut fam = family(out, name, "Open alerts, by severity.");
    for s in SEVERITIES {
        fam.sample(
            name,
            &[("severity", s)],
            get("alerts", s, "").unwrap_or(0.0),
        );
    }
}
