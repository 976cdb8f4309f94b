//! Values that parse but would leak: credentials sent over plain http,
//! addresses repeated in reasons that reach the log.

use crate::ConfigError;

/// An API URL the token or key (or, for Slack, the URL itself) is sent to:
/// `http://` would send it in clear, so only a loopback host (a test, a
/// local fake) may use it. The reason never repeats the value (Slack's URL
/// is the secret).
pub fn require_tls(name: &'static str, url: &str) -> Result<(), ConfigError> {
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
