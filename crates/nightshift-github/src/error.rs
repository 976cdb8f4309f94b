//! Everything that can go wrong talking to GitHub, split by what the caller
//! should do: retry (transient), wait (limits), or give up on one repository
//! or on the whole sync.

use std::time::Duration;

use chrono::{DateTime, Utc};

#[derive(Debug, thiserror::Error)]
pub enum GitHubError {
    #[error("GITHUB_TOKEN was rejected (401 Bad credentials)")]
    Unauthorized,
    #[error("repository not found, or not visible to GITHUB_TOKEN (404)")]
    NotFound,
    #[error("GitHub rate limit exhausted{}", reset.map(|r| format!(" until {}", r.to_rfc3339())).unwrap_or_default())]
    RateLimited { reset: Option<DateTime<Utc>> },
    #[error("GitHub secondary rate limit: retry after {} s", retry_after.as_secs())]
    SecondaryLimit { retry_after: Duration },
    #[error("GitHub answered {status}")]
    Server { status: u16 },
    #[error("GitHub answered {status}: {message}")]
    Client { status: u16, message: String },
    #[error("network error talking to GitHub: {0}")]
    Network(#[source] reqwest::Error),
    #[error("malformed response from {url}: {reason}")]
    Malformed { url: String, reason: String },
    #[error("the response from {url} is larger than {limit_mib} MiB; refused")]
    TooLarge { url: String, limit_mib: usize },
    #[error("redirect without a usable Location, or more than {0} redirects")]
    Redirect(usize),
    #[error("GITHUB_API_URL is invalid: {0}")]
    BadBaseUrl(String),
}

impl GitHubError {
    /// Worth another attempt after a pause: the network, or GitHub itself.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Server { .. } | Self::Network(_))
    }
}
