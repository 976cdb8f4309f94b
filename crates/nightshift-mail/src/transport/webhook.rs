//! The generic alert webhook, signed per the Standard Webhooks spec
//! (standardwebhooks.com): `webhook-id`, `webhook-timestamp` and
//! `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`
//! under the key bytes of `whsec_…`, so any Standard Webhooks library
//! verifies it (scripts/test-webhooks checks with the reference one).
//!
//! The id is the outbox row's, so a retry carries the same id and the
//! receiver can drop a repeat; the timestamp is the attempt's, since
//! receivers refuse signatures older than a few minutes.

use std::fmt;

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use secrecy::{ExposeSecret, SecretSlice, SecretString};

use super::{HTTP_TIMEOUT, request_failed, status_error, transient};
use crate::config::DeliveryConfig;
use crate::message::SendError;

const PROVIDER: &str = "webhook";

/// The URL may hold a token and the key signs: neither is ever shown.
pub struct Webhook {
    http: reqwest::Client,
    url: SecretString,
    key: SecretSlice<u8>,
}

/// `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")).
pub fn sign_webhook(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    let mut mac =
        Hmac::<hmac_sha2::Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    format!("v1,{sig}")
}

impl Webhook {
    /// `None` unless both the URL and the secret are set (the settings
    /// refuse one without the other).
    pub fn from_config(cfg: &DeliveryConfig, http: reqwest::Client) -> Option<Webhook> {
        let s = &cfg.signals;
        Some(Webhook {
            http,
            url: s.webhook_url.clone()?,
            key: s.webhook_secret.clone()?,
        })
    }

    /// POSTs `body` (JSON) signed at `timestamp` (Unix seconds).
    pub async fn post(&self, id: &str, timestamp: i64, body: &str) -> Result<(), SendError> {
        let signature = sign_webhook(self.key.expose_secret(), id, timestamp, body);
        let resp = self
            .http
            .post(self.url.expose_secret())
            .timeout(HTTP_TIMEOUT)
            .header(CONTENT_TYPE, "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body.to_owned())
            .send()
            .await
            .map_err(|e| request_failed(PROVIDER, e))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        Err(
            match status_error(PROVIDER, "ALERT_WEBHOOK_SECRET", resp).await {
                // Only a receiver saying this very event is unacceptable is
                // final; a 404 or 410 while it is being redeployed, or a proxy's
                // page, is an outage to wait out like a 5xx.
                SendError::Permanent { message } if !final_refusal(status) => {
                    transient(message, None)
                }
                other => other,
            },
        )
    }
}

fn final_refusal(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::BAD_REQUEST | StatusCode::PAYLOAD_TOO_LARGE | StatusCode::UNPROCESSABLE_ENTITY
    )
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks reference libraries' own tests
    /// (secret `whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw`).
    #[test]
    fn signs_like_the_reference_example() {
        let key = base64::engine::general_purpose::STANDARD
            .decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .unwrap();
        let sig = sign_webhook(
            &key,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
