//! Dashboard sessions end on the server (issue 16, item 11): sign-out ends
//! that session, even for a copy of its cookie; "sign out everywhere" (the
//! dashboard's button, or the route with the bearer) ends every session;
//! signing in afterwards works. Real HTTP against the app as served.

use crate::common::*;
use reqwest::redirect::Policy;
use sqlx::PgPool;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// Signs in; the `name=value` of the session cookie.
async fn sign_in(c: &reqwest::Client, base: &str) -> String {
    let r = c
        .post(format!("{base}/api/status/login"))
        .header("sec-fetch-site", "same-origin")
        .form(&[("secret", SECRET)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let set = r.headers()["set-cookie"].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

async fn page(c: &reqwest::Client, base: &str, cookie: &str) -> (u16, String) {
    let r = c
        .get(format!("{base}/api/status?format=html"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn csrf_in(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a CSRF token") + 19;
    html[at..at + 64].to_owned()
}

#[sqlx::test(migrations = "./migrations")]
async fn sign_out_ends_that_session_only(pool: PgPool) {
    let t = real_app(&pool);
    let base = serve_all(t.app.clone()).await;
    let c = client();
    let (one, two) = (sign_in(&c, &base).await, sign_in(&c, &base).await);
    assert_ne!(one, two);
    let out = c
        .post(format!("{base}/api/status/logout"))
        .header("cookie", &one)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status().as_u16(), 303);
    assert!(
        out.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    // A copy of the cookie kept after sign-out is refused by the server.
    assert_eq!(page(&c, &base, &one).await.0, 401);
    assert_eq!(
        page(&c, &base, &two).await.0,
        200,
        "the other session lives"
    );
    let revoked: i64 = count(&pool, "SELECT count(*) FROM session_revocations").await;
    assert_eq!(revoked, 1);
    // Revocations last only as long as the sessions would have: the next
    // sign-out after they expired prunes them.
    t.clock.advance(chrono::Duration::hours(13));
    let three = sign_in(&c, &base).await;
    let out = c
        .post(format!("{base}/api/status/logout"))
        .header("cookie", &three)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status().as_u16(), 303);
    let left: Vec<i64> = sqlx::query_scalar(
        "SELECT extract(epoch FROM expires_at)::bigint FROM session_revocations",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(left.len(), 1, "only the fresh revocation is kept");
}

#[sqlx::test(migrations = "./migrations")]
async fn sign_out_everywhere_refuses_every_cookie(pool: PgPool) {
    let t = real_app(&pool);
    let base = serve_all(t.app.clone()).await;
    let c = client();
    let (mine, theirs) = (sign_in(&c, &base).await, sign_in(&c, &base).await);
    let (code, html) = page(&c, &base, &mine).await;
    assert_eq!(code, 200);
    assert!(
        html.contains("action=\"/api/status/logout/everywhere\"")
            && html.contains("id=\"signout-everywhere\""),
        "the dashboard has the button"
    );
    let csrf = csrf_in(&html);
    let button = |token: &str| {
        c.post(format!("{base}/api/status/logout/everywhere"))
            .header("cookie", &mine)
            .header("origin", &base)
            .header("sec-fetch-site", "same-origin")
            .form(&[("csrf", token)])
            .send()
    };
    // A wrong token or none ends nothing.
    assert_eq!(
        button(&"0".repeat(64)).await.unwrap().status().as_u16(),
        403
    );
    let bare = c
        .post(format!("{base}/api/status/logout/everywhere"))
        .header("cookie", &mine)
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status().as_u16(), 401, "the cookie alone cannot");
    assert_eq!(page(&c, &base, &theirs).await.0, 200);

    let done = button(&csrf).await.unwrap();
    assert_eq!(done.status().as_u16(), 303);
    assert_eq!(page(&c, &base, &mine).await.0, 401);
    assert_eq!(page(&c, &base, &theirs).await.0, 401, "every browser");
    let by: String = sqlx::query_scalar("SELECT changed_by FROM session_epoch")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(by, "dashboard");

    // Signing in again works, until the bearer ends that session too.
    let again = sign_in(&c, &base).await;
    assert_eq!(page(&c, &base, &again).await.0, 200);
    let url = format!("{base}/api/status/logout/everywhere");
    assert_eq!(
        c.get(&url)
            .bearer_auth(SECRET)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        405
    );
    assert_eq!(c.post(&url).send().await.unwrap().status().as_u16(), 401);
    assert_eq!(
        page(&c, &base, &again).await.0,
        200,
        "a refused call ends nothing"
    );
    let api = c.post(&url).bearer_auth(SECRET).send().await.unwrap();
    assert_eq!(api.status().as_u16(), 200);
    let body: serde_json::Value = api.json().await.unwrap();
    assert_eq!(body["outcome"], "signed_out_everywhere");
    assert_eq!(page(&c, &base, &again).await.0, 401);
    assert_eq!(page(&c, &base, &sign_in(&c, &base).await).await.0, 200);
}

/// The session MAC is keyed by HKDF-SHA256 of the secret (issue 33, item
/// 4): a cookie whose MAC is keyed with the raw secret, as before, is
/// refused; the same session signed with the derived key is honoured.
#[sqlx::test(migrations = "./migrations")]
async fn a_cookie_keyed_with_the_raw_secret_is_refused(pool: PgPool) {
    use hmac::{KeyInit, Mac};
    let t = real_app(&pool);
    let base = serve_all(t.app.clone()).await;
    let epoch: uuid::Uuid = sqlx::query_scalar("SELECT epoch FROM session_epoch")
        .fetch_one(&pool)
        .await
        .unwrap();
    let (id, expires) = (
        uuid::Uuid::new_v4(),
        (t0() + chrono::Duration::hours(1)).timestamp(),
    );
    let payload = format!("{}:{}:{expires}", epoch.simple(), id.simple());
    let cookie_with = |key: &[u8]| {
        let mut mac = hmac::Hmac::<hmac_sha2::Sha256>::new_from_slice(key).unwrap();
        mac.update(format!("nightshift:session:{payload}").as_bytes());
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!(
            "nightshift_session={}.{}.{expires}.{hex}",
            epoch.simple(),
            id.simple()
        )
    };
    let hk = hkdf::Hkdf::<hmac_sha2::Sha256>::new(None, SECRET.as_bytes());
    let mut derived = [0u8; 32];
    hk.expand(b"nightshift session mac v1", &mut derived)
        .unwrap();
    let c = client();
    let get = |cookie: String| {
        c.get(format!("{base}/api/status"))
            .header("cookie", cookie)
            .send()
    };
    let raw = get(cookie_with(SECRET.as_bytes())).await.unwrap();
    assert_eq!(raw.status().as_u16(), 401, "a MAC under the raw secret");
    let ok = get(cookie_with(&derived)).await.unwrap();
    assert_eq!(ok.status().as_u16(), 200, "a MAC under the derived key");
}
