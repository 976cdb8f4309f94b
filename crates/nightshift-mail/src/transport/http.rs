//! What the HTTP APIs (Resend, SendGrid, Slack, PagerDuty, the webhook) have in common: how a
//! failed request or a non-success answer becomes a [`SendError`], and the
//! bearer-key JSON endpoint both e-mail APIs are ([`ApiEndpoint`]).

use std::fmt;
use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use super::{HTTP_TIMEOUT, permanent, transient};
use crate::message::SendError;

/// One JSON endpoint of an e-mail API that takes its key as a bearer token.
pub(super) struct ApiEndpoint {
    http: reqwest::Client,
    url: String,
    api_key: SecretString,
    provider: &'static str,
    /// The variable holding the key, named when the provider refuses it.
    credential: &'static str,
}

impl ApiEndpoint {
    /// `base_url` with or without its trailing slash; `path` starts with `/`.
    pub fn new(
        http: reqwest::Client,
        base_url: &str,
        path: &str,
        api_key: SecretString,
        (provider, credential): (&'static str, &'static str),
    ) -> Self {
        Self {
            http,
            url: format!("{}{path}", base_url.trim_end_matches('/')),
            api_key,
            provider,
            credential,
        }
    }

    /// POSTs `body`; a 2xx answer is returned for the caller to read its id
    /// from, anything else is classified by [`status_error`].
    pub async fn post_json(
        &self,
        body: &impl Serialize,
        idempotency_key: Option<&str>,
    ) -> Result<Response, SendError> {
        let mut request = self
            .http
            .post(&self.url)
            .bearer_auth(self.api_key.expose_secret())
            .timeout(HTTP_TIMEOUT);
        if let Some(key) = idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        let resp = request
            .json(body)
            .send()
            .await
            .map_err(|e| request_failed(self.provider, e))?;
        if !resp.status().is_success() {
            return Err(status_error(self.provider, self.credential, resp).await);
        }
        Ok(resp)
    }
}

/// The key never appears, only where it is sent.
impl fmt::Debug for ApiEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiEndpoint")
            .field("provider", &self.provider)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Provider error texts are kept for the outbox's records and logs, not
/// whole HTML error pages.
const MAX_ERROR_CHARS: usize = 300;

/// Connection refused, DNS, TLS, timeout: the provider never judged the
/// message. `without_url` because the Slack webhook URL is itself a secret.
pub(super) fn request_failed(provider: &str, err: reqwest::Error) -> SendError {
    let what = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    transient(format!("{provider}: {what}: {}", err.without_url()), None)
}

/// Seconds only: the providers here send seconds, and an HTTP-date would
/// need a clock we would have to trust against theirs.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(Duration::from_secs(secs))
}

/// The non-success answer of an HTTP API, classified.
/// `credential` names the variable holding what the provider checks.
pub(super) async fn status_error(
    provider: &str,
    credential: &'static str,
    resp: Response,
) -> SendError {
    let status = resp.status();
    let hint = retry_after(resp.headers());
    let body = body_prefix(resp).await;
    let message = format!(
        "{provider}: HTTP {}: {}",
        status.as_u16(),
        provider_message(&body)
    );
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        SendError::AuthRefused {
            variable: credential,
            message,
        }
    } else if status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
    {
        transient(message, hint)
    } else {
        permanent(message)
    }
}

/// The human part of an error body: Resend's `message`, SendGrid's
/// `errors[].message`, Slack's plain text, else whatever came back.
/// What of a provider's error body is read: enough for any real error
/// message; a body that is larger, or never ends, costs no more than this.
const MAX_ERROR_BODY: usize = 64 * 1024;

async fn body_prefix(mut resp: Response) -> String {
    let mut buf = Vec::new();
    while buf.len() < MAX_ERROR_BODY {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                let take = chunk.len().min(MAX_ERROR_BODY - buf.len());
                buf.extend_from_slice(&chunk[..take]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}

fn provider_message(body: &str) -> String {
    let json: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let from_json = json.as_ref().and_then(|v| {
        let message = v.get("message").and_then(|m| m.as_str());
        // SendGrid's errors are objects with a message, PagerDuty's plain
        // strings (the reasons an event is invalid, after a general message).
        let errors: Vec<&str> = v
            .get("errors")
            .and_then(|e| e.as_array())
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| e.get("message").and_then(|m| m.as_str()).or(e.as_str()))
                    .collect()
            })
            .unwrap_or_default();
        match (message, errors.is_empty()) {
            (Some(m), true) => return Some(m.to_owned()),
            (Some(m), false) => return Some(format!("{m}: {}", errors.join("; "))),
            (None, false) => return Some(errors.join("; ")),
            (None, true) => {}
        }
        v.get("error").and_then(|m| m.as_str()).map(str::to_owned)
    });
    let text = from_json.unwrap_or_else(|| body.trim().to_owned());
    let text = if text.is_empty() {
        "(no body)".to_owned()
    } else {
        text
    };
    truncate(&text, MAX_ERROR_CHARS)
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_messages_come_from_the_json_when_there_is_some() {
        assert_eq!(
            provider_message(
                r#"{"statusCode":422,"message":"Invalid `to` field","name":"validation_error"}"#
            ),
            "Invalid `to` field"
        );
        assert_eq!(
            provider_message(r#"{"errors":[{"message":"a","field":null},{"message":"b"}]}"#),
            "a; b"
        );
        assert_eq!(
            provider_message(
                r#"{"status":"invalid event","message":"Event object is invalid","errors":["'payload.severity' is invalid"]}"#
            ),
            "Event object is invalid: 'payload.severity' is invalid"
        );
        assert_eq!(provider_message("no_service\n"), "no_service");
        assert_eq!(provider_message(""), "(no body)");
        let long = "x".repeat(1000);
        assert_eq!(provider_message(&long).chars().count(), MAX_ERROR_CHARS + 1);
    }
}
