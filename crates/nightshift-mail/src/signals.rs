//! Where alerts go besides people: PagerDuty Events v2 and a generic
//! webhook signed per the Standard Webhooks spec (docs/decisions.md 82).
//! Read with the rest of the delivery settings, validated at start so a
//! bad key or an unsigned webhook fails the deployment, not the first page.

use base64::Engine as _;
use nightshift_env::{ConfigError, api_url, require_tls, secret_value};
use secrecy::{ExposeSecret, SecretSlice, SecretString};

pub const DEFAULT_PAGERDUTY_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";

/// Standard Webhooks secrets start with this; the rest is base64.
pub const WEBHOOK_SECRET_PREFIX: &str = "whsec_";
/// HMAC-SHA256 wants at least its output size; 24 bytes (192 bits) is the
/// floor the Standard Webhooks libraries generate above.
const MIN_SECRET_BYTES: usize = 24;
/// Every PagerDuty integration (routing) key is 32 characters.
const ROUTING_KEY_LEN: usize = 32;

#[derive(Clone, Debug, Default)]
pub struct SignalsConfig {
    pub pagerduty_routing_key: Option<SecretString>,
    /// The full enqueue URL; an override for tests and proxies.
    pub pagerduty_events_url: String,
    /// May carry a token in its path or query: a secret like Slack's.
    pub webhook_url: Option<SecretString>,
    /// The decoded key bytes (what follows `whsec_`).
    pub webhook_secret: Option<SecretSlice<u8>>,
}

impl SignalsConfig {
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let invalid = |name, reason: &str| ConfigError::Invalid {
            name,
            reason: reason.to_owned(),
        };
        let secret = |name: &str| get(name).and_then(|v| secret_value(&v));
        let routing_key = secret("PAGERDUTY_ROUTING_KEY");
        if let Some(k) = &routing_key {
            let k = k.expose_secret();
            if k.len() != ROUTING_KEY_LEN || !k.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(invalid(
                    "PAGERDUTY_ROUTING_KEY",
                    "must be the 32-character integration key of an Events API v2 integration",
                ));
            }
        }
        let webhook_url = secret("ALERT_WEBHOOK_URL");
        if let Some(u) = &webhook_url {
            let u = u.expose_secret();
            if !(u.starts_with("https://") || u.starts_with("http://")) {
                return Err(invalid("ALERT_WEBHOOK_URL", "is not an http(s) URL"));
            }
            require_tls("ALERT_WEBHOOK_URL", u)?;
        }
        let webhook_secret = match secret("ALERT_WEBHOOK_SECRET") {
            Some(s) => Some(webhook_key(s.expose_secret())?),
            None => None,
        };
        // Fail closed: an unsigned webhook would teach receivers to accept
        // anything, and a secret without a URL is a half-done setup.
        match (&webhook_url, &webhook_secret) {
            (Some(_), None) => {
                return Err(invalid(
                    "ALERT_WEBHOOK_SECRET",
                    "is required with ALERT_WEBHOOK_URL: every event is signed",
                ));
            }
            (None, Some(_)) => {
                return Err(invalid(
                    "ALERT_WEBHOOK_URL",
                    "is required with ALERT_WEBHOOK_SECRET",
                ));
            }
            _ => {}
        }
        Ok(Self {
            pagerduty_routing_key: routing_key,
            pagerduty_events_url: api_url(
                get,
                "PAGERDUTY_EVENTS_URL",
                DEFAULT_PAGERDUTY_EVENTS_URL,
            )?,
            webhook_url,
            webhook_secret,
        })
    }
}

/// `whsec_` + base64 of at least 24 bytes; the value is never echoed.
fn webhook_key(value: &str) -> Result<SecretSlice<u8>, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        name: "ALERT_WEBHOOK_SECRET",
        reason,
    };
    let b64 = value.strip_prefix(WEBHOOK_SECRET_PREFIX).ok_or_else(|| {
        invalid(format!(
            "must be {WEBHOOK_SECRET_PREFIX} followed by base64 (a Standard Webhooks secret)"
        ))
    })?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| invalid(format!("is not valid base64 after {WEBHOOK_SECRET_PREFIX}")))?;
    if bytes.len() < MIN_SECRET_BYTES {
        return Err(invalid(format!(
            "decodes to {} bytes; at least {MIN_SECRET_BYTES} are needed",
            bytes.len()
        )));
    }
    Ok(SecretSlice::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<SignalsConfig, ConfigError> {
        let map: HashMap<&str, &str> = pairs.iter().copied().collect();
        SignalsConfig::from_lookup(&|k| map.get(k).map(|v| v.to_string()))
    }

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const KEY: &str = "R0UTINGKEY0123456789abcdefABCDEF";

    #[test]
    fn good_settings_are_read_and_hidden() {
        let c = cfg(&[
            ("PAGERDUTY_ROUTING_KEY", KEY),
            (
                "ALERT_WEBHOOK_URL",
                "https://hooks.example.com/in?token=t0psecret",
            ),
            ("ALERT_WEBHOOK_SECRET", SECRET),
        ])
        .unwrap();
        assert_eq!(c.pagerduty_events_url, DEFAULT_PAGERDUTY_EVENTS_URL);
        assert_eq!(c.webhook_secret.unwrap().expose_secret().len(), 24);
        let shown = format!("{:?}", cfg(&[("PAGERDUTY_ROUTING_KEY", KEY)]).unwrap());
        assert!(!shown.contains(KEY), "{shown}");
        assert!(cfg(&[]).unwrap().webhook_url.is_none());
        // Loopback may be plain http, for tests and a sidecar.
        cfg(&[
            ("ALERT_WEBHOOK_URL", "http://127.0.0.1:9/x"),
            ("ALERT_WEBHOOK_SECRET", SECRET),
        ])
        .unwrap();
    }

    #[test]
    fn bad_settings_fail_by_name_without_their_value() {
        let short = format!("{WEBHOOK_SECRET_PREFIX}{}", "QUJDREVGR0g="); // 8 bytes
        let url = ("ALERT_WEBHOOK_URL", "https://hooks.example.com/in");
        for (pairs, name) in [
            (
                vec![("PAGERDUTY_ROUTING_KEY", "short-key")],
                "PAGERDUTY_ROUTING_KEY",
            ),
            (
                vec![("PAGERDUTY_EVENTS_URL", "ftp://x")],
                "PAGERDUTY_EVENTS_URL",
            ),
            (vec![url], "ALERT_WEBHOOK_SECRET"),
            (
                vec![url, ("ALERT_WEBHOOK_SECRET", "plainpassword")],
                "ALERT_WEBHOOK_SECRET",
            ),
            (
                vec![url, ("ALERT_WEBHOOK_SECRET", "whsec_!!notbase64")],
                "ALERT_WEBHOOK_SECRET",
            ),
            (
                vec![url, ("ALERT_WEBHOOK_SECRET", short.as_str())],
                "ALERT_WEBHOOK_SECRET",
            ),
            (vec![("ALERT_WEBHOOK_SECRET", SECRET)], "ALERT_WEBHOOK_URL"),
            (
                vec![
                    ("ALERT_WEBHOOK_URL", "http://hooks.example.com/in"),
                    ("ALERT_WEBHOOK_SECRET", SECRET),
                ],
                "ALERT_WEBHOOK_URL",
            ),
        ] {
            let e = cfg(&pairs).unwrap_err().to_string();
            assert!(e.starts_with(name), "{pairs:?}: {e}");
            assert!(!e.contains("plainpassword") && !e.contains("QUJD"), "{e}");
        }
    }
}
