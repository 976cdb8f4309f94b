//! The ways a message leaves: one e-mail transport chosen by the settings
//! (SMTP, Resend or SendGrid), the Slack incoming webhook, and the alert
//! channels: PagerDuty Events v2 and the signed webhook.
//!
//! Every transport answers with the same [`SendError`] split the outbox acts
//! on. The rule throughout: a failure is permanent only when this very
//! message can never go (a refused address, a 4xx from an API about the
//! request); anything that a retry, or an operator fixing the settings,
//! could cure is transient, so the message waits instead of being dropped.

mod http;
mod pagerduty;
mod resend;
mod sendgrid;
mod slack;
mod smtp;
mod webhook;

use std::time::Duration;

use crate::config::{DeliveryConfig, EmailTransportKind};
use lettre::message::Mailbox;
use secrecy::ExposeSecret;

use crate::message::{Accepted, Email, InlineImage, SendError};

use http::{request_failed, status_error};

pub use pagerduty::PagerDuty;
pub use resend::ResendMailer;
pub use sendgrid::SendGridMailer;
pub use slack::Slack;
pub use smtp::SmtpMailer;
pub use webhook::{Webhook, sign_webhook};

/// Per request to an HTTP API: a stuck provider must not eat the whole
/// function invocation.
const HTTP_TIMEOUT: Duration = Duration::from_secs(20);

/// The settings name a transport but cannot be used as they are. Never
/// carries the secret itself (SMTP_URL holds a password).
#[derive(Debug, thiserror::Error)]
#[error("{name}: {reason}")]
pub struct MailerConfigError {
    pub name: &'static str,
    pub reason: String,
}

/// The configured e-mail transport.
#[derive(Debug)]
pub enum Mailer {
    Smtp(SmtpMailer),
    Resend(ResendMailer),
    SendGrid(SendGridMailer),
}

impl Mailer {
    /// `Ok(None)` when no e-mail transport is configured. `http` is shared
    /// with the rest of the process; timeouts are set per request.
    pub fn from_config(
        cfg: &DeliveryConfig,
        http: reqwest::Client,
    ) -> Result<Option<Mailer>, MailerConfigError> {
        let mailer = match cfg.email_transport() {
            None => return Ok(None),
            Some(EmailTransportKind::Smtp) => {
                let url = cfg.smtp_url.as_ref().map(|u| u.expose_secret());
                Mailer::Smtp(SmtpMailer::from_url(url.unwrap_or_default())?)
            }
            Some(EmailTransportKind::Resend) => Mailer::Resend(ResendMailer::new(
                http,
                &cfg.resend_api_url,
                cfg.resend_api_key.clone().unwrap_or_default(),
            )),
            Some(EmailTransportKind::SendGrid) => Mailer::SendGrid(SendGridMailer::new(
                http,
                &cfg.sendgrid_api_url,
                cfg.sendgrid_api_key.clone().unwrap_or_default(),
            )),
        };
        Ok(Some(mailer))
    }

    pub fn kind(&self) -> EmailTransportKind {
        match self {
            Mailer::Smtp(_) => EmailTransportKind::Smtp,
            Mailer::Resend(_) => EmailTransportKind::Resend,
            Mailer::SendGrid(_) => EmailTransportKind::SendGrid,
        }
    }

    pub async fn send(&self, email: &Email) -> Result<Accepted, SendError> {
        let result = match self {
            Mailer::Smtp(m) => m.send(email).await,
            Mailer::Resend(m) => m.send(email).await,
            Mailer::SendGrid(m) => m.send(email).await,
        };
        let result = result.map_err(|e| scrub_addresses(e, email));
        let to: Vec<String> = email
            .to
            .iter()
            .map(|a| crate::mask_address(bare_address(a)))
            .collect();
        let transport = self.kind().as_str();
        match &result {
            Ok(accepted) => tracing::info!(
                transport,
                ?to,
                provider_id = accepted.provider_id.as_deref(),
                "e-mail accepted"
            ),
            Err(e) => tracing::warn!(
                transport,
                ?to,
                permanent = e.is_permanent(),
                error = %e,
                "e-mail not sent"
            ),
        }
        result
    }
}

/// Providers echo addresses in their refusals (`<jane@example.org>:
/// Recipient address rejected`), and the outbox stores and logs these texts.
fn scrub_addresses(err: SendError, email: &Email) -> SendError {
    let scrub = |mut text: String| {
        for addr in email.to.iter().chain([&email.from]) {
            let bare = bare_address(addr);
            if !bare.is_empty() && text.contains(bare) {
                text = text.replace(bare, &crate::mask_address(bare));
            }
        }
        text
    };
    match err {
        SendError::Transient {
            message,
            retry_after,
        } => SendError::Transient {
            message: scrub(message),
            retry_after,
        },
        SendError::Permanent { message } => SendError::Permanent {
            message: scrub(message),
        },
        SendError::AuthRefused { variable, message } => SendError::AuthRefused {
            variable,
            message: scrub(message),
        },
    }
}

/// `Jane <jane@example.org>` -> `jane@example.org`.
fn bare_address(addr: &str) -> &str {
    addr.rsplit_once('<')
        .map_or(addr, |(_, a)| a.trim_end_matches('>'))
        .trim()
}

fn permanent(message: impl Into<String>) -> SendError {
    SendError::Permanent {
        message: message.into(),
    }
}

fn transient(message: impl Into<String>, retry_after: Option<Duration>) -> SendError {
    SendError::Transient {
        message: message.into(),
        retry_after,
    }
}

/// `Name <addr>` or a bare address. The error names the field, not the
/// address, which would otherwise end up in logs and the outbox.
fn parse_mailbox(field: &str, value: &str) -> Result<Mailbox, SendError> {
    value.trim().parse::<Mailbox>().map_err(|_| {
        permanent(format!(
            "{field}: {} is not a valid address",
            crate::mask_address(value)
        ))
    })
}

fn recipients(email: &Email) -> Result<Vec<Mailbox>, SendError> {
    if email.to.is_empty() {
        return Err(permanent("no recipients"));
    }
    email.to.iter().map(|to| parse_mailbox("to", to)).collect()
}

/// HTTP APIs want a file name even for inline images.
fn inline_filename(image: &InlineImage) -> String {
    let ext = image
        .content_type
        .split(['/', ';', '+'])
        .nth(1)
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .unwrap_or("bin");
    format!("{}.{ext}", image.content_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_images_get_a_file_name_from_their_type() {
        let img = |ct: &str| InlineImage {
            content_id: "chart".into(),
            content_type: ct.into(),
            data: vec![],
        };
        assert_eq!(inline_filename(&img("image/png")), "chart.png");
        assert_eq!(inline_filename(&img("image/svg+xml")), "chart.svg");
        assert_eq!(inline_filename(&img("nonsense")), "chart.bin");
    }

    #[test]
    fn addresses_echoed_by_providers_are_masked() {
        let email = Email {
            from: "Ops <ops@example.com>".into(),
            to: vec!["Jane <jane@example.org>".into()],
            ..Email::default()
        };
        let e = scrub_addresses(
            permanent("550 5.1.1 <jane@example.org>: Recipient address rejected"),
            &email,
        );
        assert_eq!(
            e.to_string(),
            "550 5.1.1 <j***@example.org>: Recipient address rejected"
        );
        let e = scrub_addresses(transient("from ops@example.com refused", None), &email);
        assert_eq!(e.to_string(), "from o***@example.com refused");
    }

    #[test]
    fn bad_addresses_are_permanent_and_masked() {
        let e = parse_mailbox("to", "jane.doe@").unwrap_err();
        assert!(e.is_permanent());
        assert!(!e.to_string().contains("jane.doe"), "{e}");
        let m = parse_mailbox("from", "Nightshift <ops@example.com>").unwrap();
        assert_eq!(m.name.as_deref(), Some("Nightshift"));
        assert_eq!(m.email.to_string(), "ops@example.com");
    }
}
