//! Typed configuration, read once from the environment when a process starts.
//!
//! Nothing here is fatal for a missing secret or database URL: a route must
//! still answer (500, fail closed) so the operator sees what is wrong.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

mod checks;
pub mod delivery;

pub use checks::{MIN_SECRET_LEN, mask_address};
use checks::{bearer_secret, require_tls};
pub use delivery::{DeliveryConfig, EmailTransportKind};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

#[derive(Clone, Debug)]
pub struct Config {
    pub cron_secret: Option<SecretString>,
    pub cron_secret_previous: Option<SecretString>,
    pub database_url: Option<SecretString>,
    /// Overrides the per-route budget (maxDuration minus the margin).
    pub job_budget: Option<Duration>,
    pub base_url: Option<String>,
    pub org_timezone: chrono_tz::Tz,
    pub db_max_connections: u32,
    /// Statement cache off, for PgBouncer transaction mode and managed poolers.
    pub db_pgbouncer: Option<bool>,
    /// Who hears about every new alert, besides the project's owner.
    pub alert_emails: Vec<String>,
    /// Daily revenue at risk per project above which an alert is raised.
    pub alert_revenue_threshold: f64,
    pub github_api_url: String,
    pub github_token: Option<SecretString>,
    /// Repositories synced at once by one invocation.
    pub github_concurrency: usize,
    /// When non-empty, only issues with one of these labels (lowercase) are bugs.
    pub bug_labels: Vec<String>,
    /// Extra `label -> severity` mappings on top of the built-in ones.
    pub severity_labels: Vec<(String, String)>,
    /// Where exports go: a local folder path, `file:///…`, or `s3://bucket/prefix`.
    pub export_url: String,
    /// Exports also carry the archive tables (`EXPORT_WITH_ARCHIVE`); off by
    /// default, since the archive is history and can dwarf the live data.
    pub export_with_archive: bool,
    /// At most this many e-mails enqueued (digests) or sent per run.
    pub max_emails_per_run: i64,
    pub delivery: DeliveryConfig,
    /// Archived ledger rows older than this are deleted for good.
    pub archive_retention_days: i64,
    /// `log_cleanup` moves sync events and finished runs older than this
    /// into the archive tables.
    pub log_retention_days: i64,
    /// Dead-man's switch (Healthchecks.io protocol): pinged at each run's
    /// start and end. Holds the check's key, so it is never logged.
    pub healthcheck_url: Option<SecretString>,
    /// Wrong secrets one client address, and all together, may present before
    /// the back-off (crate::throttle) starts.
    pub auth_failures_per_client: u32,
    pub auth_failures_global: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            cron_secret: None,
            cron_secret_previous: None,
            database_url: None,
            job_budget: None,
            base_url: None,
            org_timezone: chrono_tz::UTC,
            db_max_connections: 5,
            db_pgbouncer: None,
            alert_emails: Vec::new(),
            alert_revenue_threshold: 10_000.0,
            github_api_url: DEFAULT_GITHUB_API.to_owned(),
            github_token: None,
            github_concurrency: 8,
            bug_labels: Vec::new(),
            severity_labels: Vec::new(),
            export_url: DEFAULT_EXPORT_URL.to_owned(),
            export_with_archive: false,
            max_emails_per_run: 100,
            delivery: DeliveryConfig::default(),
            archive_retention_days: 365,
            log_retention_days: 30,
            healthcheck_url: None,
            auth_failures_per_client: 5,
            auth_failures_global: 100,
        }
    }
}

pub const DEFAULT_EXPORT_URL: &str = ".data/exports";

pub const DEFAULT_GITHUB_API: &str = "https://api.github.com";

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads from any lookup, so tests never mutate the process environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let secret = |name: &str| get(name).and_then(|v| secret_value(&v));
        let job_budget = match get("JOB_BUDGET_SECS").filter(|v| !v.trim().is_empty()) {
            None => None,
            Some(v) => Some(parse_budget(&v).map_err(|reason| ConfigError::Invalid {
                name: "JOB_BUDGET_SECS",
                reason,
            })?),
        };
        let org_timezone = match get("ORG_TIMEZONE").filter(|v| !v.trim().is_empty()) {
            None => chrono_tz::UTC,
            Some(v) => v.trim().parse().map_err(|_| ConfigError::Invalid {
                name: "ORG_TIMEZONE",
                reason: format!("{v:?} is not an IANA time zone such as Europe/Paris"),
            })?,
        };
        let db_max_connections = parse_number(&get, "DATABASE_MAX_CONNECTIONS", 5, 1..=10_000)?;
        let db_pgbouncer = match get("DATABASE_PGBOUNCER") {
            None => None,
            Some(v) => Some(parse_bool(&v).ok_or_else(|| ConfigError::Invalid {
                name: "DATABASE_PGBOUNCER",
                reason: format!("{v:?} is not true or false"),
            })?),
        };
        let alert_emails =
            parse_emails(get("ALERT_EMAILS").as_deref().unwrap_or("")).map_err(|reason| {
                ConfigError::Invalid {
                    name: "ALERT_EMAILS",
                    reason,
                }
            })?;
        let alert_revenue_threshold =
            match get("ALERT_REVENUE_THRESHOLD").filter(|v| !v.trim().is_empty()) {
                None => 10_000.0,
                Some(v) => v
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite() && *n >= 0.0)
                    .ok_or_else(|| ConfigError::Invalid {
                        name: "ALERT_REVENUE_THRESHOLD",
                        reason: format!("{v:?} is not a non-negative amount"),
                    })?,
            };
        let github_concurrency = parse_number(&get, "GITHUB_CONCURRENCY", 8, 1..=64)?;
        let github_api_url = get("GITHUB_API_URL")
            .map(|v| v.trim().trim_end_matches('/').to_owned())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| DEFAULT_GITHUB_API.to_owned());
        if !(github_api_url.starts_with("https://") || github_api_url.starts_with("http://")) {
            return Err(ConfigError::Invalid {
                name: "GITHUB_API_URL",
                reason: format!("{github_api_url:?} is not an http(s) URL"),
            });
        }
        require_tls("GITHUB_API_URL", &github_api_url)?;
        let bug_labels = split_list(get("BUG_LABELS").as_deref().unwrap_or(""));
        let severity_labels = split_list(get("SEVERITY_LABELS").as_deref().unwrap_or(""))
            .into_iter()
            .map(|pair| match pair.split_once('=') {
                Some((label, sev))
                    if ["critical", "high", "medium", "low"].contains(&sev.trim()) =>
                {
                    Ok((label.trim().to_owned(), sev.trim().to_owned()))
                }
                _ => Err(ConfigError::Invalid {
                    name: "SEVERITY_LABELS",
                    reason: format!("{pair:?} is not label=critical|high|medium|low"),
                }),
            })
            .collect::<Result<_, _>>()?;
        let max_emails_per_run = parse_number(&get, "MAX_EMAILS_PER_RUN", 100, 1..=100_000)?;
        let archive_retention_days = parse_number(&get, "ARCHIVE_RETENTION_DAYS", 365, 1..=36_500)?;
        let log_retention_days = parse_number(&get, "LOG_RETENTION_DAYS", 30, 1..=36_500)?;
        let auth_failures_per_client =
            parse_number(&get, "AUTH_FAILURES_PER_CLIENT", 5, 1..=1_000_000)?;
        let auth_failures_global = parse_number(&get, "AUTH_FAILURES_GLOBAL", 100, 1..=1_000_000)?;
        let export_with_archive = match get("EXPORT_WITH_ARCHIVE") {
            None => false,
            Some(v) => parse_bool(&v).ok_or_else(|| ConfigError::Invalid {
                name: "EXPORT_WITH_ARCHIVE",
                reason: format!("{v:?} is not true or false"),
            })?,
        };
        let delivery = DeliveryConfig::from_lookup(&get)?;
        let cron_secret = bearer_secret(&get, "CRON_SECRET")?;
        let cron_secret_previous = bearer_secret(&get, "CRON_SECRET_PREVIOUS")?;
        let healthcheck_url = get("HEALTHCHECK_URL")
            .map(|v| v.trim().trim_end_matches('/').to_owned())
            .filter(|v| !v.is_empty());
        if let Some(u) = &healthcheck_url
            && !(u.starts_with("https://") || u.starts_with("http://"))
        {
            return Err(ConfigError::Invalid {
                name: "HEALTHCHECK_URL",
                reason: "not an http(s) URL".into(),
            });
        }
        Ok(Self {
            export_url: get("EXPORT_URL")
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| DEFAULT_EXPORT_URL.to_owned()),
            export_with_archive,
            max_emails_per_run,
            archive_retention_days,
            log_retention_days,
            auth_failures_per_client,
            auth_failures_global,
            healthcheck_url: healthcheck_url.map(SecretString::from),
            delivery,
            github_api_url,
            github_token: secret("GITHUB_TOKEN"),
            github_concurrency,
            bug_labels,
            severity_labels,
            alert_emails,
            alert_revenue_threshold,
            cron_secret,
            cron_secret_previous,
            database_url: secret("DATABASE_URL"),
            job_budget,
            base_url: get("BASE_URL").filter(|v| !v.trim().is_empty()),
            org_timezone,
            db_max_connections,
            db_pgbouncer,
        })
    }

    /// What is legal but unwise, for the log at startup (`nightshift check`
    /// reports the same as problems).
    pub fn warnings(&self) -> Vec<String> {
        [
            ("CRON_SECRET", &self.cron_secret),
            ("CRON_SECRET_PREVIOUS", &self.cron_secret_previous),
        ]
        .into_iter()
        .filter(|(_, s)| {
            s.as_ref()
                .is_some_and(|s| s.expose_secret().len() < MIN_SECRET_LEN)
        })
        .map(|(name, _)| {
            format!("{name} is shorter than {MIN_SECRET_LEN} characters; use a long random value")
        })
        .collect()
    }

    /// The dashboard's public address (BASE_URL + the dashboard path), for
    /// links in e-mail and Slack; `None` without BASE_URL.
    pub fn dashboard_url(&self) -> Option<String> {
        self.base_url
            .as_deref()
            .map(|b| format!("{}{}", b.trim_end_matches('/'), crate::web::DASHBOARD_PATH))
    }

    pub fn with_secret(mut self, secret: &str) -> Self {
        self.cron_secret = secret_value(secret);
        self
    }

    /// The URL asks for pooler-safe settings when it says so, or when it points
    /// at a known transaction pooler (Supabase's port 6543, Neon's -pooler host).
    pub fn pgbouncer_mode(&self) -> bool {
        if let Some(flag) = self.db_pgbouncer {
            return flag;
        }
        let Some(url) = &self.database_url else {
            return false;
        };
        let url = url.expose_secret();
        url.contains("pgbouncer=true") || url.contains(":6543/") || url.contains("-pooler.")
    }
}

/// An integer variable within `range`, or `default` when unset or blank.
fn parse_number<T>(
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

/// Trailing whitespace and newlines come from `echo` and env files, never from
/// a generated secret; an all-blank value is no secret at all.
fn secret_value(raw: &str) -> Option<SecretString> {
    let trimmed = raw.trim();
    (!trimmed.is_empty()).then(|| SecretString::from(trimmed.to_owned()))
}

/// A comma-separated list, trimmed and lowercased, empties dropped.
fn split_list(v: &str) -> Vec<String> {
    v.split(',')
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

/// A comma-separated list of addresses; each must at least look like one.
fn parse_emails(v: &str) -> Result<Vec<String>, String> {
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

fn parse_budget(v: &str) -> Result<Duration, String> {
    let secs: f64 = v
        .trim()
        .parse()
        .map_err(|_| format!("{v:?} is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= 86_400.0) {
        return Err(format!("{v:?} must be between 0 and 86400 seconds"));
    }
    Ok(Duration::from_secs_f64(secs))
}

pub(crate) fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" | "" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
