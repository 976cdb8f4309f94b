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
    assert!(cfg(&[("HEALTHCHECK_URL", "hc-ping.com/abc")]).is_err());
}

#[test]
fn secrets_no_header_can_match_are_refused_by_name() {
    for (name, value) in [
        ("CRON_SECRET", "two words-0123456789"),
        ("CRON_SECRET_PREVIOUS", "tab\there-0123456789"),
        ("CRON_SECRET", "caf\u{e9}-0123456789abcdef"),
        ("METRICS_TOKEN", "two words-0123456789"),
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
