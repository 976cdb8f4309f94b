//! Every environment variable a Nightshift process reads, in one table: the
//! source of docs/reference/configuration.md (rendered by `render_markdown`)
//! and of the anchors `nightshift check` links its problems to.
//! crates/nightshift-env/tests/reference.rs fails when a variable the code reads
//! is missing here, when a row names one the code does not read, or when the
//! committed page differs from what this table renders.

/// How much a deployment has to care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// Nothing works without it.
    Required,
    /// Most deployments set it.
    Common,
    /// Tuning, tests, or set by the platform.
    Advanced,
}

/// Who reads the variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadBy {
    /// Nightshift's own code (found by the reference test's scan of crates/*/src).
    Nightshift,
    /// A library Nightshift uses reads it (named), so no call site shows it.
    Library(&'static str),
}

/// One variable: its name, type, default, group and one line of meaning.
#[derive(Clone, Copy, Debug)]
pub struct Var {
    pub name: &'static str,
    pub kind: &'static str,
    /// `""` when unset means nothing happens / the feature is off.
    pub default: &'static str,
    pub group: Group,
    pub read_by: ReadBy,
    pub meaning: &'static str,
}

const fn v(
    name: &'static str,
    kind: &'static str,
    default: &'static str,
    group: Group,
    meaning: &'static str,
) -> Var {
    Var {
        name,
        kind,
        default,
        group,
        read_by: ReadBy::Nightshift,
        meaning,
    }
}

const fn lib(
    name: &'static str,
    kind: &'static str,
    default: &'static str,
    group: Group,
    library: &'static str,
    meaning: &'static str,
) -> Var {
    Var {
        name,
        kind,
        default,
        group,
        read_by: ReadBy::Library(library),
        meaning,
    }
}

use Group::{Advanced, Common, Required};

pub const VARS: &[Var] = &[
    // --- required ---
    v(
        "CRON_SECRET",
        "secret",
        "",
        Required,
        "Bearer secret of every route and the dashboard's sign-in. Unset or empty: every route answers 500 (fail closed). Trimmed; must carry 128 bits (32+ characters, e.g. `openssl rand -hex 32`), or every route answers 500 naming it; inner whitespace or non-printable ASCII is an error.",
    ),
    v(
        "DATABASE_URL",
        "postgres:// URL",
        "",
        Required,
        "The Postgres database. `scripts/dev` provides one.",
    ),
    // --- common ---
    v(
        "BASE_URL",
        "URL",
        "",
        Common,
        "Public base URL of the deployment, `https://` (plain `http://` only on loopback): links in mail and Slack, and where the heartbeat calls the routes for retries, continuations and catch-ups (unset: they stay due). `nightshift trigger --url` defaults to it.",
    ),
    v(
        "GITHUB_TOKEN",
        "secret",
        "",
        Common,
        "Token for the GitHub API (read access to issues, pull requests and metadata of the synced repositories). Unset: 60 unauthenticated requests an hour.",
    ),
    v(
        "ORG_TIMEZONE",
        "IANA zone",
        "UTC",
        Common,
        "Zone of local-hour features (08:00 reminders, the weekly report's week) and the dashboard's second clock.",
    ),
    v(
        "EXPORT_URL",
        "folder, file:// or s3:// URL",
        ".data/exports",
        Common,
        "Where the daily export goes; on Vercel and Lambda an `s3://bucket/prefix` (a function's disk does not survive).",
    ),
    v(
        "EMAIL_FROM",
        "`Name <addr>` or `addr`",
        "",
        Common,
        "Sender of every e-mail; required once a transport is set.",
    ),
    v(
        "REPORT_EMAILS",
        "comma-separated addresses",
        "",
        Common,
        "Recipients of the weekly report (unset: stored, not sent).",
    ),
    v(
        "ALERT_EMAILS",
        "comma-separated addresses",
        "",
        Common,
        "Told of every new alert, besides the project owner.",
    ),
    v(
        "SMTP_URL",
        "secret URL",
        "",
        Common,
        "`smtp://user:pass@host:587` (STARTTLS), `smtps://…:465` (TLS), plain only to loopback or with `?tls=none`. One of the three e-mail transports.",
    ),
    v(
        "RESEND_API_KEY",
        "secret",
        "",
        Common,
        "Send e-mail through Resend's API (one of the three e-mail transports).",
    ),
    v(
        "SENDGRID_API_KEY",
        "secret",
        "",
        Common,
        "Send e-mail through SendGrid's v3 API (one of the three e-mail transports).",
    ),
    v(
        "SLACK_WEBHOOK_URL",
        "secret URL",
        "",
        Common,
        "Slack incoming webhook: one summary post per run of alerts and escalations.",
    ),
    v(
        "PAGERDUTY_ROUTING_KEY",
        "secret (32 characters)",
        "",
        Common,
        "PagerDuty Events API v2 integration key: critical alerts and `slot_not_healed` trigger an incident under the alert's dedupe key, resolved when the alert clears.",
    ),
    v(
        "ALERT_WEBHOOK_URL",
        "secret URL",
        "",
        Common,
        "Receiver of the signed JSON events `alert.raised`, `alert.resolved` and `run.failed` (Standard Webhooks); `https://`, or `http://` to loopback. Needs `ALERT_WEBHOOK_SECRET`.",
    ),
    v(
        "ALERT_WEBHOOK_SECRET",
        "secret (`whsec_` + base64 of ≥ 24 bytes)",
        "",
        Common,
        "Signs every webhook event (`webhook-signature`, HMAC-SHA256); the receiver verifies with the same value in any Standard Webhooks library. Required with `ALERT_WEBHOOK_URL`.",
    ),
    v(
        "HEALTHCHECK_URL",
        "secret URL",
        "",
        Common,
        "Dead-man's switch (Healthchecks.io protocol) shared by every route without a check of its own: pinged at each run's start, success and failure; never fails a run. Its period is the hourly route's, so it hides a stopped daily or weekly route: prefer one check per route.",
    ),
    v(
        "HEALTHCHECK_URL_HOURLY",
        "secret URL",
        "",
        Common,
        "The hourly route's own dead-man check; `nightshift check` prints the period and grace to give it.",
    ),
    v(
        "HEALTHCHECK_URL_DAILY",
        "secret URL",
        "",
        Common,
        "The daily route's own dead-man check.",
    ),
    v(
        "HEALTHCHECK_URL_WEEKLY",
        "secret URL",
        "",
        Common,
        "The weekly route's own dead-man check.",
    ),
    v(
        "HEALTHCHECK_PING_KEY",
        "secret",
        "",
        Advanced,
        "A Healthchecks.io project's ping key: each route without its own URL pings the check `nightshift-<route>`, created on first use (`?create=1`).",
    ),
    v(
        "HEALTHCHECK_PING_URL",
        "URL",
        "https://hc-ping.com",
        Advanced,
        "Where ping keys are pinged (a self-hosted Healthchecks' ping endpoint).",
    ),
    v(
        "METRICS_TOKEN",
        "secret",
        "",
        Common,
        "Read-only bearer for `GET /api/metrics` (Prometheus); opens nothing else; the same 128-bit rule as `CRON_SECRET`, which works there too.",
    ),
    v(
        "DATABASE_URL_DIRECT",
        "postgres:// URL",
        "",
        Common,
        "Direct (non-pooled) URL of the same database, for `nightshift migrate` when `DATABASE_URL` goes through a transaction pooler.",
    ),
    v(
        "DATABASE_PGBOUNCER",
        "bool",
        "auto",
        Common,
        "`true`: `DATABASE_URL` is a transaction-mode pooler. Auto-on only for `pgbouncer=true` in the URL, port 6543 or a `-pooler.` host.",
    ),
    // --- advanced ---
    v(
        "CRON_SECRET_PREVIOUS",
        "secret",
        "",
        Advanced,
        "Also accepted while you rotate `CRON_SECRET`; same rules.",
    ),
    v(
        "NIGHTSHIFT_WRITE_DOCS",
        "flag",
        "",
        Advanced,
        "Development only: set while running the reference tests to rewrite the generated pages instead of comparing them.",
    ),
    v(
        "AUTH_FAILURES_PER_CLIENT",
        "integer 1–1000000",
        "5",
        Advanced,
        "Wrong secrets one client scope (an IPv4 address, an IPv6 /48) may present before its back-off (30 s, doubling to 1 h); the right secret is never refused.",
    ),
    v(
        "DATABASE_MAX_CONNECTIONS",
        "integer 1–10000",
        "5",
        Advanced,
        "Pool size per process (the ledger opens 2 more); keep it small on serverless.",
    ),
    v(
        "JOB_BUDGET_SECS",
        "seconds (decimals allowed)",
        "maxDuration − 20",
        Advanced,
        "Time budget of a run from the request's arrival; above any route's maxDuration − 20 it is a startup error.",
    ),
    v(
        "ALERT_REVENUE_THRESHOLD",
        "decimal",
        "10000",
        Advanced,
        "Daily revenue at risk per project that raises an alert; also scales the health score.",
    ),
    v(
        "GITHUB_API_URL",
        "URL",
        "https://api.github.com",
        Advanced,
        "GitHub Enterprise, or a local server in tests; `http://` only to loopback.",
    ),
    v(
        "GITHUB_CONCURRENCY",
        "integer 1–64",
        "8",
        Advanced,
        "Repositories synced at once per invocation.",
    ),
    v(
        "BUG_LABELS",
        "comma-separated labels",
        "",
        Advanced,
        "When set, only issues carrying one of these labels are stored as bugs.",
    ),
    v(
        "SEVERITY_LABELS",
        "comma-separated `label=severity`",
        "",
        Advanced,
        "Extra label-to-severity pairs, e.g. `sev-a=critical,minor=low`.",
    ),
    v(
        "MAX_EMAILS_PER_RUN",
        "integer 1–100000",
        "100",
        Advanced,
        "Messages sent per run, spent in priority order (report, critical, digests, bulk); also caps due-soon lists enqueued per run.",
    ),
    v(
        "RESEND_API_URL",
        "URL",
        "https://api.resend.com",
        Advanced,
        "Override for tests and proxies; `http://` only to loopback.",
    ),
    v(
        "SENDGRID_API_URL",
        "URL",
        "https://api.sendgrid.com",
        Advanced,
        "Override for tests and proxies; `http://` only to loopback.",
    ),
    v(
        "PAGERDUTY_EVENTS_URL",
        "URL",
        "https://events.pagerduty.com/v2/enqueue",
        Advanced,
        "Where PagerDuty events are posted (the full enqueue URL): EU accounts may use `https://events.eu.pagerduty.com/v2/enqueue`; an override for tests and proxies; `http://` only to loopback.",
    ),
    v(
        "ARCHIVE_RETENTION_DAYS",
        "integer 1–36500",
        "365",
        Advanced,
        "Archived ledger rows older than this are deleted by the weekly `archive`.",
    ),
    v(
        "LOG_RETENTION_DAYS",
        "integer 1–36500",
        "30",
        Advanced,
        "`log_cleanup` moves sync events and finished runs older than this into the archive tables.",
    ),
    v(
        "EXPORT_WITH_ARCHIVE",
        "bool",
        "false",
        Advanced,
        "The daily export also carries the two archive tables.",
    ),
    v(
        "LOG_FORMAT",
        "`json` or `pretty`",
        "json on Vercel/Lambda, else pretty",
        Advanced,
        "Log line format.",
    ),
    v(
        "PORT",
        "port",
        "3000",
        Advanced,
        "Port of `nightshift serve`.",
    ),
    v(
        "USER",
        "string",
        "unknown",
        Advanced,
        "Who `nightshift pause` records as having paused a job.",
    ),
    v(
        "VERCEL",
        "set by the platform",
        "",
        Advanced,
        "Present on Vercel: JSON logs, and the client address taken from `X-Forwarded-For`. Do not set it yourself.",
    ),
    v(
        "AWS_LAMBDA_FUNCTION_NAME",
        "set by the platform",
        "",
        Advanced,
        "Present on Lambda: JSON logs. Do not set it yourself.",
    ),
    v(
        "AWS_LAMBDA_RUNTIME_API",
        "set by the platform",
        "",
        Advanced,
        "Present on Lambda: a route binary serves Lambda invocations instead of HTTP. Do not set it yourself.",
    ),
    lib(
        "RUST_LOG",
        "log filter",
        "info",
        Advanced,
        "tracing-subscriber",
        "Log filter, e.g. `info,nightshift_core=debug`.",
    ),
    lib(
        "VERCEL_DEV_PORT",
        "port",
        "3000",
        Advanced,
        "vercel_runtime",
        "Port a route binary listens on outside Vercel.",
    ),
    lib(
        "AWS_ACCESS_KEY_ID",
        "string",
        "",
        Advanced,
        "object_store",
        "S3 credentials for an `s3://` `EXPORT_URL` (or the function's role).",
    ),
    lib(
        "AWS_SECRET_ACCESS_KEY",
        "secret",
        "",
        Advanced,
        "object_store",
        "S3 credentials for an `s3://` `EXPORT_URL`.",
    ),
    lib(
        "AWS_REGION",
        "string",
        "",
        Advanced,
        "object_store",
        "The bucket's region.",
    ),
    lib(
        "AWS_ENDPOINT",
        "URL",
        "",
        Advanced,
        "object_store",
        "An S3-compatible server that is not AWS.",
    ),
    lib(
        "AWS_ALLOW_HTTP",
        "bool",
        "false",
        Advanced,
        "object_store",
        "`true` to reach `AWS_ENDPOINT` over plain http (a local S3-compatible server).",
    ),
];

/// The row of `name`, if the table has one.
pub fn find(name: &str) -> Option<&'static Var> {
    VARS.iter().find(|v| v.name == name)
}

/// Where the variable is described, relative to the book's root: the
/// heading id mdBook gives `### NAME` (lowercased; underscores kept).
pub fn anchor(name: &str) -> String {
    format!("reference/configuration.md#{}", name.to_ascii_lowercase())
}

/// docs/reference/configuration.md, exactly.
pub fn render_markdown() -> String {
    let mut out = String::from(
        "<!-- Generated from crates/nightshift-env/src/vars.rs: do not edit. Regenerate with\n     \
         NIGHTSHIFT_WRITE_DOCS=1 cargo test -p nightshift-env --test reference -->\n\
         # Configuration\n\n\
         Every setting is an environment variable; `nightshift check` reports a bad one with a \
         link to its entry here. *Required* variables must be set everywhere, *common* ones \
         by most deployments; *advanced* ones are tuning, tests, or set by the platform. \
         A value that cannot work (a bad zone, `http://` to a non-loopback API, a secret \
         with inner spaces) makes every route answer 500 naming the variable, never its value.\n\n\
         The development scripts' own variables (`scripts/dev`, `scripts/pg`, …) are in \
         CONTRIBUTING.md at the repository's root.\n",
    );
    for (group, title) in [
        (Required, "Required"),
        (Common, "Common"),
        (Advanced, "Advanced"),
    ] {
        out.push_str(&format!(
            "\n## {title}\n\n| variable | type | default |\n|---|---|---|\n"
        ));
        for var in VARS.iter().filter(|v| v.group == group) {
            out.push_str(&format!(
                "| [`{}`](#{}) | {} | {} |\n",
                var.name,
                var.name.to_ascii_lowercase(),
                var.kind,
                default_cell(var.default)
            ));
        }
        for var in VARS.iter().filter(|v| v.group == group) {
            out.push_str(&format!("\n### {}\n\n{}", var.name, var.meaning));
            if let ReadBy::Library(lib) = var.read_by {
                out.push_str(&format!(" (Read by the `{lib}` library.)"));
            }
            out.push('\n');
        }
    }
    out
}

fn default_cell(default: &str) -> String {
    match default {
        "" => "—".into(),
        d if d.contains(' ') => d.into(),
        d => format!("`{d}`"),
    }
}
