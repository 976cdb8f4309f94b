//! The back-off on wrong secrets (issues 16 and 33), over real HTTP from
//! real loopback addresses (127.0.0.x, each its own client) against the
//! app as `nightshift serve` mounts it, with the test's clock. Wrong
//! secrets by bearer and sign-in form count alike and back off per scope;
//! the right secret is never refused, from any scope, whatever others did
//! (decisions 79); a cross-site sign-in is refused before the secret is
//! looked at; the log names the client and never the guess.

use std::io::Write;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use crate::common::*;
use nightshift_core::throttle::ThrottlePolicy;
use nightshift_core::{App, Config};
use reqwest::redirect::Policy;
use sqlx::PgPool;

/// Three per scope, forgiven slowly; 30 s first step.
pub fn policy() -> ThrottlePolicy {
    ThrottlePolicy {
        failures: 3,
        forgive_every: Duration::from_secs(300),
        first_backoff: Duration::from_secs(30),
        max_backoff: Duration::from_secs(3600),
    }
}

/// A client whose connections come from 127.0.0.`n`.
pub fn from(n: u8) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::from([127, 0, 0, n]))
        .redirect(Policy::none())
        .build()
        .unwrap()
}

pub struct Try {
    pub status: u16,
    pub retry_after: Option<u64>,
    pub body: String,
}

pub async fn bearer_try(c: &reqwest::Client, base: &str, secret: &str) -> Try {
    let r = c
        .get(format!("{base}/api/status"))
        .bearer_auth(secret)
        .send()
        .await
        .unwrap();
    answer(r).await
}

/// The dashboard's form, posted as a browser posts it from the page.
async fn sign_in(c: &reqwest::Client, base: &str, secret: &str) -> Try {
    let r = c
        .post(format!("{base}/api/status/login"))
        .header("origin", base)
        .header("sec-fetch-site", "same-origin")
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

fn throttled_app(pool: &PgPool) -> (Arc<App>, Arc<nightshift_core::ManualClock>) {
    let t = real_app(pool);
    let app = App::with_db(
        config(),
        nightshift_core::db::Db::from_pool(pool.clone()),
        routes(),
    )
    .with_clock(t.clock.clone())
    .with_throttle(policy());
    (Arc::new(app), t.clock)
}

/// Test 1 of issue 33: wrong secrets from many addresses and from
/// loopback (the scheduler's own address under `nightshift serve`), then
/// the right secret from loopback runs the cron. Before decisions 79 the
/// global back-off answered it 429.
#[sqlx::test(migrations = "./migrations")]
async fn the_right_secret_is_never_refused(pool: PgPool) {
    let (app, clock) = throttled_app(&pool);
    let base = serve_all_as(app.clone(), true).await;
    let scheduler = from(1);
    // 40 addresses, five wrong secrets each, by bearer and by the form:
    // 200 failures, far past any global limit there was.
    for n in 2..42 {
        let c = from(n);
        for i in 0..5 {
            let r = if i % 2 == 0 {
                bearer_try(&c, &base, "wrong-guess").await
            } else {
                sign_in(&c, &base, "wrong-guess").await
            };
            let expected = if i < 2 { 401 } else { 429 };
            assert_eq!(r.status, expected, "127.0.0.{n}, attempt {i}: {}", r.body);
        }
    }
    // And from loopback itself: the scheduler's scope is backed off.
    for i in 0..10 {
        let r = bearer_try(&scheduler, &base, "wrong-guess").await;
        assert_eq!(r.status, if i < 2 { 401 } else { 429 }, "{}", r.body);
    }
    let r = bearer_try(&scheduler, &base, "another-guess").await;
    assert_eq!((r.status, r.retry_after), (429, Some(30)), "{}", r.body);
    let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(body["error"], "too_many_attempts");

    // The scheduler's call, as `nightshift serve` fires it: 200, a run.
    let cron = scheduler
        .post(format!("{base}/api/cron/hourly"))
        .header("user-agent", nightshift_http::scheduler::USER_AGENT)
        .bearer_auth(SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(cron.status().as_u16(), 200);
    let run: serde_json::Value = cron.json().await.unwrap();
    assert_eq!(run["outcome"], "completed", "{run}");
    // The right secret from every backed-off scope, by bearer and form.
    assert_eq!(bearer_try(&scheduler, &base, SECRET).await.status, 200);
    let r = sign_in(&from(2), &base, SECRET).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(bearer_try(&from(41), &base, SECRET).await.status, 200);
    // A wrong secret's answer depends on the scope only: 429 from a
    // backed-off one, 401 from a fresh one, whatever the guess.
    assert_eq!(bearer_try(&from(2), &base, "x").await.status, 429);
    assert_eq!(bearer_try(&from(99), &base, "x").await.status, 401);

    // Without a client address every caller shares the "unknown" scope;
    // it backs off wrong secrets too, and never the right one.
    let anon = serve_all_as(app.clone(), false).await;
    let c = from(1);
    for i in 0..5 {
        let r = bearer_try(&c, &anon, "wrong-guess").await;
        assert_eq!(r.status, if i < 2 { 401 } else { 429 });
    }
    assert_eq!(bearer_try(&c, &anon, SECRET).await.status, 200);

    // The back-off expires on the clock; decayed rows are pruned by a
    // later failure, so the table does not grow with the addresses.
    clock.advance(chrono::Duration::seconds(30));
    let r = bearer_try(&from(3), &base, "wrong-guess").await;
    assert_eq!(r.status, 429, "forgiven slowly: backs off again at once");
    assert!(r.retry_after.unwrap() > 30, "{:?}", r.retry_after);
    clock.advance(chrono::Duration::hours(2));
    for n in [100, 101, 102] {
        assert_eq!(bearer_try(&from(n), &base, "late").await.status, 401);
    }
    let scopes: Vec<String> = sqlx::query_scalar("SELECT scope FROM auth_throttle ORDER BY scope")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(
        scopes,
        ["ip:127.0.0.100", "ip:127.0.0.101", "ip:127.0.0.102"],
        "43 decayed rows pruned, up to 20 a failure"
    );
}

/// The sign-in form checks where the post comes from, as the admin forms
/// do: a page elsewhere cannot make its visitors' browsers sign in or
/// spend their addresses' allowance on guesses.
#[sqlx::test(migrations = "./migrations")]
async fn a_cross_site_sign_in_is_refused(pool: PgPool) {
    let (app, _) = throttled_app(&pool);
    let base = serve_all_as(app, true).await;
    let c = from(5);
    let post = |headers: &'static [(&'static str, &'static str)], secret: &'static str| {
        let mut req = c.post(format!("{base}/api/status/login"));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.form(&[("secret", secret)]).send()
    };
    let cross: &[(&str, &str)] = &[
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "cross-site"),
    ];
    for headers in [cross, &[("origin", "https://evil.example")], &[]] {
        for secret in [SECRET, "wrong-guess"] {
            let r = post(headers, secret).await.unwrap();
            assert_eq!(r.status().as_u16(), 403, "{headers:?}");
            assert!(r.headers().get("set-cookie").is_none());
        }
    }
    let counted: i64 = sqlx::query_scalar("SELECT count(*) FROM auth_throttle")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(counted, 0, "refused before the secret was looked at");
    let r = post(&[("sec-fetch-site", "same-origin")], SECRET)
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(sign_in(&c, &base, SECRET).await.status, 303);
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
    // A wrong secret cannot be counted: 503. The right one passes the
    // door, and the status page and the sign-in then need the database:
    // 503 too, no cookie.
    for secret in [SECRET, "wrong-guess"] {
        let r = bearer_try(&c, &base, secret).await;
        assert_eq!((r.status, r.retry_after), (503, Some(30)), "{}", r.body);
        let r = sign_in(&c, &base, secret).await;
        assert_eq!(r.status, 503, "{}", r.body);
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
