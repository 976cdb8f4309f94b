//! `nightshift serve` against slow clients (issue 33): connections that send
//! half a request header and stall are closed after the header timeout, the
//! scheduler's calls get through while hundreds of them are open, and the
//! connection cap makes the next caller wait for a slot instead of opening
//! descriptors without bound (docs/decisions.md, 83).

use std::time::{Duration, Instant};

use crate::common::*;
use crate::scheduler::start;
use nightshift_http::ServeOptions;
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const STALLED: usize = 400;
const HEADER_TIMEOUT: Duration = Duration::from_secs(3);

fn opts(max_connections: usize) -> ServeOptions {
    ServeOptions {
        schedule: false,
        header_timeout: HEADER_TIMEOUT,
        max_connections,
        ..Default::default()
    }
}

/// A connection that sent the start of a request and nothing more.
async fn stall(base: &str) -> TcpStream {
    let mut s = TcpStream::connect(base.trim_start_matches("http://"))
        .await
        .unwrap();
    s.write_all(b"POST /api/cron/hourly HTTP/1.1\r\nHost: localhost\r\nAuthor")
        .await
        .unwrap();
    s
}

/// Waits until the server ends the connection: EOF or a reset, after
/// whatever it chose to answer (a 408, or nothing).
async fn closed_by_server(mut s: TcpStream) {
    let mut buf = [0u8; 1024];
    loop {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => continue,
        }
    }
}

/// True when the server has already ended the connection; never waits.
fn already_closed(s: &TcpStream) -> bool {
    let mut buf = [0u8; 1024];
    match s.try_read(&mut buf) {
        Ok(_) => true, // EOF, or an answer the server sends only as it closes
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
        Err(_) => true,
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn stalled_headers_are_closed_and_the_scheduler_still_gets_in(pool: PgPool) {
    let t = real_app(&pool);
    let (base, stop, _server) = start(t.app.clone(), opts(1024)).await;
    let opened = Instant::now();
    let mut stalled = Vec::with_capacity(STALLED);
    for _ in 0..STALLED {
        stalled.push(stall(&base).await);
    }

    // A call as the scheduler makes it, on a fresh connection, while all of
    // them are open.
    let still_open = stalled.iter().filter(|s| !already_closed(s)).count();
    let answer = call(
        &reqwest::Client::new(),
        &format!("{base}/api/cron/hourly"),
        Some(&bearer()),
    )
    .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(
        still_open, STALLED,
        "the stalled connections were open during the call"
    );

    // Every stalled connection is ended by the server, not left for ever.
    let mut closing = tokio::task::JoinSet::new();
    for s in stalled {
        closing.spawn(closed_by_server(s));
    }
    tokio::time::timeout(HEADER_TIMEOUT * 10, closing.join_all())
        .await
        .expect("the server closes connections that stall in their header");
    assert!(
        opened.elapsed() >= HEADER_TIMEOUT,
        "closed by the timeout, not at once"
    );
    let _ = stop.send(());
}

#[sqlx::test(migrations = "./migrations")]
async fn a_full_server_serves_the_next_caller_once_a_slot_frees(pool: PgPool) {
    const CAP: usize = 8;
    let t = real_app(&pool);
    let (base, stop, _server) = start(t.app.clone(), opts(CAP)).await;
    let mut stalled = Vec::with_capacity(CAP);
    for _ in 0..CAP {
        stalled.push(stall(&base).await);
    }

    // The next caller waits in the backlog: it is answered only after the
    // header timeout closed a stalled connection and freed its slot.
    let answer = reqwest::get(format!("{base}/api/health")).await.unwrap();
    assert!(answer.status().as_u16() < 500, "{}", answer.status());
    assert!(
        stalled.iter().any(already_closed),
        "the ninth connection was served while {CAP} were open: no cap"
    );
    let _ = stop.send(());
}
