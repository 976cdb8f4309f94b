//! The accept loop of `nightshift serve`, with the limits axum::serve lacks
//! (docs/decisions.md, 83): axum 0.8 hands hyper no timer, so a client that
//! sends half a request header and stalls keeps its connection, and its file
//! descriptor, for ever. Enough of them and the scheduler's loopback calls
//! cannot connect. Here every connection must finish its header within
//! `header_timeout`, and at most `max_connections` are open at once.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// How long a client may take to send a request's header (hyper's default
/// would be 30 s, had it a timer). The scheduler and any real client send
/// theirs in one write; 10 s is generous for a slow link.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// At most this many connections at once; the next callers wait in the
/// kernel's backlog until one closes. Lowered to half the descriptor limit
/// where that is smaller (see `connection_cap`).
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// Serves `router` on `listener` until `stop` resolves; then accepts nothing
/// more and waits for the open connections (idle ones are closed at once,
/// busy ones after their answer).
pub(crate) async fn run(
    listener: TcpListener,
    router: Router,
    header_timeout: Duration,
    max_connections: usize,
    stop: impl Future<Output = ()>,
) -> io::Result<()> {
    let permits = Arc::new(Semaphore::new(connection_cap(max_connections)));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    tokio::pin!(stop);
    loop {
        // The permit is taken before accepting, so a full server leaves new
        // connections in the backlog instead of opening descriptors for them.
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            _ = &mut stop => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        // The TCP peer is the client address the throttle keys on here.
        let service = hyper::service::service_fn(move |mut req: http::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(req)
        });
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                // A header timeout, a reset, garbage: the client's doing.
                tracing::debug!(%peer, error = %e, "connection closed");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// A client that left before it was accepted is nothing; anything else
/// (out of descriptors, most likely) is waited out, as axum::serve does,
/// rather than spun on.
async fn accept_error(e: io::Error) {
    use io::ErrorKind::*;
    if matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await; // a back-off, not a synchronisation
}

/// `wanted`, or half the process's open-file limit when that is smaller, so
/// that connections never take the descriptors the database pool, the
/// scheduler's own calls and the export's files need. Linux says the limit
/// in /proc; elsewhere `wanted` stands.
fn connection_cap(wanted: usize) -> usize {
    let limit = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| soft_nofile(&text));
    match limit {
        Some(n) => wanted.min((n / 2).max(1)),
        None => wanted,
    }
}

/// The soft limit of "Max open files" in /proc/self/limits' table.
fn soft_nofile(limits: &str) -> Option<usize> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_half_the_descriptors() {
        let table = "Limit                     Soft Limit           Hard Limit           Units\n\
                     Max open files            1024                 524288               files\n";
        assert_eq!(soft_nofile(table), Some(1024));
        assert_eq!(
            soft_nofile("Max open files  unlimited unlimited files"),
            None
        );
        assert_eq!(soft_nofile("nothing here"), None);
    }
}
