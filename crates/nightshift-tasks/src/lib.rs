//! Nightshift's tasks. Each task is one file behind the `Task` trait, grouped
//! by the route that runs it; `registry` says which route runs what.

pub mod alerts;
pub mod daily;
pub mod delivery;
pub mod hourly;
pub mod notices;
pub mod registry;
pub mod weekly;

pub use registry::{routes, specs};
