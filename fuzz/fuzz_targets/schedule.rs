//! Cron handling: any expression, as vercel.json or an operator could write
//! it, and any instant. Parsing never panics, and an accepted schedule's
//! slot is at or before `now` with the next slot after it.
#![no_main]

use chrono::{DateTime, Utc};
use libfuzzer_sys::fuzz_target;
use nightshift_core::{Schedule, VercelJson};

fuzz_target!(|data: &[u8]| {
    let Some((secs, rest)) = data.split_first_chunk::<8>() else {
        return;
    };
    // Any instant between 1970 and 2200.
    let secs = u64::from_le_bytes(*secs) % (230 * 365 * 86_400);
    let Some(now) = DateTime::<Utc>::from_timestamp(secs as i64, 0) else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    if let Ok(s) = Schedule::parse(text) {
        let slot = s.slot_at(now);
        assert!(slot <= now, "{text:?}: slot {slot} after {now}");
        if let Some(next) = s.next_after(slot) {
            assert!(next > slot, "{text:?}: next {next} not after {slot}");
        }
        let _ = s.period_at(now);
        let _ = s.slots_between(slot, now + chrono::Duration::days(2), 50);
    }
    // The same text as a vercel.json, for its parser and route lookup.
    if let Ok(v) = VercelJson::parse(text) {
        let _ = v.route("/api/cron/hourly");
    }
});
