//! The weekly CTO report: data in, HTML + text + inline PNG charts out.

pub mod data;

pub use data::*;
