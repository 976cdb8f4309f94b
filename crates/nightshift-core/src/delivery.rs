//! A scheduled delivery: the platform's scheduler invoked the function
//! itself, not over HTTP (EventBridge Scheduler's Lambda target, an
//! EventBridge rule's Lambda target). The platform authenticated the call
//! (IAM allowed the invoke), and the delivery says which time it was meant
//! for, so a late or repeated delivery claims the slot of that time, not of
//! the clock's (docs/decisions.md, 54).
//!
//! Only an adapter puts one in a request's extensions, after parsing a
//! direct invocation's payload; nothing that arrives over HTTP can.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::error::HandleError;

#[derive(Clone, Debug, Serialize)]
pub struct ScheduledDelivery {
    /// The time the scheduler meant this delivery for (the event's `time`).
    pub scheduled_time: DateTime<Utc>,
    /// Who sent it, as the event says (`aws.scheduler`, `aws.events`).
    pub source: Option<String>,
    /// The event's (or the Scheduler's execution) id, for the ledger.
    pub id: Option<String>,
}

/// How far past the clock a scheduled time may lie: clocks drift a little,
/// a delivery is never early by more. A later time is a mistake in the
/// schedule's input, and claiming that slot now would block its real run.
pub const EARLY_TOLERANCE: Duration = Duration::minutes(5);

impl ScheduledDelivery {
    /// The time whose slot this delivery claims.
    pub fn slot_time(&self, now: DateTime<Utc>) -> Result<DateTime<Utc>, HandleError> {
        if self.scheduled_time > now + EARLY_TOLERANCE {
            return Err(HandleError::BadRequest(format!(
                "the event's scheduled time {} is in the future (now {}); \
                 pass <aws.scheduler.scheduled-time> as \"time\"",
                self.scheduled_time.to_rfc3339(),
                now.to_rfc3339()
            )));
        }
        Ok(self.scheduled_time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t: &str) -> ScheduledDelivery {
        ScheduledDelivery {
            scheduled_time: t.parse().unwrap(),
            source: None,
            id: None,
        }
    }

    #[test]
    fn a_late_delivery_keeps_its_time_an_early_one_is_refused() {
        let now: DateTime<Utc> = "2026-11-24T21:47:00Z".parse().unwrap();
        let late = at("2026-11-24T18:00:00Z");
        assert_eq!(late.slot_time(now).unwrap(), late.scheduled_time);
        let skewed = at("2026-11-24T21:50:00Z");
        assert_eq!(skewed.slot_time(now).unwrap(), skewed.scheduled_time);
        let future = at("2026-11-24T22:00:00Z");
        assert!(matches!(
            future.slot_time(now),
            Err(HandleError::BadRequest(_))
        ));
    }
}
