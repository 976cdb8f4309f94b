//! Routes scheduled in a time zone (vercel.json `schedules`, issue 31),
//! through real HTTP on loopback: a delivery by POST or GET claims the slot
//! of the zone's wall clock, a delivery late within its jitter claims its
//! own slot, a mismatched `x-vercel-cron-schedule` is told but never moves
//! the slot, and the heartbeat's catch-up skips a local time the zone skips.

use std::sync::Arc;
use std::time::Duration;

use crate::common::*;
use chrono::{DateTime, TimeZone, Utc};
use nightshift_core::{Route, RouteSpec, Schedule};
use sqlx::PgPool;

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

/// The shipped daily route's spec (its slot policy: catch-up within 12 h)
/// on `expr` in `tz`, with a task that only reads the ledger.
fn daily_in(expr: &str, tz: chrono_tz::Tz, jitter_min: u64) -> Vec<Route> {
    let mut spec: RouteSpec = nightshift_tasks::specs()
        .into_iter()
        .find(|s| s.job_type == "daily_sync")
        .unwrap();
    spec.schedule = Schedule::parse_in(expr, tz)
        .unwrap()
        .with_jitter(Duration::from_secs(jitter_min * 60));
    vec![Route {
        spec,
        tasks: vec![Arc::new(Fine("fine"))],
    }]
}

async fn deliver(base: &str, get: bool, schedule: Option<&str>) -> Answer {
    let client = reqwest::Client::new();
    let url = format!("{base}/api/cron/daily");
    let mut req = if get {
        client.get(&url)
    } else {
        client.post(&url)
    };
    req = req
        .header("authorization", bearer())
        .header("user-agent", "vercel-cron/1.0");
    if let Some(s) = schedule {
        req = req.header("x-vercel-cron-schedule", s);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.json().await.unwrap();
    Answer {
        status,
        headers,
        body,
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn a_delivery_in_kolkata_claims_the_local_slot_by_post_or_get(pool: PgPool) {
    let t = app_with(
        &pool,
        config(),
        daily_in("30 6 * * *", chrono_tz::Asia::Kolkata, 15),
    );
    let base = serve(t.app.clone()).await;
    // 06:35 IST on the 15th: the 06:30 IST slot is 01:00 UTC.
    t.clock.set(utc(2027, 1, 15, 1, 5));
    let first = deliver(&base, false, Some("30 6 * * *")).await;
    assert_eq!(
        (first.status, first.body["outcome"].as_str()),
        (200, Some("completed")),
        "{:?}",
        first.body
    );
    assert_eq!(first.body["slot"], "2027-01-15T01:00:00Z");
    assert_eq!(first.body["trigger"], "cron");
    // The same occurrence again, by GET: the same slot, run once.
    let again = deliver(&base, true, Some("30 6 * * *")).await;
    assert_eq!(
        again.body["outcome"], "skipped_duplicate",
        "{:?}",
        again.body
    );
    // The next day's delivery, 14 minutes late inside a 15-minute jitter.
    t.clock.set(utc(2027, 1, 16, 1, 14));
    let late = deliver(&base, true, Some("30 6 * * *")).await;
    assert_eq!(late.body["outcome"], "completed", "{:?}", late.body);
    assert_eq!(late.body["slot"], "2027-01-16T01:00:00Z");
    assert_eq!(count(&pool, "SELECT count(*) FROM job_history").await, 2);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM alerts").await,
        0,
        "the header agreed"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_mismatched_schedule_header_keeps_the_deployed_slot_and_is_told(pool: PgPool) {
    let t = app_with(
        &pool,
        config(),
        daily_in("30 2 * * *", chrono_tz::Europe::Berlin, 0),
    );
    let base = serve(t.app.clone()).await;
    // 02:40 CEST on 2027-03-29; the platform says it fired "0 2 * * *".
    t.clock.set(utc(2027, 3, 29, 0, 40));
    let run = deliver(&base, false, Some("0 2 * * *")).await;
    assert_eq!(run.body["outcome"], "completed", "{:?}", run.body);
    assert_eq!(
        run.body["slot"], "2027-03-29T00:30:00Z",
        "the deployed schedule's slot"
    );
    let message = run.body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("\"0 2 * * *\"") && message.contains("30 2 * * * Europe/Berlin"),
        "{message}"
    );
    let (event, details): (String, serde_json::Value) = sqlx::query_as(
        "SELECT status, details FROM sync_events WHERE event_type = 'schedule_mismatch'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(event, "warning");
    assert_eq!(details["announced"], "0 2 * * *");
    assert_eq!(details["deployed"], "30 2 * * *");
    assert_eq!(details["timezone"], "Europe/Berlin");
    let open = "SELECT count(*) FROM alerts WHERE kind = 'schedule_mismatch' AND status = 'open'";
    assert_eq!(count(&pool, open).await, 1);
    // A repeat of the mismatch keeps one alert.
    t.clock.set(utc(2027, 3, 29, 0, 45));
    let dup = deliver(&base, false, Some("0 2 * * *")).await;
    assert_eq!(dup.body["outcome"], "skipped_duplicate");
    assert_eq!(count(&pool, "SELECT count(*) FROM alerts").await, 1);
    // The next day the platform agrees again: the alert resolves.
    t.clock.set(utc(2027, 3, 30, 0, 31));
    let agreed = deliver(&base, true, Some("30 2 * * *")).await;
    assert_eq!(agreed.body["outcome"], "completed", "{:?}", agreed.body);
    assert_eq!(count(&pool, open).await, 0);
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM alerts WHERE status = 'resolved'"
        )
        .await,
        1
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn the_heartbeat_catches_up_across_spring_forward_only_a_slot_that_exists(pool: PgPool) {
    // Alive since the 27th's 02:30 CET run (01:30 UTC).
    sqlx::query(
        "INSERT INTO job_history (id, job_type, route, slot, status, trigger, started_at, completed_at)
         VALUES (gen_random_uuid(), 'daily_sync', '/api/cron/daily', '2027-03-27T01:30:00Z',
                 'completed', 'cron', '2027-03-27T01:30:00Z', '2027-03-27T01:30:05Z')",
    )
    .execute(&pool)
    .await
    .unwrap();
    let t = app_with(
        &pool,
        config(),
        daily_in("30 2 * * *", chrono_tz::Europe::Berlin, 0),
    );
    let base = serve_all(t.app.clone()).await;
    t.app.self_url.set(base).unwrap();
    // 07:00 CEST on the 28th: no 02:30 happened that night, nothing to catch up.
    t.clock.set(utc(2027, 3, 28, 5, 0));
    let kicked = nightshift_core::kick::kick(&t.app).await;
    assert!(kicked.is_empty(), "{kicked:?}");
    // 05:00 CEST on the 29th, the 02:30 CEST (00:30 UTC) delivery never came.
    t.clock.set(utc(2027, 3, 29, 3, 0));
    let kicked = nightshift_core::kick::kick(&t.app).await;
    assert_eq!(kicked.len(), 1, "{kicked:?}");
    assert_eq!(kicked[0].query, "catch_up=2027-03-29T00:30:00Z");
    let caught: (String, DateTime<Utc>) =
        sqlx::query_as("SELECT trigger, slot FROM job_history WHERE trigger = 'catch_up'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(caught, ("catch_up".into(), utc(2027, 3, 29, 0, 30)));
}

#[sqlx::test(migrations = "./migrations")]
async fn the_status_api_shows_each_schedule_on_its_own_wall_clock(pool: PgPool) {
    let t = app_with(
        &pool,
        config(),
        daily_in("30 2 * * *", chrono_tz::Europe::Berlin, 10),
    );
    let base = serve_all(t.app.clone()).await;
    // Ten days before the spring-forward night of 2027-03-28.
    t.clock.set(utc(2027, 3, 18, 12, 0));
    let resp = reqwest::Client::new()
        .get(format!("{base}/api/status"))
        .header("authorization", bearer())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let status: serde_json::Value = resp.json().await.unwrap();
    let job = &status["jobs"][0];
    assert_eq!(job["schedule"], "30 2 * * *");
    assert_eq!(job["timezone"], "Europe/Berlin");
    assert_eq!(job["jitter_minutes"], 10);
    assert_eq!(job["next_run_at"], "2027-03-19T01:30:00Z");
    assert_eq!(job["next_run_local"], "2027-03-19T02:30:00+01:00");
    assert_eq!(job["skipped_soon"], serde_json::json!(["2027-03-28T02:30"]));
    // The dashboard says it in words.
    let page = reqwest::Client::new()
        .get(format!("{base}/api/status?format=html"))
        .header("authorization", bearer())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("30 2 * * * Europe/Berlin"), "{page}");
    assert!(page.contains("will not run at 2027-03-28 02:30"), "{page}");
    assert!(page.contains("2027-03-19 02:30 CET"), "{page}");
}
