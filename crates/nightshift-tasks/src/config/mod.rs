//! The tasks' own settings: GitHub, which issues are bugs, the export, the
//! alert thresholds, retention, the per-run e-mail cap, and the delivery
//! settings of nightshift-mail. Read once at start next to core's runtime
//! `Config`; tasks reach them typed as `ctx.env` (core's `TaskContext<E>`;
//! docs/decisions.md, 71).

use nightshift_env::{
    ConfigError, api_url, email_list, parse_flag, parse_number, secret_value, split_list,
};
use nightshift_mail::DeliveryConfig;
use secrecy::SecretString;

const DEFAULT_EXPORT_URL: &str = ".data/exports";

pub(crate) const DEFAULT_GITHUB_API: &str = "https://api.github.com";

#[derive(Clone, Debug)]
pub struct TasksConfig {
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
    /// Archived ledger rows older than this are deleted for good.
    pub archive_retention_days: i64,
    /// `log_cleanup` moves sync events and finished runs older than this
    /// into the archive tables.
    pub log_retention_days: i64,
    pub delivery: DeliveryConfig,
}

impl Default for TasksConfig {
    fn default() -> Self {
        Self {
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
            archive_retention_days: 365,
            log_retention_days: 30,
            delivery: DeliveryConfig::default(),
        }
    }
}

impl TasksConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(nightshift_env::process_env)
    }

    /// GITHUB_API_URL alone, read as [`Self::from_env`] reads it: for a
    /// command that needs no other setting and should not fail on one
    /// (`nightshift restore`).
    pub fn github_api_url_from_env() -> Result<String, ConfigError> {
        api_url(
            &nightshift_env::process_env,
            "GITHUB_API_URL",
            DEFAULT_GITHUB_API,
        )
    }

    /// Reads from any lookup, so tests never mutate the process environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let alert_emails = email_list(&get, "ALERT_EMAILS")?;
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
        let github_api_url = api_url(&get, "GITHUB_API_URL", DEFAULT_GITHUB_API)?;
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
        let export_with_archive = parse_flag(&get, "EXPORT_WITH_ARCHIVE", false)?;
        let delivery = DeliveryConfig::from_lookup(&get)?;
        Ok(Self {
            alert_emails,
            alert_revenue_threshold,
            github_api_url,
            github_token: get("GITHUB_TOKEN").and_then(|v| secret_value(&v)),
            github_concurrency,
            bug_labels,
            severity_labels,
            export_url: get("EXPORT_URL")
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| DEFAULT_EXPORT_URL.to_owned()),
            export_with_archive,
            max_emails_per_run,
            archive_retention_days,
            log_retention_days,
            delivery,
        })
    }
}

#[cfg(test)]
mod tests;
