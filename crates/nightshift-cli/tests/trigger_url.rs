//! `nightshift trigger --url` sends CRON_SECRET as a bearer, so it keeps
//! BASE_URL's rule (issue 33): https://, or http:// only to loopback. A plain
//! `http://` host elsewhere is refused before anything is sent. The "network"
//! is an HTTP proxy on loopback that records what reaches it: without the
//! rule, the bearer would arrive there in the clear.

use std::sync::{Arc, Mutex};

use nightshift_testkit::cli;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SECRET: &str = "trigger-test-secret-0123456789abcdefghijkl";

/// A proxy that records each request's head and answers 502.
async fn recording_proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = vec![0u8; 8192];
            let n = s.read(&mut buf).await.unwrap_or(0);
            // Recorded before answering, so the CLI cannot exit before it is.
            log.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&buf[..n]).into_owned());
            let _ = s
                .write_all(
                    b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                )
                .await;
        }
    });
    (url, seen)
}

async fn trigger(url: &str, proxy: &str) -> cli::Ran {
    cli::run(
        env!("CARGO_BIN_EXE_nightshift"),
        "postgres://unused.invalid/none",
        &["trigger", "hourly", "--url", url],
        &[
            ("CRON_SECRET", SECRET),
            ("HTTP_PROXY", proxy),
            ("http_proxy", proxy),
            ("HTTPS_PROXY", proxy),
            ("https_proxy", proxy),
            ("ALL_PROXY", proxy),
        ],
        &["BASE_URL", "NO_PROXY", "no_proxy"],
    )
    .await
}

#[tokio::test]
async fn plain_http_to_another_host_is_refused_before_sending_the_secret() {
    let (proxy, seen) = recording_proxy().await;
    let mut answers = Vec::new();
    for url in [
        "http://nightshift.example",
        "http://192.0.2.10:3000",
        "http://[2001:db8::1]",
        "http://localhost.example",
    ] {
        answers.push((url, trigger(url, &proxy).await));
    }
    let seen = seen.lock().unwrap();
    assert!(seen.is_empty(), "sent over plain HTTP: {seen:?}");
    for (url, r) in answers {
        assert_eq!(r.code, 1, "{url}: {}{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains("must start with https://"),
            "{url}: {}",
            r.stderr
        );
        assert!(!r.stderr.contains(SECRET) && !r.stdout.contains(SECRET));
    }
}

#[tokio::test]
async fn https_elsewhere_is_sent_through_the_proxy_as_a_tunnel() {
    // The same proxy sees only a CONNECT for an https:// URL: the bearer
    // travels inside TLS. This also proves the proxy is used at all, so the
    // test above would see a plain request if the rule were missing.
    let (proxy, seen) = recording_proxy().await;
    let r = trigger("https://nightshift.example", &proxy).await;
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(
        seen[0].starts_with("CONNECT nightshift.example:443"),
        "{seen:?}"
    );
    assert!(!seen[0].contains(SECRET));
}
