//! The dashboard over real HTTP: sign-in, the session cookie, what a forged
//! or expired cookie gets, CSRF on the buttons, escaping, the weekly report.

use crate::common::*;
use reqwest::redirect::Policy;
use sqlx::PgPool;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

async fn sign_in(client: &reqwest::Client, base: &str, secret: &str) -> reqwest::Response {
    client
        .post(format!("{base}/api/status/login"))
        .header("sec-fetch-site", "same-origin")
        .form(&[("secret", secret)])
        .send()
        .await
        .unwrap()
}

/// The `name=value` part of the session cookie set by a sign-in.
fn session_of(resp: &reqwest::Response) -> String {
    let set = resp.headers()["set-cookie"].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

async fn page(client: &reqwest::Client, base: &str, cookie: Option<&str>) -> (u16, String) {
    let mut req = client.get(format!("{base}/api/status?format=html"));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn csrf_in(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token")
        + 19;
    html[at..at + 64].to_owned()
}

#[sqlx::test(migrations = "./migrations")]
async fn sign_in_session_and_buttons(pool: PgPool) {
    let t = real_app(&pool);
    let base = serve_all(t.app.clone()).await;
    let c = client();
    sqlx::query(
        "INSERT INTO alerts (dedupe_key, source, kind, severity, title, status, raised_at, last_seen_at)
         VALUES ('k', 'test', 'k', 'warning', '<img src=x onerror=alert(1)>', 'open', $1, $1)",
    )
    .bind(t0())
    .execute(&pool)
    .await
    .unwrap();

    // Without a session: the sign-in form and nothing else.
    let (code, html) = page(&c, &base, None).await;
    assert_eq!(code, 401);
    assert!(html.contains("action=\"/api/status/login\""));
    assert!(!html.contains("hourly_metrics") && !html.contains("onerror"));

    let wrong = sign_in(&c, &base, "not-the-secret").await;
    assert_eq!(wrong.status().as_u16(), 401);
    assert!(wrong.headers().get("set-cookie").is_none());
    assert!(wrong.text().await.unwrap().contains("not the secret"));

    let ok = sign_in(&c, &base, SECRET).await;
    assert_eq!(ok.status().as_u16(), 303);
    assert_eq!(ok.headers()["location"], "/api/status?format=html");
    let set = ok.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        set.contains("HttpOnly")
            && set.contains("SameSite=Strict")
            && set.contains("Max-Age=43200")
    );
    assert!(!set.contains("Secure"), "no Secure on loopback: {set}");
    assert!(!set.contains(SECRET));
    let cookie = session_of(&ok);

    let (code, html) = page(&c, &base, Some(&cookie)).await;
    assert_eq!(code, 200, "{html}");
    for job in ["hourly_metrics", "daily_sync", "weekly_report"] {
        assert!(html.contains(job), "{job} missing");
    }
    // askama writes numeric entities: &#60; for <, &#62; for >.
    assert!(
        html.contains("<td>&#60;img src=x onerror=alert(1)&#62;</td>"),
        "alert title escaped"
    );
    assert!(!html.contains("<img src=x"));
    assert!(!html.contains(SECRET));
    let csrf = csrf_in(&html);

    // The JSON takes the same cookie; a forged or expired one is refused.
    let json = c
        .get(format!("{base}/api/status"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(json.status().as_u16(), 200);
    // <epoch>.<id>.<expires>.<mac>: an earlier expiry or another MAC is a forgery.
    let v: Vec<&str> = cookie.split_once('=').unwrap().1.split('.').collect();
    let forged = format!(
        "nightshift_session={}.{}.{}.{}",
        v[0],
        v[1],
        v[2].parse::<i64>().unwrap() - 3600,
        v[3]
    );
    assert_eq!(page(&c, &base, Some(&forged)).await.0, 401);
    let bad_mac = format!(
        "nightshift_session={}.{}.{}.{}",
        v[0],
        v[1],
        v[2],
        "0".repeat(64)
    );
    assert_eq!(page(&c, &base, Some(&bad_mac)).await.0, 401);

    // Run now: the cookie needs the token and a same-origin request.
    let host = base.trim_start_matches("http://").to_owned();
    let run = |token: &str, origin: &str| {
        c.post(format!("{base}/api/cron/hourly?force=true"))
            .header("cookie", &cookie)
            .header("origin", origin)
            .header(
                "sec-fetch-site",
                if origin == base {
                    "same-origin"
                } else {
                    "cross-site"
                },
            )
            .form(&[("csrf", token)])
            .send()
    };
    assert_eq!(
        run("0".repeat(64).as_str(), &base)
            .await
            .unwrap()
            .status()
            .as_u16(),
        403
    );
    assert_eq!(
        run(&csrf, "http://evil.example")
            .await
            .unwrap()
            .status()
            .as_u16(),
        403
    );
    let no_token = c
        .post(format!("{base}/api/cron/hourly?force=true"))
        .header("cookie", &cookie)
        .header("origin", &base)
        .send()
        .await
        .unwrap();
    assert_eq!(
        no_token.status().as_u16(),
        401,
        "the cookie alone cannot run a job"
    );
    assert_eq!(count(&pool, "SELECT count(*) FROM job_history").await, 0);
    let ran = run(&csrf, &base).await.unwrap();
    assert_eq!(ran.status().as_u16(), 303);
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM job_history WHERE status = 'completed'"
        )
        .await,
        1
    );
    let (_, html) = page(&c, &base, Some(&cookie)).await;
    // The run's status links to its page (crates/nightshift-status/src/run_page.rs).
    assert!(html.contains("<span class=\"badge completed\">completed</span></a></td><td>manual"));

    // Pause and resume from the page.
    let pause = c
        .post(format!("{base}/api/status/jobs/daily/pause"))
        .header("cookie", &cookie)
        .header("origin", &base)
        .header("host", &host)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(pause.status().as_u16(), 303);
    let (_, html) = page(&c, &base, Some(&cookie)).await;
    assert!(html.contains("id=\"resume-daily\"") && html.contains("by dashboard"));

    // A reason Postgres cannot store (a NUL, as schemathesis sent) is a 400
    // that names it, and pauses nothing.
    let bad = c
        .post(format!("{base}/api/status/jobs/weekly/pause"))
        .header("cookie", &cookie)
        .header("origin", &base)
        .header("host", &host)
        .form(&[("csrf", csrf.as_str()), ("reason", "deploy\0freeze")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    assert!(bad.text().await.unwrap().contains("control character"));
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM job_pauses WHERE job_type = 'weekly_report'"
        )
        .await,
        0
    );

    // A session ends after 12 hours.
    t.clock.advance(chrono::Duration::hours(12));
    assert_eq!(page(&c, &base, Some(&cookie)).await.0, 401);
}

#[sqlx::test(migrations = "./migrations")]
async fn cookie_is_secure_off_loopback_and_report_inlines_images(pool: PgPool) {
    let t = real_app(&pool);
    let base = serve_all(t.app.clone()).await;
    let c = client();
    let resp = c
        .post(format!("{base}/api/status/login"))
        .header("sec-fetch-site", "same-origin")
        .header("host", "status.example.com")
        .form(&[("secret", SECRET)])
        .send()
        .await
        .unwrap();
    assert!(
        resp.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("; Secure")
    );

    let report = format!("{base}/api/status/report/latest");
    assert_eq!(c.get(&report).send().await.unwrap().status().as_u16(), 401);
    let none = c.get(&report).bearer_auth(SECRET).send().await.unwrap();
    assert_eq!(none.status().as_u16(), 404);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO reports (iso_week, period_start, period_end, subject, html, text_body, data,
                              generated_at)
         VALUES ('2026-W48', $1, $1, 'Week 48', '<p>Hi</p><img src=\"cid:chart-bugs\">', 't',
                 '{}', $1) RETURNING id",
    )
    .bind(t0())
    .fetch_one(&pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO report_images VALUES ($1, 'chart-bugs', 'image/png', '\\x89504e47')")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    let resp = c.get(&report).bearer_auth(SECRET).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("img-src data:")
    );
    let html = resp.text().await.unwrap();
    assert_eq!(
        html,
        "<p>Hi</p><img src=\"data:image/png;base64,iVBORw==\">"
    );
    let (_, page) = page(&c, &base, None).await;
    assert!(!page.contains("Week 48"), "the sign-in page shows no data");
    let dash = c
        .get(format!("{base}/api/status?format=html"))
        .bearer_auth(SECRET)
        .send()
        .await
        .unwrap();
    let dash = dash.text().await.unwrap();
    assert!(
        dash.contains("href=\"/api/status/report/latest\"") && dash.contains("Week 48 (2026-W48)")
    );
}
