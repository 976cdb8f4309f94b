//! Request validation: the query string of a route call and its
//! Authorization header, as an attacker could send them, and the same bytes
//! as a Cookie header. None may panic, only the configured secret opens the
//! door, no cookie the secret did not sign is a session, and accepted
//! options name only the route's tasks.
#![no_main]

use http::{
    HeaderMap, HeaderValue,
    header::{AUTHORIZATION, COOKIE},
};
use libfuzzer_sys::fuzz_target;
use nightshift_core::Config;
use nightshift_core::auth::{authorize, bearer_token};
use nightshift_core::options::RunOptions;
use nightshift_core::session;

const SECRET: &str = "fuzz-secret-0123456789abcdefghijklmnop";
const TASKS: &[&str] = &[
    "watch_jobs",
    "sla_risk",
    "github_sync",
    "deliver_notifications",
];

fuzz_target!(|data: &[u8]| {
    // The first 0xff byte separates the query string from the header value.
    let cut = data.iter().position(|b| *b == 0xff).unwrap_or(data.len());
    let (query, auth) = (&data[..cut], data.get(cut + 1..).unwrap_or_default());

    if let Ok(q) = std::str::from_utf8(query) {
        if let Ok(opts) = RunOptions::parse(Some(q), TASKS) {
            for t in opts.tasks.iter().flatten() {
                assert!(TASKS.contains(&t.as_str()), "accepted unknown task {t:?}");
            }
        }
    }

    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_bytes(auth) {
        headers.insert(AUTHORIZATION, v);
    }
    let cfg = Config::default().with_secret(SECRET);
    let token = bearer_token(&headers);
    if authorize(&headers, &cfg).is_ok() {
        assert_eq!(token, Some(SECRET), "authorized {auth:?}");
    }

    let mut cookies = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_bytes(auth) {
        cookies.insert(COOKIE, v);
    }
    let forged = session::from_headers(&cookies, &cfg, chrono::Utc::now());
    assert!(forged.is_none(), "a session from {auth:?}");
});
