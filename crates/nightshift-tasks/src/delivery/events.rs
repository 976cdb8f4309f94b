//! What PagerDuty and the webhook receive: the JSON of each alert
//! transition and of a failed run, composed once when the transition is
//! enqueued (crate::delivery::signals), so every retry sends the same bytes.
//! Shapes: docs/operate/notifications.md. Free text (titles, messages,
//! errors) goes through the run page's redactor: no URL credentials or
//! configured secrets leave in an event.

use chrono::{DateTime, SecondsFormat, Utc};
use nightshift_core::Config;
use nightshift_core::redact::Redactor;
use serde_json::{Value, json};
use uuid::Uuid;

/// An alert as the events tell it (a row of `alerts`).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Alert {
    pub id: i64,
    pub dedupe_key: String,
    pub source: String,
    pub kind: String,
    pub severity: String,
    pub title: String,
    pub message: String,
    pub details: Value,
    pub raised_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// A run whose failure is final (a row of `job_history`).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct FailedRun {
    pub id: Uuid,
    pub job_type: String,
    pub route: String,
    pub slot: Option<DateTime<Utc>>,
    pub status: String,
    pub trigger: String,
    pub attempt: i32,
    pub max_attempts: i32,
    pub started_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub error_message: Option<String>,
}

/// Where an event's links point, and what must not leave in it.
pub struct Context<'a> {
    pub cfg: &'a Config,
    pub redactor: Redactor,
}

impl<'a> Context<'a> {
    pub fn new(cfg: &'a Config) -> Self {
        Self {
            cfg,
            redactor: Redactor::new(cfg),
        }
    }

    fn text(&self, s: &str, max: usize) -> String {
        truncate(&self.redactor.apply(s), max)
    }

    /// The run an alert is about, when it names one (`slot_not_healed`).
    fn alert_run(&self, a: &Alert) -> Option<Uuid> {
        a.details.get("run_id")?.as_str()?.parse().ok()
    }

    /// Details are our own figures, yet pass the redactor as text too.
    fn details(&self, v: &Value) -> Value {
        serde_json::from_str(&self.redactor.apply(&v.to_string())).unwrap_or(json!({}))
    }
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

/// Alerts that page: every critical one, and a slot the ledger gave up on
/// whatever its severity (the words: a slot nobody will heal).
pub fn pages(a: &Alert) -> bool {
    a.severity == "critical" || a.kind == "slot_not_healed"
}

/// Ours (info, warning, critical) are among PagerDuty's four.
fn pagerduty_severity(severity: &str) -> &'static str {
    match severity {
        "critical" => "critical",
        "warning" => "warning",
        "info" => "info",
        _ => "error",
    }
}

/// The PagerDuty `source`: the deployment's host when BASE_URL says it.
fn source(cfg: &Config) -> String {
    cfg.base_url
        .as_deref()
        .and_then(|b| b.split("://").nth(1))
        .and_then(|rest| rest.split(['/', '?', '#']).next())
        .map(|h| h.rsplit('@').next().unwrap_or(h).to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "nightshift".to_owned())
}

/// `trigger`, under the alert's own dedupe key: PagerDuty folds a repeat
/// into the open incident, and the resolve finds it.
pub fn pagerduty_trigger(cx: &Context, a: &Alert) -> Value {
    let run_url = cx.alert_run(a).and_then(|id| cx.cfg.run_page_url(&id));
    let status_url = cx.cfg.dashboard_url();
    let links: Vec<Value> = [(&run_url, "The run"), (&status_url, "Nightshift status")]
        .into_iter()
        .filter_map(|(href, text)| href.as_ref().map(|h| json!({ "href": h, "text": text })))
        .collect();
    let mut event = json!({
        "event_action": "trigger",
        "dedup_key": a.dedupe_key,
        "payload": {
            // PagerDuty's limit on the summary.
            "summary": cx.text(&format!("[{}] {}", a.severity.to_uppercase(), a.title), 1000),
            "source": source(cx.cfg),
            "severity": pagerduty_severity(&a.severity),
            "timestamp": ts(a.raised_at),
            "component": a.source,
            "class": a.kind,
            "custom_details": {
                "message": cx.text(&a.message, 2000),
                "alert_id": a.id,
                "details": cx.details(&a.details),
            },
        },
        "links": links,
        "client": "Nightshift",
    });
    if let Some(url) = status_url {
        event["client_url"] = json!(url);
    }
    event
}

pub fn pagerduty_resolve(a: &Alert) -> Value {
    json!({ "event_action": "resolve", "dedup_key": a.dedupe_key })
}

/// `alert.raised` or `alert.resolved`, in the Standard Webhooks payload
/// shape (`type`, `timestamp`, `data`).
pub fn webhook_alert(cx: &Context, a: &Alert, resolved: bool) -> Value {
    let (kind, at) = match (resolved, a.resolved_at) {
        (true, Some(at)) => ("alert.resolved", at),
        _ => ("alert.raised", a.raised_at),
    };
    let run_id = cx.alert_run(a);
    json!({
        "type": kind,
        "timestamp": ts(at),
        "data": {
            "alert_id": a.id,
            "dedupe_key": a.dedupe_key,
            "source": a.source,
            "kind": a.kind,
            "severity": a.severity,
            "title": cx.text(&a.title, 500),
            "message": cx.text(&a.message, 2000),
            "details": cx.details(&a.details),
            "raised_at": ts(a.raised_at),
            "resolved_at": a.resolved_at.filter(|_| resolved).map(ts),
            "run_id": run_id,
            "run_url": run_id.and_then(|id| cx.cfg.run_page_url(&id)),
            "status_url": cx.cfg.dashboard_url(),
        },
    })
}

/// `run.failed`: a run whose failure nothing will retry.
pub fn webhook_run_failed(cx: &Context, r: &FailedRun) -> Value {
    json!({
        "type": "run.failed",
        "timestamp": ts(r.completed_at.unwrap_or(r.started_at)),
        "data": {
            "run_id": r.id,
            "job_type": r.job_type,
            "route": r.route,
            "status": r.status,
            "trigger": r.trigger,
            "attempt": r.attempt,
            "max_attempts": r.max_attempts,
            "slot": r.slot.map(ts),
            "started_at": ts(r.started_at),
            "completed_at": r.completed_at.map(ts),
            "error": r.error_message.as_deref().map(|e| cx.text(e, 2000)),
            "run_url": cx.cfg.run_page_url(&r.id),
            "status_url": cx.cfg.dashboard_url(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn alert(severity: &str, kind: &str) -> Alert {
        let run = "0b9e2e4c-6c53-4f5e-9d0b-3a3c1f6b2a10";
        Alert {
            id: 7,
            dedupe_key: "ledger:slot_not_healed:daily_sync".into(),
            source: "ledger".into(),
            kind: kind.into(),
            severity: severity.into(),
            title: "daily_sync gave up after 3 attempts".into(),
            message: "connect postgres://app:pw@db.internal/x failed; token s3cret-cron-value"
                .into(),
            details: json!({ "run_id": run }),
            raised_at: DateTime::parse_from_rfc3339("2026-12-01T02:20:00Z")
                .unwrap()
                .into(),
            resolved_at: None,
        }
    }

    fn cfg() -> Config {
        Config {
            base_url: Some("https://ops.example.com".into()),
            cron_secret: Some(SecretString::from("s3cret-cron-value")),
            ..Config::default()
        }
    }

    #[test]
    fn a_trigger_names_the_alert_links_the_run_and_leaks_nothing() {
        let cfg = cfg();
        let cx = Context::new(&cfg);
        let e = pagerduty_trigger(&cx, &alert("critical", "slot_not_healed"));
        assert_eq!(e["dedup_key"], "ledger:slot_not_healed:daily_sync");
        assert_eq!(e["payload"]["severity"], "critical");
        assert_eq!(e["payload"]["source"], "ops.example.com");
        assert_eq!(
            e["links"][0]["href"],
            "https://ops.example.com/api/status/runs/0b9e2e4c-6c53-4f5e-9d0b-3a3c1f6b2a10?format=html"
        );
        let text = e.to_string();
        assert!(
            !text.contains("app:pw") && !text.contains("s3cret-cron-value"),
            "{text}"
        );
        assert!(e.get("routing_key").is_none(), "added at send time only");
        assert!(pages(&alert("warning", "slot_not_healed")));
        assert!(!pages(&alert("warning", "revenue_at_risk")));
        assert_eq!(pagerduty_severity("warning"), "warning");
    }

    #[test]
    fn webhook_events_say_which_transition() {
        let cfg = cfg();
        let cx = Context::new(&cfg);
        let mut a = alert("warning", "revenue_at_risk");
        assert_eq!(webhook_alert(&cx, &a, false)["type"], "alert.raised");
        a.resolved_at = Some(a.raised_at + chrono::Duration::hours(2));
        let e = webhook_alert(&cx, &a, true);
        assert_eq!(e["type"], "alert.resolved");
        assert_eq!(e["timestamp"], "2026-12-01T04:20:00Z");
        assert_eq!(
            e["data"]["message"],
            "connect postgres://***@db.internal/x failed; token [redacted]"
        );
    }
}
