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
