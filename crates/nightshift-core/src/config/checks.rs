//! Secrets that parse but can never work: no bearer header can match them.

use nightshift_env::{ConfigError, secret_value};
use secrecy::{ExposeSecret, SecretString};

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
