//! Values that parse but can never work, or would leak: secrets no bearer
//! header can match, credentials sent over plain http, addresses in reasons.

use secrecy::{ExposeSecret, SecretString};

use super::{ConfigError, secret_value};

/// An API URL the token or key (or, for Slack, the URL itself) is sent to:
/// `http://` would send it in clear, so only a loopback host (a test, a
/// local fake) may use it. The reason never repeats the value (Slack's URL
/// is the secret).
pub(crate) fn require_tls(name: &'static str, url: &str) -> Result<(), ConfigError> {
    let Some(rest) = url.strip_prefix("http://") else {
        return Ok(());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        return Ok(());
    }
    Err(ConfigError::Invalid {
        name,
        reason: "uses http:// to a host that is not loopback, which would send \
                 credentials in clear; use https://"
            .into(),
    })
}

/// Below this a secret is guessable; a warning, not an error, so a short
/// secret still protects a deployment that has one.
pub const MIN_SECRET_LEN: usize = 16;

/// A secret compared with an `Authorization: Bearer` header. A header value
/// holds visible ASCII only (and our parsing splits on spaces), so a secret
/// with inner whitespace or other bytes can never match: every cron would get
/// 401 while the sign-in form still works. That silent outage is refused
/// here, at startup, naming the variable and never showing the value.
pub(super) fn bearer_secret(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<SecretString>, ConfigError> {
    let Some(secret) = get(name).and_then(|v| secret_value(&v)) else {
        return Ok(None);
    };
    if secret
        .expose_secret()
        .bytes()
        .any(|b| !b.is_ascii_graphic())
    {
        return Err(ConfigError::Invalid {
            name,
            reason: "holds whitespace or characters outside printable ASCII, \
                     so no bearer header can ever match it"
                .into(),
        });
    }
    Ok(Some(secret))
}

/// `jane.doe@example.com` -> `j***@example.com`: logs say who, roughly,
/// without carrying addresses around.
pub fn mask_address(addr: &str) -> String {
    match addr.rsplit_once('@') {
        Some((local, domain)) => {
            let first = local.chars().next().map(String::from).unwrap_or_default();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}
