//! nightshift-env: how a setting is read from the environment, and how a bad
//! one is refused. Core's runtime `Config`, the tasks' `TasksConfig` and the
//! mail crate's `DeliveryConfig` each read their own variables with these
//! parsers, so every crate refuses bad values the same way (by variable name,
//! never showing a secret) without depending on the others
//! (docs/decisions.md, 71).
//!
//! Every parser takes a lookup (`Fn(&str) -> Option<String>`) instead of
//! reading the process environment, so tests never mutate it.

mod checks;
pub mod vars;

use secrecy::SecretString;

pub use checks::{mask_address, require_tls};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

impl ConfigError {
    /// The variable at fault: what a caller may be told.
    pub fn variable(&self) -> &'static str {
        let Self::Invalid { name, .. } = self;
        name
    }
}

/// The process environment as a lookup.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// An integer variable within `range`, or `default` when unset or blank.
pub fn parse_number<T>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    let Some(v) = get(name).filter(|v| !v.trim().is_empty()) else {
        return Ok(default);
    };
    v.trim()
        .parse::<T>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| ConfigError::Invalid {
            name,
            reason: format!(
                "{v:?} is not a whole number from {} to {}",
                range.start(),
                range.end()
            ),
        })
}

/// A true/false variable; unset is `default`.
pub fn parse_flag(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(v) => parse_bool(&v).ok_or_else(|| ConfigError::Invalid {
            name,
            reason: format!("{v:?} is not true or false"),
        }),
    }
}

/// The spellings of a boolean people write in env files and query strings.
pub fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" | "" => Some(false),
        _ => None,
    }
}

/// Trailing whitespace and newlines come from `echo` and env files, never from
/// a generated secret; an all-blank value is no secret at all.
pub fn secret_value(raw: &str) -> Option<SecretString> {
    let trimmed = raw.trim();
    (!trimmed.is_empty()).then(|| SecretString::from(trimmed.to_owned()))
}

/// A comma-separated list, trimmed and lowercased, empties dropped.
pub fn split_list(v: &str) -> Vec<String> {
    v.split(',')
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

/// A comma-separated list of addresses; each must at least look like one.
pub fn parse_emails(v: &str) -> Result<Vec<String>, String> {
    v.split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(|e| match e.split_once('@') {
            Some((local, domain))
                if !local.is_empty() && domain.contains('.') && !e.contains(' ') =>
            {
                Ok(e.to_owned())
            }
            // Masked: the reason reaches the log.
            _ => Err(format!("{:?} is not an e-mail address", mask_address(e))),
        })
        .collect()
}

/// The address list in variable `name` (unset is empty), refused by name.
pub fn email_list(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Vec<String>, ConfigError> {
    parse_emails(get(name).as_deref().unwrap_or(""))
        .map_err(|reason| ConfigError::Invalid { name, reason })
}

/// An http(s) API base URL, trailing slashes dropped, `default` when unset.
/// Plain http only to loopback (`require_tls`): a token goes there.
pub fn api_url(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: &str,
) -> Result<String, ConfigError> {
    let v = get(name)
        .map(|v| v.trim().trim_end_matches('/').to_owned())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned());
    if !(v.starts_with("https://") || v.starts_with("http://")) {
        return Err(ConfigError::Invalid {
            name,
            reason: format!("{v:?} is not an http(s) URL"),
        });
    }
    require_tls(name, &v)?;
    Ok(v)
}

#[cfg(test)]
mod tests;
