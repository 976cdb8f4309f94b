//! Resend's HTTP API: `POST /emails`, answered with `{"id": ...}`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use secrecy::SecretString;
use serde::Serialize;

use super::http::ApiEndpoint;
use super::{inline_filename, parse_mailbox, recipients};
use crate::message::{Accepted, Email, SendError};

#[derive(Debug)]
pub struct ResendMailer {
    api: ApiEndpoint,
}

#[derive(Serialize)]
struct Body<'a> {
    from: String,
    to: Vec<String>,
    subject: &'a str,
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    html: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<Attachment<'a>>,
}

/// An attachment with a `content_id` is what Resend shows inline for a
/// `cid:` reference in the HTML.
#[derive(Serialize)]
struct Attachment<'a> {
    content: String,
    filename: String,
    content_type: &'a str,
    content_id: &'a str,
}

impl ResendMailer {
    /// `base_url` without the trailing slash, e.g. `https://api.resend.com`.
    pub fn new(http: reqwest::Client, base_url: &str, api_key: SecretString) -> ResendMailer {
        ResendMailer {
            api: ApiEndpoint::new(
                http,
                base_url,
                "/emails",
                api_key,
                ("resend", "RESEND_API_KEY"),
            ),
        }
    }

    /// Through [`super::Mailer::send`], which logs and masks addresses.
    pub(super) async fn send(&self, email: &Email) -> Result<Accepted, SendError> {
        let from = parse_mailbox("from", &email.from)?;
        let to = recipients(email)?;
        let body = Body {
            from: from.to_string(),
            to: to.iter().map(ToString::to_string).collect(),
            subject: &email.subject,
            text: &email.text,
            html: email.html.as_deref(),
            attachments: email
                .inline
                .iter()
                .map(|img| Attachment {
                    content: BASE64.encode(&img.data),
                    filename: inline_filename(img),
                    content_type: &img.content_type,
                    content_id: &img.content_id,
                })
                .collect(),
        };
        // Resend drops a second request with the same key for 24 hours: a
        // crash between its acceptance and our mark does not send twice.
        let key = email.idempotency_key.as_deref().filter(|k| k.len() <= 256);
        let resp = self.api.post_json(&body, key).await?;
        // The id is only for our records: a 2xx without one still means
        // Resend took the message, so it must not be sent twice.
        let id = resp
            .json::<serde_json::Value>()
            .await
            .ok()
            .and_then(|v| v.get("id")?.as_str().map(str::to_owned));
        Ok(Accepted { provider_id: id })
    }
}
