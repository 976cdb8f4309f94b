//! The integration tests, one binary (linked once, as zero2prod's
//! `tests/api`): each module is one area, against a real Postgres with a
//! fresh database per test, real HTTP on loopback and the built binaries.
//! The fault-injection scenarios stay their own binary (tests/chaos.rs).

#[path = "../common/mod.rs"]
mod common;

mod auth;
mod binary;
mod daily_route;
mod dashboard;
mod database;
mod empty;
mod healthcheck;
mod lambda;
mod ledger;
mod metrics;
mod metrics_auth;
mod openapi;
mod pause;
mod pgbouncer;
mod queue_workers;
mod restore_drill;
mod run_page;
mod runner;
mod scheduler;
mod schedules;
mod sessions;
mod slow_clients;
mod status_api;
mod throttle;
mod throttle_flood;
