//! A Slack incoming webhook. Slack answers in plain text: `ok`, or an error
//! code such as `invalid_payload`, `no_service` or `channel_is_archived`.

use std::fmt;

use crate::config::DeliveryConfig;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use super::{HTTP_TIMEOUT, request_failed, status_error};
use crate::message::{SendError, SlackMessage};

const PROVIDER: &str = "slack";

/// The webhook URL is the credential: it is never logged or put in errors.
pub struct Slack {
    http: reqwest::Client,
    webhook_url: SecretString,
}

#[derive(Serialize)]
struct Body<'a> {
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    blocks: Option<&'a serde_json::Value>,
}

impl Slack {
    /// `None` when no webhook is configured.
    pub fn from_config(cfg: &DeliveryConfig, http: reqwest::Client) -> Option<Slack> {
        let webhook_url = cfg.slack_webhook_url.clone()?;
        Some(Slack::new(http, webhook_url))
    }

    pub fn new(http: reqwest::Client, webhook_url: SecretString) -> Slack {
        Slack { http, webhook_url }
    }

    pub async fn post(&self, msg: &SlackMessage) -> Result<(), SendError> {
        let body = Body {
            text: &msg.text,
            blocks: msg.blocks.as_ref(),
        };
        let resp = self
            .http
            .post(self.webhook_url.expose_secret())
            .timeout(HTTP_TIMEOUT)
            .json(&body)
            .send()
            .await
            .map_err(|e| request_failed(PROVIDER, e))?;
        let result = if resp.status() == StatusCode::OK {
            Ok(())
        } else {
            // 429 and 5xx come back transient; 401/403 (a revoked token)
            // refuse the webhook itself; 400 invalid_payload, 404 no_service
            // and 410 channel gone are Slack's final word.
            Err(status_error(PROVIDER, "SLACK_WEBHOOK_URL", resp).await)
        };
        match &result {
            Ok(()) => tracing::info!("slack message posted"),
            Err(e) => {
                tracing::warn!(permanent = e.is_permanent(), error = %e, "slack message not posted")
            }
        }
        result
    }
}

impl fmt::Debug for Slack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slack").finish_non_exhaustive()
    }
}
