//! Bearer authentication against CRON_SECRET (and CRON_SECRET_PREVIOUS while a
//! rotation is under way). Fails closed: no configured secret, no entry.

use http::HeaderMap;
use http::header::AUTHORIZATION;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::Config;
use crate::error::HandleError;

pub fn authorize(headers: &HeaderMap, cfg: &Config) -> Result<(), HandleError> {
    let Some(current) = &cfg.cron_secret else {
        return Err(HandleError::SecretNotConfigured);
    };
    let presented = bearer_token(headers).ok_or(HandleError::Unauthorized)?;
    // Evaluate both comparisons every time so timing says nothing about which
    // secret (if any) was close.
    let ok_current = secret_matches(presented, current);
    let ok_previous = cfg
        .cron_secret_previous
        .as_ref()
        .map(|prev| secret_matches(presented, prev))
        .unwrap_or(false);
    if ok_current | ok_previous {
        Ok(())
    } else {
        Err(HandleError::Unauthorized)
    }
}

/// The token of an `Authorization: Bearer <token>` header. The scheme is
/// case-insensitive (RFC 9110 §11.1); surrounding whitespace is not part of a
/// field value, anything else inside the token must match exactly.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None; // two Authorization headers: ambiguous, refuse
    }
    let value = value.to_str().ok()?.trim_matches([' ', '\t']);
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.contains(' ') {
        return None;
    }
    Some(token)
}

/// Constant-time over hashes, so neither content nor length leaks.
pub fn secret_matches(presented: &str, secret: &SecretString) -> bool {
    let a = Sha256::digest(presented.as_bytes());
    let b = Sha256::digest(secret.expose_secret().as_bytes());
    a.ct_eq(&b).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn parses_bearer_tokens() {
        assert_eq!(bearer_token(&headers("Bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&headers("bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&headers("Bearer abc ")), Some("abc"));
        assert_eq!(bearer_token(&headers("Basic abc")), None);
        assert_eq!(bearer_token(&headers("Bearer")), None);
        assert_eq!(bearer_token(&headers("Bearer  abc")), None);
        assert_eq!(bearer_token(&headers("Bearer a b")), None);
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }
}
