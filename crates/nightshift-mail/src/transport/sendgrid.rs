//! SendGrid's v3 API: `POST /v3/mail/send`, answered with 202 and the
//! message id in the `X-Message-Id` header (the body is empty). Delivery is
//! at least once: see `send` below.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use lettre::message::Mailbox;
use secrecy::SecretString;
use serde::Serialize;

use super::http::ApiEndpoint;
use super::{inline_filename, parse_mailbox, recipients};
use crate::message::{Accepted, Email, SendError};

#[derive(Debug)]
pub struct SendGridMailer {
    api: ApiEndpoint,
}

#[derive(Serialize)]
struct Body<'a> {
    personalizations: [Personalization; 1],
    from: Address,
    subject: &'a str,
    content: Vec<Content<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attachments: Vec<Attachment<'a>>,
}

/// One personalization: every recipient sees the others, as with one
/// SMTP message to several `To:` addresses.
#[derive(Serialize)]
struct Personalization {
    to: Vec<Address>,
}

#[derive(Serialize)]
struct Address {
    email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

impl From<Mailbox> for Address {
    fn from(m: Mailbox) -> Self {
        Address {
            email: m.email.to_string(),
            name: m.name,
        }
    }
}

#[derive(Serialize)]
struct Content<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    value: &'a str,
}

#[derive(Serialize)]
struct Attachment<'a> {
    content: String,
    #[serde(rename = "type")]
    content_type: &'a str,
    filename: String,
    disposition: &'static str,
    content_id: &'a str,
}

impl SendGridMailer {
    /// `base_url` without the trailing slash, e.g. `https://api.sendgrid.com`.
    pub fn new(http: reqwest::Client, base_url: &str, api_key: SecretString) -> SendGridMailer {
        SendGridMailer {
            api: ApiEndpoint::new(
                http,
                base_url,
                "/v3/mail/send",
                api_key,
                ("sendgrid", "SENDGRID_API_KEY"),
            ),
        }
    }

    /// Through [`super::Mailer::send`], which logs and masks addresses.
    pub(super) async fn send(&self, email: &Email) -> Result<Accepted, SendError> {
        let from = parse_mailbox("from", &email.from)?;
        let to = recipients(email)?;
        // SendGrid insists on text/plain before text/html.
        let mut content = vec![Content {
            kind: "text/plain",
            value: &email.text,
        }];
        if let Some(html) = &email.html {
            content.push(Content {
                kind: "text/html",
                value: html,
            });
        }
        let body = Body {
            personalizations: [Personalization {
                to: to.into_iter().map(Address::from).collect(),
            }],
            from: from.into(),
            subject: &email.subject,
            content,
            attachments: email
                .inline
                .iter()
                .map(|img| Attachment {
                    content: BASE64.encode(&img.data),
                    content_type: &img.content_type,
                    filename: inline_filename(img),
                    disposition: "inline",
                    content_id: &img.content_id,
                })
                .collect(),
        };
        // At least once: SendGrid's v3 API has no idempotency key (nor
        // dedupes on custom_args), so nothing lets it drop a repeat. The
        // outbox's claim keeps two senders off one row, but when the lease
        // is lost after SendGrid accepted (the process died, or the send
        // outlasted the lease and another run re-claimed the row), the
        // message goes out again and the recipient gets it twice
        // (docs/operate/notifications.md).
        let resp = self.api.post_json(&body, None).await?;
        let id = resp
            .headers()
            .get("x-message-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(Accepted { provider_id: id })
    }
}
