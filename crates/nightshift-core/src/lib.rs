//! nightshift-core: the runtime every route shares. It knows about requests,
//! secrets, the ledger, time and tasks — and nothing about GitHub, bugs or mail.
//!
//! The modules import one way (docs/architecture.md §1): error, clock,
//! schedule and throttle at the ground; config, db, options, session and
//! spec above them; then report, follow_up, pause, ledger and task; runner;
//! app; auth, kick, slot_call and ping; invoke, web and route on top. The
//! public modules are the ones other crates reach into (the CLI, the status
//! page, the tests); the rest are private behind the `pub use` below.

mod announced;
pub mod app;
pub mod auth;
pub mod clock;
mod config;
pub mod db;
mod delivery;
mod error;
pub mod follow_up;
mod invoke;
pub mod kick;
pub mod ledger;
pub mod options;
mod outcome;
pub mod pause;
mod ping;
pub mod redact;
mod report;
pub mod retry;
mod route;
mod runner;
pub mod schedule;
pub mod session;
mod slot_call;
mod spec;
mod task;
pub mod throttle;
pub mod web;

pub use app::{App, InvocationDeadline, Route};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{
    Config, ConfigError, DASHBOARD_PATH, Healthchecks, MIN_SECRET_LEN, PingTarget, SECRET_RULE,
    bearer_url, estimated_bits, strong_enough,
};
pub use delivery::ScheduledDelivery;
pub use error::{Cause, HandleError};
pub use outcome::{Outcome, RunAnswer, Trigger};
pub use report::{
    EventStatus, TaskEvent, TaskOutcome, TaskReport, TaskStatus, Transient, is_transient,
};
pub use route::{all_routes_router, single_route_router};
pub use schedule::{Schedule, VercelJson};
pub use spec::RouteSpec;
pub use task::{Task, TaskContext, bind};
