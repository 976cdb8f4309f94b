//! Secrets that parse but must not be used: no bearer header can match
//! them, or they are weak enough to guess (docs/operate/security.md).

use nightshift_env::{ConfigError, secret_value};
use secrecy::{ExposeSecret, SecretString};

/// The fewest characters a secret may have (32 random characters of any
/// common alphabet, hex included, carry at least 128 bits).
pub const MIN_SECRET_LEN: usize = 32;
/// The fewest bits a secret must carry, estimated by `estimated_bits`.
pub const MIN_SECRET_BITS: f64 = 128.0;
/// The fewest different characters: "xxxx…" is long, not random.
pub const MIN_DISTINCT_CHARS: usize = 8;

/// What a weak secret's error says, on one line: the rule and the fix.
pub const SECRET_RULE: &str = "needs at least 128 bits: 32+ characters, 8+ of them different, \
     and length x log2(alphabet of the classes used: a-z 26, A-Z 26, 0-9 10, symbols 32) >= 128; \
     generate one with `openssl rand -hex 32` or `head -c 32 /dev/urandom | base64`";

/// The bits a secret would carry if each character were drawn at random
/// from the union of the character classes it uses. An upper bound for a
/// chosen secret, exact for a generated one: the rule refuses what is
/// certainly weak, it cannot prove what is strong.
pub fn estimated_bits(secret: &str) -> f64 {
    let has = |f: fn(&u8) -> bool| secret.as_bytes().iter().any(f);
    let alphabet = [
        (has(u8::is_ascii_lowercase), 26),
        (has(u8::is_ascii_uppercase), 26),
        (has(u8::is_ascii_digit), 10),
        (has(|b| b.is_ascii_punctuation()), 32),
    ]
    .iter()
    .filter(|(used, _)| *used)
    .map(|(_, n)| n)
    .sum::<u32>();
    if alphabet < 2 {
        return 0.0;
    }
    secret.len() as f64 * f64::from(alphabet).log2()
}

/// Whether a secret meets `SECRET_RULE`.
pub fn strong_enough(secret: &str) -> bool {
    let mut distinct: Vec<u8> = secret.bytes().collect();
    distinct.sort_unstable();
    distinct.dedup();
    secret.len() >= MIN_SECRET_LEN
        && distinct.len() >= MIN_DISTINCT_CHARS
        && estimated_bits(secret) >= MIN_SECRET_BITS
}

/// A secret compared with an `Authorization: Bearer` header. A header value
/// holds visible ASCII only (and our parsing splits on spaces), so a secret
/// with inner whitespace or other bytes can never match: every cron would get
/// 401 while the sign-in form still works. That silent outage is refused
/// here, at startup, naming the variable and never showing the value. So is
/// a weak secret: the throttle no longer keeps the right secret out
/// (docs/decisions.md, 79), so guessing must be infeasible, not just slow.
pub(super) fn bearer_secret(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<SecretString>, ConfigError> {
    let Some(secret) = get(name).and_then(|v| secret_value(&v)) else {
        return Ok(None);
    };
    let value = secret.expose_secret();
    if value.bytes().any(|b| !b.is_ascii_graphic()) {
        return Err(ConfigError::Invalid {
            name,
            reason: "holds whitespace or characters outside printable ASCII, \
                     so no bearer header can ever match it"
                .into(),
        });
    }
    if !strong_enough(value) {
        return Err(ConfigError::Invalid {
            name,
            reason: format!("too weak to use; it {SECRET_RULE}"),
        });
    }
    Ok(Some(secret))
}

/// `BASE_URL`: where the heartbeat sends the bearer secret
/// (crate::kick), so it must pass `bearer_url`. The value is not echoed: it
/// may be mistyped into something private.
pub(super) fn base_url(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Option<String>, ConfigError> {
    let Some(v) = get("BASE_URL")
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
    else {
        return Ok(None);
    };
    bearer_url(&v).map_err(|reason| ConfigError::Invalid {
        name: "BASE_URL",
        reason: reason.to_owned(),
    })?;
    Ok(Some(v))
}

/// The one rule for every URL the bearer secret is sent to (`BASE_URL`,
/// `nightshift trigger --url`): `https://`, or plain `http://` only to a
/// loopback host (127.0.0.0/8, ::1, localhost), where nothing crosses a
/// network. The error is the reason, never the value.
pub fn bearer_url(v: &str) -> Result<url::Url, &'static str> {
    let url = url::Url::parse(v.trim())
        .map_err(|_| "not a URL such as https://<your deployment's host>")?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err("has no host; use https://<your deployment's host>"),
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err("must start with https:// (CRON_SECRET is sent to it); \
             http:// is allowed only for 127.0.0.0/8, ::1 and localhost"),
    }
}
