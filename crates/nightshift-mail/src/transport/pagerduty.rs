//! PagerDuty Events API v2 (`POST /v2/enqueue`). The event comes composed
//! (crates/nightshift-tasks/src/delivery/events.rs) without its routing
//! key, which is added here at send time so it is never stored in the
//! outbox. PagerDuty answers 202 `{status, message, dedup_key}`; 400 for an
//! invalid event (its reasons in `errors`), 429 when throttled, 5xx.

use std::fmt;

use crate::config::DeliveryConfig;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::{HTTP_TIMEOUT, permanent, request_failed, status_error};
use crate::message::SendError;

const PROVIDER: &str = "pagerduty";

pub struct PagerDuty {
    http: reqwest::Client,
    url: String,
    routing_key: SecretString,
}

impl PagerDuty {
    /// `None` when no routing key is configured.
    pub fn from_config(cfg: &DeliveryConfig, http: reqwest::Client) -> Option<PagerDuty> {
        let s = &cfg.signals;
        Some(PagerDuty {
            http,
            url: s.pagerduty_events_url.clone(),
            routing_key: s.pagerduty_routing_key.clone()?,
        })
    }

    /// Sends one event (`event_action`, `dedup_key`, `payload`, `links`);
    /// returns the dedup key PagerDuty filed it under.
    pub async fn enqueue(&self, event: &Value) -> Result<Option<String>, SendError> {
        let Value::Object(fields) = event else {
            return Err(permanent(
                "pagerduty: the stored event is not a JSON object",
            ));
        };
        let mut fields = fields.clone();
        fields.insert(
            "routing_key".into(),
            Value::String(self.routing_key.expose_secret().to_owned()),
        );
        let resp = self
            .http
            .post(&self.url)
            .timeout(HTTP_TIMEOUT)
            .json(&fields)
            .send()
            .await
            .map_err(|e| request_failed(PROVIDER, e))?;
        let result = if resp.status() == StatusCode::ACCEPTED || resp.status().is_success() {
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            Ok(body["dedup_key"].as_str().map(str::to_owned))
        } else {
            // 400 (an invalid event) is final for this event; 429 and 5xx
            // come back transient; 401/403 refuse the key itself.
            Err(status_error(PROVIDER, "PAGERDUTY_ROUTING_KEY", resp).await)
        };
        match &result {
            Ok(_) => tracing::info!("pagerduty event accepted"),
            Err(e) => {
                tracing::warn!(permanent = e.is_permanent(), error = %e, "pagerduty event not accepted")
            }
        }
        result
    }
}

/// The routing key is a credential: only where events go is shown.
impl fmt::Debug for PagerDuty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PagerDuty")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}
