//! Notices: what one recipient should hear, one line each. Tasks write them
//! (escalations, breach-risk warnings, alerts, reminders, backlog summaries);
//! `compose_digests` (delivery/digest.rs) folds every pending notice of a
//! recipient into one digest per run. Only the weekly report and the daily
//! due-soon list go to the outbox directly.
//!
//! Urgency orders a digest's items, lowest first. The bands are passed to the
//! tasks' SQL as parameters, so the order is defined here once.

/// A critical alert: first in any digest, and it makes the digest priority 1.
pub const CRITICAL_ALERT: i32 = 0;
/// A bug that crossed an escalation level; plus (3 - level) * 10 + severity.
pub const ESCALATION: i32 = 1000;
/// A bug that entered high breach risk; plus the severity rank.
pub const RISK_HIGH: i32 = 2000;
/// A warning or info alert.
pub const ALERT: i32 = 3000;
/// A bug that entered medium breach risk; plus the severity rank.
pub const RISK_MEDIUM: i32 = 4000;
/// The 08:00 list of bugs due in the next 24 hours.
pub const REMINDER: i32 = 5000;
/// What a project's first run found: counts and the top items.
pub const BACKLOG: i32 = 6000;

/// Outbox priorities (`notifications.priority`): claims take the lowest first.
pub mod priority {
    pub const REPORT: i16 = 0;
    pub const CRITICAL: i16 = 1;
    pub const DIGEST: i16 = 2;
    pub const BULK: i16 = 3;
}

/// The team channel's notices have no person or address.
pub const SLACK: &str = "slack";
