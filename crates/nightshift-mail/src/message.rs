//! The messages and the one error type every transport returns. The outbox
//! only needs to know: accepted (with the provider's id), try again later
//! (maybe after a given delay), or never (with the provider's reason).

use std::time::Duration;

/// An e-mail as the outbox hands it to a transport.
#[derive(Clone, Debug, Default)]
pub struct Email {
    /// `Name <addr>` or a bare address (EMAIL_FROM).
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    /// Always present: the plain-text part every client can show.
    pub text: String,
    /// Optional HTML alternative; it may reference `cid:<content_id>` images.
    pub html: Option<String>,
    /// Images shown inline by the HTML part (Content-ID), not attachments.
    pub inline: Vec<InlineImage>,
    /// The outbox row's dedupe key: providers that honour an idempotency
    /// key (Resend) drop a resend after a crash between accept and mark.
    pub idempotency_key: Option<String>,
}

#[derive(Clone, Debug)]
pub struct InlineImage {
    /// Without angle brackets: the HTML says `<img src="cid:{content_id}">`.
    pub content_id: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

/// A Slack incoming-webhook message: `text` is the notification fallback,
/// `blocks` (optional) the layout a person reads.
#[derive(Clone, Debug, Default)]
pub struct SlackMessage {
    pub text: String,
    pub blocks: Option<serde_json::Value>,
}

/// What a provider said when it took the message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Accepted {
    /// The provider's message id (Resend's `id`, SendGrid's
    /// `X-Message-Id`, the SMTP server's queue reply), when it gave one.
    pub provider_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Worth another attempt later: connection refused, timeout, 429, 5xx,
    /// SMTP 4xx. `retry_after` is the provider's own hint, when it gave one.
    #[error("{message}")]
    Transient {
        message: String,
        retry_after: Option<Duration>,
    },
    /// Will never succeed as it is: invalid address, 4xx from an API, SMTP
    /// 5xx, bad credentials. The message is the provider's reason.
    #[error("{message}")]
    Permanent { message: String },
    /// The provider refused our credentials (HTTP 401/403, SMTP 530/534/535):
    /// no fault of this message, and every other one on the channel would
    /// meet the same. `variable` is the setting to fix.
    #[error("{message}")]
    AuthRefused {
        variable: &'static str,
        message: String,
    },
}

impl SendError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Permanent { .. })
    }
}

/// Lives in core, whose configuration errors mask addresses too.
pub use nightshift_env::mask_address;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_keeps_the_domain_only() {
        assert_eq!(mask_address("jane.doe@example.com"), "j***@example.com");
        assert_eq!(mask_address("nonsense"), "***");
    }
}
