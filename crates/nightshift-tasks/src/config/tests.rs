//! Parsing the tasks' variables (and, through them, the delivery settings):
//! what is refused, by name, and what is kept.

use super::*;
use std::collections::HashMap;

fn cfg(pairs: &[(&str, &str)]) -> Result<TasksConfig, ConfigError> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    TasksConfig::from_lookup(|k| map.get(k).cloned())
}

#[test]
fn invalid_values_name_the_variable() {
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
fn plain_http_is_for_loopback_only() {
    for name in [
        "GITHUB_API_URL",
        "RESEND_API_URL",
        "SENDGRID_API_URL",
        "SLACK_WEBHOOK_URL",
        "PAGERDUTY_EVENTS_URL",
        "ALERT_WEBHOOK_URL",
    ] {
        // The webhook's URL comes with its secret, or the secret is refused.
        let secret = (
            "ALERT_WEBHOOK_SECRET",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        );
        let with = |v| {
            let mut pairs = vec![(name, v)];
            pairs.extend((name == "ALERT_WEBHOOK_URL").then_some(secret));
            pairs
        };
        for bad in ["http://api.example.com", "http://127.0.0.1.evil.io/x"] {
            let e = cfg(&with(bad)).unwrap_err().to_string();
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
            assert!(cfg(&with(good)).is_ok(), "{name}={good}");
        }
    }
}

#[test]
fn debug_never_prints_secrets() {
    let c = cfg(&[("GITHUB_TOKEN", "ghp_hunter2hunter2")]).unwrap();
    assert!(!format!("{c:?}").contains("hunter2"));
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
