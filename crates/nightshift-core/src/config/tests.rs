//! Parsing the environment: what is refused, by name, and what is kept.

use super::*;
use std::collections::HashMap;

fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(|k| map.get(k).cloned())
}

#[test]
fn blank_secret_is_unset_and_newline_is_trimmed() {
    assert!(
        cfg(&[("CRON_SECRET", "  \n")])
            .unwrap()
            .cron_secret
            .is_none()
    );
    let c = cfg(&[("CRON_SECRET", "s3cret\n")]).unwrap();
    assert_eq!(c.cron_secret.unwrap().expose_secret(), "s3cret");
}

#[test]
fn invalid_values_name_the_variable() {
    let e = cfg(&[("JOB_BUDGET_SECS", "soon")]).unwrap_err();
    assert!(e.to_string().starts_with("JOB_BUDGET_SECS is invalid"));
    let e = cfg(&[("ORG_TIMEZONE", "Mars/Olympus")]).unwrap_err();
    assert!(e.to_string().contains("ORG_TIMEZONE"));
    assert!(cfg(&[("JOB_BUDGET_SECS", "-3")]).is_err());
    assert!(cfg(&[("DATABASE_PGBOUNCER", "maybe")]).is_err());
    assert!(cfg(&[("ALERT_EMAILS", "ops@example.com, nobody")]).is_err());
    let e = cfg(&[("ALERT_EMAILS", "jane.doe@example")]).unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"ALERT_EMAILS is invalid: "j***@example" is not an e-mail address"#
    );
    assert!(cfg(&[("ALERT_REVENUE_THRESHOLD", "-5")]).is_err());
    assert!(cfg(&[("GITHUB_CONCURRENCY", "0")]).is_err());
    assert!(cfg(&[("MAX_EMAILS_PER_RUN", "none")]).is_err());
    assert!(cfg(&[("GITHUB_API_URL", "ftp://x")]).is_err());
    assert!(cfg(&[("HEALTHCHECK_URL", "hc-ping.com/abc")]).is_err());
    assert!(cfg(&[("SEVERITY_LABELS", "sev1=urgent")]).is_err());
    let c = cfg(&[
        ("SEVERITY_LABELS", "Sev1=critical, sev4=low"),
        ("BUG_LABELS", "Bug, defect"),
    ])
    .unwrap();
    assert_eq!(
        c.severity_labels,
        [
            ("sev1".to_string(), "critical".to_string()),
            ("sev4".into(), "low".into())
        ]
    );
    assert_eq!(c.bug_labels, ["bug", "defect"]);
    let c = cfg(&[("ALERT_EMAILS", "ops@example.com, cto@example.com")]).unwrap();
    assert_eq!(c.alert_emails, ["ops@example.com", "cto@example.com"]);
}

#[test]
fn secrets_no_header_can_match_are_refused_by_name() {
    for (name, value) in [
        ("CRON_SECRET", "two words-0123456789"),
        ("CRON_SECRET_PREVIOUS", "tab\there-0123456789"),
        ("CRON_SECRET", "caf\u{e9}-0123456789abcdef"),
    ] {
        let e = cfg(&[(name, value)]).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{name} is invalid")), "{e}");
        assert!(!e.contains(value), "the value is never shown: {e}");
    }
    let c = cfg(&[("CRON_SECRET", "  ok-0123456789abcdef\n")]).unwrap();
    assert!(c.warnings().is_empty());
}

#[test]
fn short_secrets_are_a_warning() {
    let c = cfg(&[("CRON_SECRET", "short"), ("CRON_SECRET_PREVIOUS", "tiny")]).unwrap();
    let w = c.warnings();
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(w[0].starts_with("CRON_SECRET is shorter than 16"), "{w:?}");
    assert!(w[1].starts_with("CRON_SECRET_PREVIOUS is shorter"), "{w:?}");
}

#[test]
fn plain_http_is_for_loopback_only() {
    for name in [
        "GITHUB_API_URL",
        "RESEND_API_URL",
        "SENDGRID_API_URL",
        "SLACK_WEBHOOK_URL",
    ] {
        for bad in ["http://api.example.com", "http://127.0.0.1.evil.io/x"] {
            let e = cfg(&[(name, bad)]).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("{name} is invalid: uses http://")),
                "{e}"
            );
            assert!(!e.contains("example") && !e.contains("evil"), "{e}");
        }
        for good in [
            "https://api.example.com",
            "http://127.0.0.1:8080/x",
            "http://localhost:9",
            "http://[::1]:9",
        ] {
            assert!(cfg(&[(name, good)]).is_ok(), "{name}={good}");
        }
    }
}

#[test]
fn pooler_urls_turn_statement_cache_off() {
    let c = cfg(&[(
        "DATABASE_URL",
        "postgres://u:p@db.x.supabase.co:6543/postgres",
    )])
    .unwrap();
    assert!(c.pgbouncer_mode());
    let c = cfg(&[("DATABASE_URL", "postgres://u:p@ep-1-pooler.neon.tech/db")]).unwrap();
    assert!(c.pgbouncer_mode());
    let c = cfg(&[("DATABASE_URL", "postgres://u:p@localhost:5432/db")]).unwrap();
    assert!(!c.pgbouncer_mode());
    let c = cfg(&[
        ("DATABASE_URL", "postgres://u:p@localhost:5432/db"),
        ("DATABASE_PGBOUNCER", "true"),
    ])
    .unwrap();
    assert!(c.pgbouncer_mode());
}

#[test]
fn debug_never_prints_secrets() {
    let c = cfg(&[
        ("CRON_SECRET", "hunter2hunter2"),
        ("DATABASE_URL", "postgres://u:pw@h/db"),
    ])
    .unwrap();
    let printed = format!("{c:?}");
    assert!(!printed.contains("hunter2") && !printed.contains("pw@"));
}

#[test]
fn log_retention_and_archive_export_parse_with_defaults() {
    let c = cfg(&[]).unwrap();
    assert_eq!(c.log_retention_days, 30);
    assert!(!c.export_with_archive);
    let c = cfg(&[("LOG_RETENTION_DAYS", "7"), ("EXPORT_WITH_ARCHIVE", "true")]).unwrap();
    assert_eq!(c.log_retention_days, 7);
    assert!(c.export_with_archive);
    let e = cfg(&[("LOG_RETENTION_DAYS", "0")]).unwrap_err();
    assert!(e.to_string().contains("LOG_RETENTION_DAYS"), "{e}");
    let e = cfg(&[("EXPORT_WITH_ARCHIVE", "sometimes")]).unwrap_err();
    assert!(e.to_string().contains("EXPORT_WITH_ARCHIVE"), "{e}");
}

#[test]
fn auth_failure_limits_default_and_parse() {
    let c = cfg(&[]).unwrap();
    assert_eq!(
        (c.auth_failures_per_client, c.auth_failures_global),
        (5, 100)
    );
    let c = cfg(&[
        ("AUTH_FAILURES_PER_CLIENT", "20"),
        ("AUTH_FAILURES_GLOBAL", "5000"),
    ])
    .unwrap();
    assert_eq!(
        (c.auth_failures_per_client, c.auth_failures_global),
        (20, 5000)
    );
    assert!(cfg(&[("AUTH_FAILURES_PER_CLIENT", "0")]).is_err());
}
