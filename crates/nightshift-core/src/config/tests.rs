//! Parsing the environment: what is refused, by name, and what is kept.

use super::*;
use std::collections::HashMap;

/// What `openssl rand -hex 32` prints: 64 hex digits, 330 bits by the rule.
const HEX: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

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
    let c = cfg(&[("CRON_SECRET", &format!("{HEX}\n"))]).unwrap();
    assert_eq!(c.cron_secret.unwrap().expose_secret(), HEX);
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
    assert!(cfg(&[("CRON_SECRET", &format!("  {HEX}\n"))]).is_ok());
}

/// Each weak secret is refused by name, with the rule and how to make one,
/// never the value; what the generators print passes.
#[test]
fn weak_secrets_are_refused_by_name() {
    for (name, value) in [
        ("CRON_SECRET", "test-secret-0123456789abcdef"), // 28 characters
        ("CRON_SECRET_PREVIOUS", "short"),
        ("CRON_SECRET", "0123456789012345678901234567890123"), // digits: 113 bits
        ("CRON_SECRET", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"), // one character
        ("CRON_SECRET", "abababababababababababababababababab"),
    ] {
        let e = cfg(&[(name, value)]).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("{name} is invalid: too weak")),
            "{e}"
        );
        assert!(
            e.contains("openssl rand -hex 32") && e.contains("128 bits"),
            "{e}"
        );
        assert!(!e.contains(value), "the value is never shown: {e}");
    }
    for good in [
        HEX,
        "n2Qe0Zk6m4Yb1r8VtH3sL5wXc7pJ9aFgUdKiOyTqRzE=", // base64 of 32 bytes
        "correct-horse-battery-staple-mango-violin",    // 41 x log2(58)
        "0123456789012345678901234567890123456789",     // 40 digits: 133 bits
    ] {
        assert!(cfg(&[("CRON_SECRET", good)]).is_ok(), "{good}");
    }
    assert!((estimated_bits(HEX) - 64.0 * 36f64.log2()).abs() < 1e-9);
    assert_eq!(estimated_bits("aaaa"), 4.0 * 26f64.log2());
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
        ("CRON_SECRET", "hunter2-hunter2-hunter2-hunter2-X"),
        ("DATABASE_URL", "postgres://u:pw@h/db"),
    ])
    .unwrap();
    let printed = format!("{c:?}");
    assert!(!printed.contains("hunter2") && !printed.contains("pw@"));
}

#[test]
fn auth_failure_limits_default_and_parse() {
    let c = cfg(&[]).unwrap();
    assert_eq!(c.auth_failures_per_client, 5);
    let c = cfg(&[("AUTH_FAILURES_PER_CLIENT", "20")]).unwrap();
    assert_eq!(c.auth_failures_per_client, 20);
    assert!(cfg(&[("AUTH_FAILURES_PER_CLIENT", "0")]).is_err());
}

/// BASE_URL receives the bearer from the heartbeat: https, or http to a
/// loopback host only; anything else is refused by name, value unshown.
#[test]
fn base_url_must_be_https_except_on_loopback() {
    for ok in [
        "https://nightshift.example.com",
        "https://nightshift.example.com/",
        "http://localhost:3000",
        "http://127.0.0.1:3000",
        "http://127.9.9.9",
        "http://[::1]:3000",
        "HTTP://LOCALHOST",
    ] {
        let c = cfg(&[("BASE_URL", ok)]).unwrap_or_else(|e| panic!("{ok}: {e}"));
        assert!(c.base_url.is_some(), "{ok}");
    }
    for bad in [
        "http://nightshift.example.com",
        "http://10.0.0.7:3000",
        "http://localhost.example.com",
        "http://[::ffff:10.0.0.1]",
        "ftp://nightshift.example.com",
        "nightshift.example.com",
        "https://",
    ] {
        let e = cfg(&[("BASE_URL", bad)]).unwrap_err().to_string();
        assert!(e.starts_with("BASE_URL is invalid"), "{bad}: {e}");
        assert!(
            !e.contains("nightshift.example") && !e.contains("10.0.0"),
            "{e}"
        );
    }
    assert!(cfg(&[("BASE_URL", "  ")]).unwrap().base_url.is_none());
}
