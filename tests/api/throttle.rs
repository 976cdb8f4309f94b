//! The back-off on wrong secrets (issue 16, item 1), over real HTTP from
//! real loopback addresses (127.0.0.x, each its own client) against the
//! app as `nightshift serve` mounts it, with the test's clock. Bearer and
//! sign-in form count alike; the right secret waits out a back-off too; an
//! unreachable database opens nothing; the log names the client and never
//! the guess.

use std::io::Write;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use crate::common::*;
use nightshift_core::throttle::{Allowance, ThrottlePolicy};
use nightshift_core::{App, Config};
use reqwest::redirect::Policy;
use sqlx::PgPool;

/// Three per address, six for everyone, forgiven slowly; 30 s first step.
fn policy() -> ThrottlePolicy {
    ThrottlePolicy {
        per_address: Allowance {
            failures: 3,
            forgive_every: Duration::from_secs(300),
        },
        global: Allowance {
            failures: 6,
            forgive_every: Duration::from_secs(300),
        },
        first_backoff: Duration::from_secs(30),
        max_backoff: Duration::from_secs(3600),
    }
}

/// A client whose connections come from 127.0.0.`n`.
fn from(n: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::from([127, 0, 0, n]))
        .redirect(Policy::none())
        .build()
        .unwrap()
}

struct Try {
    status: u16,
    retry_after: Option<u64>,
    body: String,
}

async fn bearer_try(c: &reqwest::Client, base: &str, secret: &str) -> Try {
    let r = c
        .get(format!("{base}/api/status"))
        .bearer_auth(secret)
        .send()
        .await
        .unwrap();
    answer(r).await
}

async fn sign_in(c: &reqwest::Client, base: &str, secret: &str) -> Try {
    let r = c
        .post(format!("{base}/api/status/login"))
        .form(&[("secret", secret)])
        .send()
        .await
        .unwrap();
    answer(r).await
}

async fn answer(r: reqwest::Response) -> Try {
    let status = r.status().as_u16();
    let retry_after = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().parse().unwrap());
    Try {
        status,
        retry_after,
        body: r.text().await.unwrap(),
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn wrong_secrets_back_off_per_address_then_for_everyone(pool: PgPool) {
    let t = real_app(&pool);
    let app = Arc::new(
        App::with_db(
            config(),
            nightshift_core::db::Db::from_pool(pool.clone()),
            routes(),
        )
        .with_clock(t.clock.clone())
        .with_throttle(policy()),
    );
    let base = serve_all_as(app, true).await;
    let (a, b, c, d) = (from(2), from(3), from(4), from(5));

    // Address A: two wrong bearers are plain 401s, the third starts a 30 s
    // back-off, answered 429 in the error shape every refusal has.
    for _ in 0..2 {
        let r = bearer_try(&a, &base, "wrong-guess").await;
        assert_eq!((r.status, r.retry_after), (401, None), "{}", r.body);
    }
    let r = bearer_try(&a, &base, "wrong-guess").await;
    assert_eq!((r.status, r.retry_after), (429, Some(30)), "{}", r.body);
    let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(body["outcome"], "error");
    assert_eq!(body["error"], "too_many_attempts");
    assert_eq!(body["message"], "too many failed attempts; retry in 30 s");
    // The right secret waits too, by bearer and by the form: guessing then
    // succeeding is not possible while the back-off lasts.
    let r = bearer_try(&a, &base, SECRET).await;
    assert_eq!((r.status, r.retry_after), (429, Some(30)));
    let r = sign_in(&a, &base, SECRET).await;
    assert_eq!((r.status, r.retry_after), (429, Some(30)));
    assert!(
        r.body
            .contains("Too many failed attempts. Try again in 30 s."),
        "{}",
        r.body
    );
    // Hammering while blocked is not counted, here or for everyone.
    for _ in 0..10 {
        assert_eq!(bearer_try(&a, &base, "wrong-again").await.status, 429);
    }

    // Address B is not blocked by A: the right secret works, a wrong one is
    // a 401. Everyone's level is now 5 of 6.
    assert_eq!(bearer_try(&b, &base, SECRET).await.status, 200);
    for _ in 0..2 {
        assert_eq!(sign_in(&b, &base, "b-guess").await.status, 401);
    }
    // C's first wrong secret is the sixth failure: everyone backs off.
    let r = bearer_try(&c, &base, "c-guess").await;
    assert_eq!((r.status, r.retry_after), (429, Some(30)), "{}", r.body);
    let r = bearer_try(&d, &base, SECRET).await;
    assert_eq!(
        (r.status, r.retry_after),
        (429, Some(30)),
        "fresh address, global back-off"
    );
    // The cron routes sit behind the same door.
    let cron = d
        .post(format!("{base}/api/cron/hourly?dry_run=true"))
        .bearer_auth(SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(cron.status().as_u16(), 429);

    // The back-off expires: 30 s later the right secret is in again.
    t.clock.advance(chrono::Duration::seconds(29));
    assert_eq!(bearer_try(&d, &base, SECRET).await.status, 429, "not yet");
    t.clock.advance(chrono::Duration::seconds(1));
    assert_eq!(bearer_try(&d, &base, SECRET).await.status, 200);
    assert_eq!(bearer_try(&a, &base, SECRET).await.status, 200);
    let r = sign_in(&b, &base, SECRET).await;
    assert_eq!(r.status, 303, "{}", r.body);
    // A's failures are forgiven slowly: its next wrong secret backs off at
    // once, and for longer than the first time.
    let r = bearer_try(&a, &base, "wrong-guess").await;
    assert_eq!(r.status, 429);
    assert!(r.retry_after.unwrap() > 30, "{:?}", r.retry_after);

    // Nothing in the table outlives its use: a failure an hour later prunes
    // the rows that have decayed and are not blocked.
    t.clock.advance(chrono::Duration::hours(2));
    assert_eq!(bearer_try(&b, &base, "late-guess").await.status, 401);
    let scopes: Vec<String> = sqlx::query_scalar("SELECT scope FROM auth_throttle ORDER BY 1")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(scopes, ["global", "ip:127.0.0.3"], "decayed rows pruned");
}

#[sqlx::test(migrations = "./migrations")]
async fn the_log_names_the_client_and_never_the_guess(pool: PgPool) {
    capture_logs();
    let t = real_app(&pool);
    let base = serve_all_as(t.app.clone(), true).await;
    let c = from(7);
    let guesses = ["guess-3f1c9a-bearer", "guess-77e2b0-form"];
    assert_eq!(bearer_try(&c, &base, guesses[0]).await.status, 401);
    assert_eq!(sign_in(&c, &base, guesses[1]).await.status, 401);
    assert_eq!(sign_in(&c, &base, SECRET).await.status, 303);
    let log = captured();
    let ours: Vec<&str> = log.lines().filter(|l| l.contains("ip:127.0.0.7")).collect();
    assert!(
        ours.iter()
            .filter(|l| l.contains("authentication failed"))
            .count()
            == 2
            && ours.iter().any(|l| l.contains("via=\"bearer\""))
            && ours.iter().any(|l| l.contains("via=\"sign-in\"")),
        "two failures logged with the client: {ours:#?}"
    );
    for g in guesses.iter().chain([&SECRET]) {
        assert!(!log.contains(g), "the log holds {g:?}:\n{log}");
    }
}

#[tokio::test]
async fn an_unreachable_database_opens_nothing() {
    let cfg = Config::from_lookup(|k| match k {
        "CRON_SECRET" => Some(SECRET.into()),
        "DATABASE_URL" => Some("postgres://nightshift:pw@127.0.0.1:1/nightshift".into()),
        _ => None,
    })
    .unwrap();
    let app = Arc::new(App::new(cfg, routes()).unwrap());
    let base = serve_all_as(app, true).await;
    let c = from(9);
    // Right or wrong, the throttle cannot be consulted: 503, no way in, and
    // no way to tell a right guess from a wrong one.
    for secret in [SECRET, "wrong-guess"] {
        let r = bearer_try(&c, &base, secret).await;
        assert_eq!((r.status, r.retry_after), (503, Some(30)), "{}", r.body);
        let r = c
            .post(format!("{base}/api/status/login"))
            .form(&[("secret", secret)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 503);
        assert!(r.headers().get("set-cookie").is_none());
    }
    // No credential at all needs no database: still a plain 401.
    let r = c.get(format!("{base}/api/status")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
}

static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOG.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sends this test binary's log into `LOG` from now on (a process-wide
/// subscriber: the server's tasks log from any thread).
fn capture_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        tracing_subscriber::fmt()
            .with_env_filter("info")
            .with_ansi(false)
            .with_writer(|| Capture)
            .init();
    });
}

fn captured() -> String {
    String::from_utf8_lossy(&LOG.lock().unwrap()).into_owned()
}
