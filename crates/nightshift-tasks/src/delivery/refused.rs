//! A provider that refuses our credentials (a revoked API key, a wrong SMTP
//! password, a deleted Slack app) refuses every message on that channel: it
//! is the channel's failure, not the message's. The channel stops for the
//! run, the claimed row goes back without burning an attempt (otherwise a
//! batch would die in four runs for one bad key), and one alert names the
//! variable to fix; the health check reads that alert.

use std::sync::Mutex;

use crate::TasksConfig;
use nightshift_core::TaskContext;
use nightshift_mail::SendError;
use serde_json::json;

use super::outbox::{self, Claimed};
use crate::alerts::Finding;

/// The `alerts.kind` of a refused channel; `health_system` looks for it.
pub const KIND: &str = "delivery_auth_refused";

pub struct Refusal {
    pub channel: String,
    pub variable: &'static str,
    pub message: String,
}

/// Channels refused so far in a batch: (channel, variable, message).
pub type Stopped = Mutex<Vec<(String, &'static str, String)>>;

pub fn note<T>(stopped: &Stopped, channel: &str, result: &Result<T, SendError>) {
    if let Err(SendError::AuthRefused { variable, message }) = result {
        let mut s = stopped.lock().unwrap_or_else(|p| p.into_inner());
        s.push((channel.to_owned(), variable, message.clone()));
    }
}

/// The refusal to answer, without a call, for a row of a refused channel.
pub fn stopped(stopped: &Stopped, channel: &str) -> Option<SendError> {
    let s = stopped.lock().unwrap_or_else(|p| p.into_inner());
    s.iter()
        .find(|(c, ..)| c == channel)
        .map(|(_, variable, message)| SendError::AuthRefused {
            variable,
            message: message.clone(),
        })
}

/// Puts `row` back and stops its channel; records the first refusal of each
/// channel for the alert.
pub async fn refuse(
    ctx: &TaskContext<TasksConfig>,
    row: &Claimed,
    variable: &'static str,
    message: &str,
    channels: &mut Vec<String>,
    refusals: &mut Vec<Refusal>,
) -> anyhow::Result<()> {
    outbox::release(&ctx.pool, row, message).await?;
    channels.retain(|c| *c != row.channel);
    if !refusals.iter().any(|r| r.channel == row.channel) {
        tracing::error!(channel = %row.channel, variable, error = %message,
                        "the provider refused our credentials; channel stopped for this run");
        refusals.push(Refusal {
            channel: row.channel.clone(),
            variable,
            message: message.to_owned(),
        });
    }
    Ok(())
}

pub fn finding(r: &Refusal) -> Finding {
    Finding {
        dedupe_key: format!("outbox:auth:{}", r.channel),
        kind: KIND,
        severity: "critical",
        title: format!(
            "{} was refused: {} notifications are on hold",
            r.variable, r.channel
        ),
        message: format!(
            "{}. The {} notifications stay pending and go out once {} is fixed.",
            r.message, r.channel, r.variable
        ),
        details: json!({ "channel": r.channel, "variable": r.variable }),
        project_id: None,
    }
}
