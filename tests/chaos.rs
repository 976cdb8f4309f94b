//! The fault-injection suite. Each module is one scenario: it breaks one
//! real component (a killed process, a stopped Postgres, a held pool, a
//! misbehaving GitHub or SMTP server, a jumping clock, garbage requests) and
//! then counts rows in the database to show that nothing was lost and
//! nothing was done twice. Scenarios that take more than a few seconds are
//! `#[ignore = "slow: scripts/chaos"]`; `scripts/chaos` runs them all.
//!
//! A task that never returns (scenario 6) is covered by
//! `tests/api/runner.rs::a_hung_task_is_cut_off_and_the_rest_run`, which
//! `scripts/chaos` runs as well.

mod common;

#[path = "chaos/body_limits.rs"]
mod body_limits;
#[path = "chaos/clock_jumps.rs"]
mod clock_jumps;
#[path = "chaos/clock_skew.rs"]
mod clock_skew;
#[path = "chaos/follow_ups.rs"]
mod follow_ups;
#[path = "chaos/garbage.rs"]
mod garbage;
#[path = "chaos/github_faults.rs"]
mod github_faults;
#[path = "chaos/killed_process.rs"]
mod killed_process;
#[path = "chaos/killed_sync.rs"]
mod killed_sync;
#[path = "chaos/own_postgres.rs"]
mod own_postgres;
#[path = "chaos/pool_exhausted.rs"]
mod pool_exhausted;
#[path = "chaos/postgres_restart.rs"]
mod postgres_restart;
#[path = "chaos/smtp_outage.rs"]
mod smtp_outage;
#[path = "chaos/support/mod.rs"]
mod support;
