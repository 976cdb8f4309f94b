//! Where messages to people go: one e-mail transport (SMTP, Resend or
//! SendGrid), an optional Slack webhook, and who receives the weekly report.
//! Every secret stays a `SecretString` so `Debug` never prints it. Read here,
//! next to the transports that use it, not in the core (docs/decisions.md, 71).

use nightshift_env::{ConfigError, api_url, email_list, parse_emails, require_tls, secret_value};
use secrecy::{ExposeSecret, SecretString};

use crate::signals::SignalsConfig;

pub const DEFAULT_RESEND_API_URL: &str = "https://api.resend.com";
pub const DEFAULT_SENDGRID_API_URL: &str = "https://api.sendgrid.com";

#[derive(Clone, Debug, Default)]
pub struct DeliveryConfig {
    /// `smtp://user:pass@host:587` (STARTTLS) or `smtps://…` (TLS);
    /// `smtp://host:1025?tls=none` for a local catcher.
    pub smtp_url: Option<SecretString>,
    pub resend_api_key: Option<SecretString>,
    pub resend_api_url: String,
    pub sendgrid_api_key: Option<SecretString>,
    pub sendgrid_api_url: String,
    pub slack_webhook_url: Option<SecretString>,
    /// `Nightshift <ops@example.com>` or a bare address.
    pub email_from: Option<String>,
    pub report_emails: Vec<String>,
    /// PagerDuty and the signed webhook (crate::signals).
    pub signals: SignalsConfig,
}

/// Which e-mail transport the settings select.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailTransportKind {
    Smtp,
    Resend,
    SendGrid,
}

impl EmailTransportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Smtp => "smtp",
            Self::Resend => "resend",
            Self::SendGrid => "sendgrid",
        }
    }
}

impl DeliveryConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&nightshift_env::process_env)
    }

    /// Reads from any lookup, so tests never mutate the process environment.
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let secret = |name: &str| get(name).and_then(|v| secret_value(&v));
        let smtp_url = secret("SMTP_URL");
        if let Some(u) = &smtp_url {
            let u = u.expose_secret();
            if !(u.starts_with("smtp://") || u.starts_with("smtps://")) {
                return Err(ConfigError::Invalid {
                    name: "SMTP_URL",
                    reason: "must start with smtp:// (STARTTLS) or smtps:// (TLS)".into(),
                });
            }
        }
        let slack_webhook_url = secret("SLACK_WEBHOOK_URL");
        if let Some(u) = &slack_webhook_url {
            let u = u.expose_secret();
            if !(u.starts_with("https://") || u.starts_with("http://")) {
                return Err(ConfigError::Invalid {
                    name: "SLACK_WEBHOOK_URL",
                    reason: "is not an http(s) URL".into(),
                });
            }
            require_tls("SLACK_WEBHOOK_URL", u)?;
        }
        let email_from = get("EMAIL_FROM")
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        if let Some(from) = &email_from {
            let addr = from
                .rsplit_once('<')
                .map_or(from.as_str(), |(_, a)| a.trim_end_matches('>'));
            parse_emails(addr).map_err(|reason| ConfigError::Invalid {
                name: "EMAIL_FROM",
                reason,
            })?;
        }
        let report_emails = email_list(get, "REPORT_EMAILS")?;
        let cfg = Self {
            smtp_url,
            resend_api_key: secret("RESEND_API_KEY"),
            resend_api_url: api_url(get, "RESEND_API_URL", DEFAULT_RESEND_API_URL)?,
            sendgrid_api_key: secret("SENDGRID_API_KEY"),
            sendgrid_api_url: api_url(get, "SENDGRID_API_URL", DEFAULT_SENDGRID_API_URL)?,
            slack_webhook_url,
            email_from,
            report_emails,
            signals: SignalsConfig::from_lookup(get)?,
        };
        let configured = [
            cfg.smtp_url.is_some(),
            cfg.resend_api_key.is_some(),
            cfg.sendgrid_api_key.is_some(),
        ];
        if configured.iter().filter(|c| **c).count() > 1 {
            return Err(ConfigError::Invalid {
                name: "SMTP_URL",
                reason: "set only one of SMTP_URL, RESEND_API_KEY and SENDGRID_API_KEY".into(),
            });
        }
        if cfg.email_transport().is_some() && cfg.email_from.is_none() {
            return Err(ConfigError::Invalid {
                name: "EMAIL_FROM",
                reason: "is required once an e-mail transport is configured".into(),
            });
        }
        Ok(cfg)
    }

    pub fn email_transport(&self) -> Option<EmailTransportKind> {
        if self.smtp_url.is_some() {
            Some(EmailTransportKind::Smtp)
        } else if self.resend_api_key.is_some() {
            Some(EmailTransportKind::Resend)
        } else if self.sendgrid_api_key.is_some() {
            Some(EmailTransportKind::SendGrid)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<DeliveryConfig, ConfigError> {
        let map: HashMap<&str, &str> = pairs.iter().copied().collect();
        DeliveryConfig::from_lookup(&|k| map.get(k).map(|v| v.to_string()))
    }

    #[test]
    fn a_transport_needs_a_sender_and_only_one_is_allowed() {
        assert!(cfg(&[]).unwrap().email_transport().is_none());
        let e = cfg(&[("SMTP_URL", "smtp://localhost:1025")]).unwrap_err();
        assert!(e.to_string().starts_with("EMAIL_FROM"));
        let e = cfg(&[
            ("SMTP_URL", "smtp://localhost:1025"),
            ("RESEND_API_KEY", "re_x"),
            ("EMAIL_FROM", "ops@example.com"),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("only one"));
        let c = cfg(&[
            ("RESEND_API_KEY", "re_x"),
            ("EMAIL_FROM", "Nightshift <ops@example.com>"),
            ("REPORT_EMAILS", "cto@example.com"),
        ])
        .unwrap();
        assert_eq!(c.email_transport(), Some(EmailTransportKind::Resend));
        assert_eq!(c.resend_api_url, DEFAULT_RESEND_API_URL);
        assert_eq!(c.report_emails, ["cto@example.com"]);
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (k, v) in [
            ("SMTP_URL", "mail.example.com:25"),
            ("SLACK_WEBHOOK_URL", "hooks.slack.com"),
            ("EMAIL_FROM", "Ops <nobody>"),
            ("REPORT_EMAILS", "cto"),
            ("RESEND_API_URL", "ftp://x"),
        ] {
            let e = cfg(&[(k, v)]).unwrap_err();
            assert!(e.to_string().starts_with(k), "{k}: {e}");
        }
    }

    #[test]
    fn debug_hides_keys() {
        let c = cfg(&[
            ("SENDGRID_API_KEY", "SG.topsecret"),
            ("EMAIL_FROM", "ops@example.com"),
        ])
        .unwrap();
        assert!(!format!("{c:?}").contains("topsecret"));
    }
}
