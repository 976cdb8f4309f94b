//! vercel.json's two keys and two shapes, and what each refuses, naming the
//! entry.

use super::*;
use chrono::{DateTime, TimeZone, Utc};

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

const FUNCTIONS: &str = r#""functions":{"api/cron/hourly.rs":{"maxDuration":300},
                                          "api/cron/daily.rs":{"maxDuration":800}}"#;

fn vercel(keys: &str) -> VercelJson {
    VercelJson::parse(&format!("{{{keys}, {FUNCTIONS}}}")).unwrap()
}

#[test]
fn reads_legacy_crons_in_utc() {
    let v = vercel(r#""crons":[{"path":"/api/cron/hourly","schedule":"0 * * * *"}]"#);
    let (s, max) = v.route("/api/cron/hourly").unwrap();
    assert_eq!(s.expr(), "0 * * * *");
    assert_eq!(s.timezone(), Tz::UTC);
    assert_eq!(max, Duration::from_secs(300));
    let e = v.route("/api/cron/daily").unwrap_err();
    assert!(matches!(e, ScheduleError::NoCron(_)), "{e}");
    let never = vercel(r#""crons":[{"path":"/api/cron/hourly","schedule":"0 0 30 2 *"}]"#);
    let e = never.route("/api/cron/hourly").unwrap_err();
    assert!(
        e.to_string()
            .contains("crons[0].schedule \"0 0 30 2 *\": never fires"),
        "{e}"
    );
}

#[test]
fn reads_schedules_as_an_array_or_an_object_with_zone_and_jitter() {
    let array = vercel(
        r#""schedules":[
            {"name":"hourly","schedule":"0 * * * *","path":"/api/cron/hourly","jitter":5},
            {"name":"daily","schedule":"30 6 * * *","timezone":"Asia/Kolkata",
             "path":"/api/cron/daily","requestMethod":"POST"},
            {"name":"cleanup","schedule":"0 3 * * *","function":"api/cleanup"}]"#,
    );
    let object = vercel(
        r#""schedules":{
            "hourly":{"schedule":"0 * * * *","path":"/api/cron/hourly","jitter":5},
            "daily":{"schedule":"30 6 * * *","timezone":"Asia/Kolkata","path":"/api/cron/daily"}}"#,
    );
    for v in [array, object] {
        let declared = v.declared().unwrap();
        assert_eq!(
            declared.len(),
            2,
            "the function target is not a route of ours"
        );
        let (daily, _) = v.route("/api/cron/daily").unwrap();
        assert_eq!(daily.describe(), "30 6 * * * Asia/Kolkata");
        assert_eq!(
            daily.slot_at(at(2027, 1, 2, 3, 0, 0)),
            at(2027, 1, 2, 1, 0, 0)
        );
        let (hourly, _) = v.route("/api/cron/hourly").unwrap();
        assert_eq!(
            (hourly.timezone(), hourly.jitter()),
            (Tz::UTC, Duration::from_secs(300))
        );
    }
}

#[test]
fn a_path_declared_twice_names_both_entries() {
    let both = vercel(
        r#""crons":[{"path":"/api/cron/daily","schedule":"0 2 * * *"}],
           "schedules":[{"name":"daily","schedule":"0 2 * * *","timezone":"Europe/Berlin","path":"/api/cron/daily"}]"#,
    );
    let e = both.route("/api/cron/daily").unwrap_err().to_string();
    assert_eq!(
        e,
        r#"vercel.json declares /api/cron/daily twice: crons[0] and schedules[0] ("daily"); keep one"#
    );
    let twice = vercel(
        r#""schedules":{"a":{"schedule":"0 2 * * *","path":"/api/cron/daily"},
                        "b":{"schedule":"0 3 * * *","path":"/api/cron/daily?x=1"}}"#,
    );
    let e = twice.declared().unwrap_err().to_string();
    assert!(e.contains(r#"schedules."a" and schedules."b""#), "{e}");
}

#[test]
fn bad_entries_name_the_entry_and_the_fix() {
    let cases = [
        (
            r#"{"name":"d","schedule":"0 2 * * *","timezone":"Mars/Olympus","path":"/api/cron/daily"}"#,
            r#"schedules[0] ("d"): timezone "Mars/Olympus" is not an IANA time zone"#,
        ),
        (
            r#"{"schedule":"0 2 * * *","jitter":30,"path":"/api/cron/daily"}"#,
            "schedules[0]: jitter 30 is outside 1-15 minutes",
        ),
        (
            r#"{"schedule":"0 2 * * *","requestMethod":"PUT","path":"/api/cron/daily"}"#,
            r#"schedules[0]: requestMethod "PUT": the routes take GET or POST"#,
        ),
        (
            r#"{"path":"/api/cron/daily"}"#,
            "schedules[0]: has no schedule",
        ),
    ];
    for (entry, expected) in cases {
        let v = vercel(&format!(r#""schedules":[{entry}]"#));
        let e = v.declared().unwrap_err().to_string();
        assert!(e.contains(expected), "{e} lacks {expected}");
    }
    let legacy = vercel(
        r#""crons":[{"path":"/api/cron/daily","schedule":"0 2 * * *","timezone":"Europe/Berlin"}]"#,
    );
    let e = legacy.declared().unwrap_err().to_string();
    assert!(
        e.contains("crons are UTC and take no timezone; move it to `schedules`"),
        "{e}"
    );
    let (ok, problems) = vercel(
        r#""schedules":[{"schedule":"0 2 * * *","path":"/api/cron/daily"},{"schedule":"bad","path":"/api/cron/hourly"}]"#,
    )
    .check_all();
    assert_eq!(
        (ok.len(), problems.len()),
        (1, 1),
        "check lists every problem and keeps the rest"
    );
}
