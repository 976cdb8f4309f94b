//! Errors as recorded, minus what must never be shown: the credentials of
//! a URL (`scheme://user:pass@host` becomes `scheme://***@host`) and the
//! values of the secrets this process knows (CRON_SECRET, the previous one,
//! METRICS_TOKEN). A task's error is free text from libraries (a database
//! driver, an HTTP client), so it may quote a connection string. Used by the
//! run page and `nightshift runs show`, and by the alert events sent to
//! PagerDuty and the webhook (crates/nightshift-tasks/src/delivery/events.rs).

use crate::config::Config;
use secrecy::ExposeSecret;

pub const HIDDEN: &str = "[redacted]";

#[derive(Clone, Debug, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    pub fn new(cfg: &Config) -> Self {
        let secrets = [
            &cfg.cron_secret,
            &cfg.cron_secret_previous,
            &cfg.metrics_token,
        ]
        .into_iter()
        .flatten()
        .map(|s| s.expose_secret().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
        Self { secrets }
    }

    pub fn apply(&self, text: &str) -> String {
        let mut out = url_credentials(text);
        for s in &self.secrets {
            out = out.replace(s.as_str(), HIDDEN);
        }
        out
    }
}

/// Every `://user[:pass]@` in the text loses its user information.
fn url_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        // The authority ends at the path, query, fragment or the text's end
        // of the URL (whitespace, quotes, brackets).
        let end = tail
            .find(|c: char| "/?#\"'<>()[]{}`".contains(c) || c.is_whitespace())
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(i) => {
                out.push_str("***");
                out.push_str(&authority[i..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_credentials_go_and_the_rest_stays() {
        let r = Redactor::default();
        assert_eq!(
            r.apply("connect postgres://app:s3cr%40t@db.internal:5432/x failed"),
            "connect postgres://***@db.internal:5432/x failed"
        );
        assert_eq!(
            r.apply("GET https://token@api.github.com/repos and http://plain.example/a?b=c@d"),
            "GET https://***@api.github.com/repos and http://plain.example/a?b=c@d"
        );
        assert_eq!(r.apply("no url here: a@b"), "no url here: a@b");
        assert_eq!(r.apply("ends with ://"), "ends with ://");
    }

    #[test]
    fn configured_secrets_are_hidden() {
        let cfg = Config::default().with_secret("the-cron-secret-0123456789");
        let r = Redactor::new(&cfg);
        assert_eq!(
            r.apply("Bearer the-cron-secret-0123456789 refused"),
            "Bearer [redacted] refused"
        );
    }
}
