//! Requests, one page at a time. Redirects are followed here rather than by
//! reqwest so that a hop to another host never carries the token, and so the
//! caller learns the repository moved.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};

use crate::error::GitHubError;
use crate::issue::Issue;
use crate::link;

const MAX_REDIRECTS: usize = 5;
/// A page of 100 issues is well under 1 MiB; past this a response is refused
/// rather than held in memory whole (a broken proxy, a hostile mirror).
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
pub const PER_PAGE: u32 = 100;

#[derive(Clone)]
pub struct GitHub {
    http: reqwest::Client,
    api: Url,
    token: Option<SecretString>,
}

/// What a conditional GET came back with.
#[derive(Debug)]
pub enum Fetch {
    /// 304: nothing changed since the ETag; costs no rate limit.
    NotModified {
        rate: RateLimit,
    },
    Page(Box<Page>),
}

#[derive(Debug)]
pub struct Page {
    pub items: Vec<Issue>,
    pub next: Option<Url>,
    pub etag: Option<String>,
    pub rate: RateLimit,
    /// Where the page was finally served from, after redirects.
    pub url: Url,
    pub redirected: bool,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct RateLimit {
    pub remaining: Option<u32>,
    pub reset: Option<DateTime<Utc>>,
}

impl RateLimit {
    pub fn exhausted(&self) -> bool {
        self.remaining == Some(0)
    }

    fn from_headers(h: &HeaderMap) -> Self {
        let num = |name: &str| h.get(name)?.to_str().ok()?.trim().parse::<i64>().ok();
        Self {
            remaining: num("x-ratelimit-remaining").and_then(|n| u32::try_from(n).ok()),
            reset: num("x-ratelimit-reset").and_then(|s| Utc.timestamp_opt(s, 0).single()),
        }
    }
}

impl GitHub {
    /// `http` must not follow redirects itself (the runtime's shared client
    /// does not).
    pub fn new(
        http: reqwest::Client,
        api_url: &str,
        token: Option<SecretString>,
    ) -> Result<Self, GitHubError> {
        let api = api_base(api_url)?;
        Ok(Self { http, api, token })
    }

    /// Whether `url` is on GITHUB_API_URL's origin (scheme, host, port): the
    /// only place a page the token is sent to may come from.
    pub fn is_api_origin(&self, url: &Url) -> bool {
        same_origin(url, &self.api)
    }

    /// Page 1 of a repository's issues and pull requests updated since `since`,
    /// oldest update first, so an interrupted walk resumes where it was.
    pub fn issues_url(&self, repo: &str, since: Option<DateTime<Utc>>) -> Url {
        let mut url = self
            .api
            .join(&format!("repos/{repo}/issues"))
            .unwrap_or_else(|_| self.api.clone());
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("state", "all")
                .append_pair("sort", "updated")
                .append_pair("direction", "asc")
                .append_pair("per_page", &PER_PAGE.to_string());
            if let Some(s) = since {
                q.append_pair(
                    "since",
                    &s.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                );
            }
        }
        url
    }

    pub async fn fetch_issues(&self, url: &Url, etag: Option<&str>) -> Result<Fetch, GitHubError> {
        let mut url = url.clone();
        for hop in 0..=MAX_REDIRECTS {
            let resp = self.send(&url, etag).await?;
            let status = resp.status();
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                url = location(&url, resp.headers()).ok_or(GitHubError::Redirect(MAX_REDIRECTS))?;
                continue;
            }
            return self.read(url, resp, hop > 0).await;
        }
        Err(GitHubError::Redirect(MAX_REDIRECTS))
    }

    async fn send(&self, url: &Url, etag: Option<&str>) -> Result<reqwest::Response, GitHubError> {
        let mut req = self
            .http
            .get(url.clone())
            .header(header::ACCEPT, "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28");
        // The token goes only to the API's own host: a redirect elsewhere
        // (a CDN, a hostile mirror) must never see it.
        if let Some(token) = &self.token
            && same_origin(url, &self.api)
        {
            req = req.bearer_auth(token.expose_secret());
        }
        if let Some(tag) = etag.and_then(|t| HeaderValue::from_str(t).ok()) {
            req = req.header(header::IF_NONE_MATCH, tag);
        }
        req.send().await.map_err(GitHubError::Network)
    }

    async fn read(
        &self,
        url: Url,
        resp: reqwest::Response,
        redirected: bool,
    ) -> Result<Fetch, GitHubError> {
        let status = resp.status();
        let headers = resp.headers().clone();
        let rate = RateLimit::from_headers(&headers);
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Fetch::NotModified { rate });
        }
        if !status.is_success() {
            let body = read_capped(&url, resp).await.unwrap_or_default();
            let body = String::from_utf8_lossy(&body);
            return Err(classify(status, &headers, rate, &body));
        }
        let body = read_capped(&url, resp).await?;
        let items: Vec<Issue> =
            serde_json::from_slice(&body).map_err(|e| GitHubError::Malformed {
                url: url.to_string(),
                reason: e.to_string(),
            })?;
        let next = headers
            .get(header::LINK)
            .and_then(|v| v.to_str().ok())
            .and_then(link::next)
            .and_then(|n| url.join(n).ok());
        // The next page is asked for with the token and its URL is stored in
        // the cursor: only the API's own origin may be named (no SSRF to an
        // internal address through a response header).
        if let Some(n) = &next
            && !same_origin(n, &self.api)
        {
            return Err(GitHubError::Malformed {
                url: url.to_string(),
                reason: format!(
                    "Link rel=\"next\" points to {}, not GITHUB_API_URL's host",
                    n.origin().ascii_serialization()
                ),
            });
        }
        let etag = headers
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(Fetch::Page(Box::new(Page {
            items,
            next,
            etag,
            rate,
            url,
            redirected,
        })))
    }
}

/// The body, refused past `MAX_BODY_BYTES`: by its Content-Length when it
/// says one, else while it streams in.
async fn read_capped(url: &Url, mut resp: reqwest::Response) -> Result<Vec<u8>, GitHubError> {
    let too_large = || GitHubError::TooLarge {
        url: url.to_string(),
        limit_mib: MAX_BODY_BYTES / (1024 * 1024),
    };
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_BODY_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(GitHubError::Network)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// [`GitHub::is_api_origin`] for a caller with no client to send requests
/// with: a restore, dropping the stored pages the sync would refuse.
pub fn on_api_origin(api_url: &str, url: &Url) -> Result<bool, GitHubError> {
    Ok(same_origin(url, &api_base(api_url)?))
}

/// GITHUB_API_URL as a base that relative paths join onto.
fn api_base(api_url: &str) -> Result<Url, GitHubError> {
    let mut api = Url::parse(api_url.trim_end_matches('/'))
        .map_err(|e| GitHubError::BadBaseUrl(e.to_string()))?;
    if !api.path().ends_with('/') {
        api.set_path(&format!("{}/", api.path()));
    }
    Ok(api)
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

fn location(current: &Url, headers: &HeaderMap) -> Option<Url> {
    let loc = headers.get(header::LOCATION)?.to_str().ok()?;
    current.join(loc).ok()
}

fn classify(status: StatusCode, headers: &HeaderMap, rate: RateLimit, body: &str) -> GitHubError {
    let message = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| body.chars().take(200).collect());
    match status.as_u16() {
        401 => GitHubError::Unauthorized,
        404 | 410 => GitHubError::NotFound,
        403 | 429 => {
            let retry_after = headers
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            match retry_after {
                Some(secs) => GitHubError::SecondaryLimit {
                    retry_after: Duration::from_secs(secs),
                },
                None if rate.exhausted() || status == StatusCode::TOO_MANY_REQUESTS => {
                    GitHubError::RateLimited { reset: rate.reset }
                }
                None => GitHubError::Client {
                    status: status.as_u16(),
                    message,
                },
            }
        }
        s if s >= 500 => GitHubError::Server { status: s },
        s => GitHubError::Client { status: s, message },
    }
}
