//! The kill harness of scenarios 1 and 1b (tests/chaos/killed_process.rs,
//! tests/chaos/killed_sync.rs): a route process whose run is blocked on a
//! lock the test holds on `bugs` is killed with SIGKILL, as a platform does
//! to a function past its limit; then a fresh process (a new container) is
//! called until the dead run's lease has expired.

use std::time::Duration;

use sqlx::{PgPool, Postgres, Transaction};
use tokio::process::Child;
use tokio::task::JoinHandle;

use super::{eventually, lock_waiter};
use crate::common::*;

/// A route process with a run in flight, stuck on the test's lock.
pub struct Doomed {
    lock: Transaction<'static, Postgres>,
    child: Child,
    pending: JoinHandle<reqwest::Result<reqwest::Response>>,
}

/// Locks `bugs`, starts `bin` with `env` and calls `path` on it; returns once
/// the run waits on the lock (its job_history row is `running` by then).
pub async fn start_blocked(pool: &PgPool, bin: &str, path: &str, env: &[(&str, String)]) -> Doomed {
    let mut lock = pool.begin().await.unwrap();
    sqlx::query!("LOCK TABLE bugs IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await
        .unwrap();
    let port = free_port();
    let child = spawn_route(bin, port, env).await;
    let url = format!("http://127.0.0.1:{port}{path}");
    let pending = tokio::spawn(async move {
        reqwest::Client::new()
            .post(url)
            .header("authorization", bearer())
            .send()
            .await
    });
    lock_waiter(pool).await;
    Doomed {
        lock,
        child,
        pending,
    }
}

impl Doomed {
    /// SIGKILL; the caller gets no answer. Then the lock goes, leaving the
    /// dead run's row `running` under its lease.
    pub async fn kill(mut self) {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
        assert!(
            self.pending.await.unwrap().is_err(),
            "the killed process answered"
        );
        self.lock.rollback().await.unwrap();
    }
}

/// A fresh process of `bin`, called on `path` while it answers `waiting`
/// (the dead run still holds its lease, budget + 20 s), within 40 s.
pub async fn call_after_the_lease(
    bin: &str,
    path: &str,
    env: &[(&str, String)],
    waiting: &str,
) -> Answer {
    let port = free_port();
    let _fresh = spawn_route(bin, port, env).await;
    let url = format!("http://127.0.0.1:{port}{path}");
    let client = reqwest::Client::new();
    eventually(Duration::from_secs(40), "the lease to expire", || async {
        let a = call(&client, &url, Some(&bearer())).await;
        (a.body["outcome"] != waiting).then_some(a)
    })
    .await
}
