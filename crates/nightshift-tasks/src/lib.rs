//! Nightshift's tasks. Each task is one file behind the `Task` trait, grouped
//! by the route that runs it; `registry` says which route runs what. Every
//! task is a `Task<TasksConfig>`: its settings are `ctx.env`, read by
//! `TasksConfig` (crate::config), not by the core.

pub mod alerts;
mod config;
pub mod daily;
pub mod delivery;
pub mod hourly;
pub mod notices;
pub mod registry;
pub mod weekly;

pub use config::TasksConfig;
pub use registry::{routes, specs};
