//! nightshift-core: the runtime every route shares. It knows about requests,
//! secrets, the ledger, time and tasks — and nothing about GitHub, bugs or mail.

pub mod app;
pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod delivery;
pub mod error;
pub mod follow_up;
pub mod invoke;
pub mod kick;
pub mod ledger;
pub mod options;
pub mod outcome;
pub mod pause;
pub mod ping;
pub mod retry;
pub mod route;
pub mod runner;
pub mod schedule;
pub mod session;
pub mod slot_call;
pub mod task;
pub mod throttle;
pub mod web;

pub use app::{App, InvocationDeadline};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{Config, ConfigError};
pub use delivery::ScheduledDelivery;
pub use error::HandleError;
pub use invoke::RunAnswer;
pub use outcome::{Outcome, Trigger};
pub use route::{Route, RouteSpec, all_routes_router, single_route_router};
pub use schedule::{Schedule, VercelJson};
pub use task::{EventStatus, Task, TaskContext, TaskEvent, TaskReport, Transient, bind};
