//! Slots in UTC and in zones, across both daylight-saving transitions of
//! Europe/Berlin and America/New_York, and in Asia/Kolkata (half-hour
//! offset, no daylight saving); and vercel.json's two keys.

use super::*;
use chrono::{NaiveDate, TimeZone};

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

fn local(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, mo, d)
        .unwrap()
        .and_hms_opt(h, mi, 0)
        .unwrap()
}

fn zoned(expr: &str, tz: &str) -> Schedule {
    Schedule::parse_in(expr, tz.parse().unwrap()).unwrap()
}

#[test]
fn slots_follow_the_cron() {
    let hourly = Schedule::parse("0 * * * *").unwrap();
    assert_eq!(
        hourly.slot_at(at(2026, 11, 24, 21, 0, 0)),
        at(2026, 11, 24, 21, 0, 0)
    );
    assert_eq!(
        hourly.slot_at(at(2026, 11, 24, 21, 59, 59)),
        at(2026, 11, 24, 21, 0, 0)
    );
    let daily = Schedule::parse("0 2 * * *").unwrap();
    assert_eq!(
        daily.slot_at(at(2026, 11, 24, 1, 0, 0)),
        at(2026, 11, 23, 2, 0, 0)
    );
    let weekly = Schedule::parse("0 9 * * 1").unwrap();
    // 2026-11-24 is a Tuesday; its slot is Monday 09:00.
    assert_eq!(
        weekly.slot_at(at(2026, 11, 24, 8, 0, 0)),
        at(2026, 11, 23, 9, 0, 0)
    );
    assert_eq!(
        weekly.period_at(at(2026, 11, 24, 8, 0, 0)),
        chrono::Duration::weeks(1)
    );
    let slots = hourly.slots_between(at(2026, 11, 24, 0, 0, 0), at(2026, 11, 24, 3, 0, 0), 100);
    assert_eq!(
        slots,
        vec![
            at(2026, 11, 24, 0, 0, 0),
            at(2026, 11, 24, 1, 0, 0),
            at(2026, 11, 24, 2, 0, 0)
        ]
    );
    assert_eq!(
        hourly.next_after(at(2026, 11, 24, 1, 0, 0)),
        Some(at(2026, 11, 24, 2, 0, 0))
    );
}

#[test]
fn rejects_what_vercel_rejects() {
    assert!(Schedule::parse("0 0 * * * *").is_err());
    assert!(Schedule::parse("61 * * * *").is_err());
    assert!(Schedule::parse("whenever").is_err());
    let e = Schedule::parse("0 0 30 2 *").unwrap_err();
    assert!(e.contains("never fires"), "{e}");
    assert!(Schedule::parse("0 0 31 4 *").is_err());
    assert!(Schedule::parse("0 0 29 2 *").is_ok(), "leap days do come");
}

#[test]
fn kolkata_is_half_an_hour_off_utc_all_year() {
    let daily = zoned("30 6 * * *", "Asia/Kolkata");
    // 06:30 IST is 01:00 UTC, in January and in July alike.
    assert_eq!(
        daily.slot_at(at(2027, 1, 15, 12, 0, 0)),
        at(2027, 1, 15, 1, 0, 0)
    );
    assert_eq!(
        daily.slot_at(at(2027, 7, 15, 0, 59, 59)),
        at(2027, 7, 14, 1, 0, 0)
    );
    assert_eq!(
        daily.next_after(at(2027, 7, 15, 1, 0, 0)),
        Some(at(2027, 7, 16, 1, 0, 0))
    );
    let backup = zoned("30 23 * * *", "Asia/Kolkata");
    // 23:30 IST is 18:00 UTC the same day.
    assert_eq!(
        backup.slot_at(at(2027, 3, 28, 18, 0, 0)),
        at(2027, 3, 28, 18, 0, 0)
    );
    assert!(
        daily
            .skipped_between(at(2027, 1, 1, 0, 0, 0), at(2028, 1, 1, 0, 0, 0), 10)
            .is_empty()
    );
    assert_eq!(
        daily.period_at(at(2027, 3, 28, 2, 0, 0)),
        chrono::Duration::days(1)
    );
}

#[test]
fn berlin_spring_forward_skips_a_local_time_that_does_not_exist() {
    // 2027-03-28: 02:00 CET becomes 03:00 CEST; 02:30 never happens.
    let daily = zoned("30 2 * * *", "Europe/Berlin");
    let slots = daily.slots_between(at(2027, 3, 26, 0, 0, 0), at(2027, 3, 30, 0, 0, 0), 10);
    assert_eq!(
        slots,
        vec![
            at(2027, 3, 26, 1, 30, 0),
            at(2027, 3, 27, 1, 30, 0),
            at(2027, 3, 29, 0, 30, 0)
        ],
        "no slot on the 28th; CEST from the 29th"
    );
    // All of the 28th belongs to the 27th's slot, and the next run is the 29th.
    assert_eq!(
        daily.slot_at(at(2027, 3, 28, 23, 0, 0)),
        at(2027, 3, 27, 1, 30, 0)
    );
    assert_eq!(
        daily.next_after(at(2027, 3, 27, 1, 30, 0)),
        Some(at(2027, 3, 29, 0, 30, 0))
    );
    assert_eq!(
        daily.skipped_between(at(2027, 1, 1, 0, 0, 0), at(2028, 1, 1, 0, 0, 0), 10),
        vec![local(2027, 3, 28, 2, 30)]
    );
    // 02:00 every day runs at 03:00 CEST? No: 02:00 does not exist either.
    let two = zoned("0 2 * * *", "Europe/Berlin");
    assert_eq!(
        two.skipped_between(at(2027, 1, 1, 0, 0, 0), at(2028, 1, 1, 0, 0, 0), 10),
        vec![local(2027, 3, 28, 2, 0)]
    );
    // A local time outside the gap moves with the offset: 03:00 is 02:00 UTC
    // in winter and 01:00 UTC in summer.
    let three = zoned("0 3 * * *", "Europe/Berlin");
    assert_eq!(
        three.slot_at(at(2027, 3, 27, 12, 0, 0)),
        at(2027, 3, 27, 2, 0, 0)
    );
    assert_eq!(
        three.slot_at(at(2027, 3, 28, 12, 0, 0)),
        at(2027, 3, 28, 1, 0, 0)
    );
}

#[test]
fn berlin_fall_back_runs_a_repeated_local_time_once() {
    // 2027-10-31: 03:00 CEST becomes 02:00 CET; 02:30 happens twice.
    let daily = zoned("30 2 * * *", "Europe/Berlin");
    let slots = daily.slots_between(at(2027, 10, 30, 0, 0, 0), at(2027, 11, 2, 0, 0, 0), 10);
    assert_eq!(
        slots,
        vec![
            at(2027, 10, 30, 0, 30, 0),
            at(2027, 10, 31, 0, 30, 0),
            at(2027, 11, 1, 1, 30, 0)
        ],
        "one slot on the 31st, at the first 02:30 (CEST)"
    );
    // A call during the second 02:30 (CET, 01:30 UTC) is the same slot.
    assert_eq!(
        daily.slot_at(at(2027, 10, 31, 1, 30, 0)),
        at(2027, 10, 31, 0, 30, 0)
    );
    assert_eq!(
        daily.next_after(at(2027, 10, 31, 0, 30, 0)),
        Some(at(2027, 11, 1, 1, 30, 0))
    );
    assert_eq!(
        daily.repeated_between(at(2027, 1, 1, 0, 0, 0), at(2028, 1, 1, 0, 0, 0), 10),
        vec![local(2027, 10, 31, 2, 30)]
    );
    // An hourly schedule in the zone: 02:00 local is one slot, so the
    // real hour between the two 02:00s has none; 02:00 CET is not a slot.
    let hourly = zoned("0 * * * *", "Europe/Berlin");
    let slots = hourly.slots_between(at(2027, 10, 30, 23, 0, 0), at(2027, 10, 31, 3, 0, 0), 10);
    assert_eq!(
        slots,
        vec![
            at(2027, 10, 30, 23, 0, 0),
            at(2027, 10, 31, 0, 0, 0),
            at(2027, 10, 31, 2, 0, 0)
        ]
    );
    assert_eq!(
        hourly.slot_at(at(2027, 10, 31, 1, 59, 0)),
        at(2027, 10, 31, 0, 0, 0)
    );
}

#[test]
fn new_york_both_transitions() {
    // 2027-03-14: 02:00 EST becomes 03:00 EDT.
    let spring = zoned("30 2 * * *", "America/New_York");
    let slots = spring.slots_between(at(2027, 3, 13, 0, 0, 0), at(2027, 3, 16, 0, 0, 0), 10);
    assert_eq!(
        slots,
        vec![at(2027, 3, 13, 7, 30, 0), at(2027, 3, 15, 6, 30, 0)]
    );
    assert_eq!(
        spring.slot_at(at(2027, 3, 14, 12, 0, 0)),
        at(2027, 3, 13, 7, 30, 0)
    );
    // 2027-11-07: 02:00 EDT becomes 01:00 EST; 01:30 happens twice.
    let fall = zoned("30 1 * * *", "America/New_York");
    assert_eq!(
        fall.slot_at(at(2027, 11, 7, 6, 45, 0)),
        at(2027, 11, 7, 5, 30, 0)
    );
    assert_eq!(
        fall.next_after(at(2027, 11, 7, 5, 30, 0)),
        Some(at(2027, 11, 8, 6, 30, 0))
    );
    assert_eq!(
        fall.period_at(at(2027, 11, 7, 6, 0, 0)),
        chrono::Duration::hours(25)
    );
}

#[test]
fn a_delivery_late_within_its_jitter_claims_its_own_slot() {
    let hourly = zoned("0 * * * *", "Europe/Berlin").with_jitter(Duration::from_secs(15 * 60));
    assert_eq!(hourly.jitter(), Duration::from_secs(900));
    assert_eq!(
        hourly.slot_at(at(2027, 6, 1, 10, 14, 59)),
        at(2027, 6, 1, 10, 0, 0)
    );
    // The spring-forward hour: 03:00 CEST (01:00 UTC) delivered 14 minutes late.
    assert_eq!(
        hourly.slot_at(at(2027, 3, 28, 1, 14, 0)),
        at(2027, 3, 28, 1, 0, 0)
    );
    assert_eq!(hourly.describe(), "0 * * * * Europe/Berlin");
    assert_eq!(
        hourly.show(at(2027, 3, 28, 1, 0, 0)),
        "2027-03-28 03:00 CEST (01:00 UTC)"
    );
    assert_eq!(
        hourly.show(at(2027, 3, 27, 23, 0, 0)),
        "2027-03-28 00:00 CET (2027-03-27 23:00 UTC)"
    );
    assert_eq!(
        Schedule::parse("0 * * * *")
            .unwrap()
            .show(at(2027, 3, 28, 1, 0, 0)),
        "2027-03-28 01:00 UTC"
    );
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
