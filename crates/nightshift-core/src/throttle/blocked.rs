//! The scopes this instance knows to be blocked, so their wrong secrets
//! are answered 429 without a database statement (issue 33, item 3).
//!
//! An entry is trusted for at most `RECHECK` (then the next wrong secret
//! asks the database again, which costs a read while the block lasts): so
//! `nightshift auth unblock` takes effect everywhere within a minute. The
//! map is bounded; past `CAP` live entries, new blocks are not remembered
//! and cost that read each time instead.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

/// The longest this instance trusts its memory of a block.
pub const RECHECK: chrono::Duration = chrono::Duration::seconds(60);
/// The most scopes remembered at once.
pub const CAP: usize = 10_000;

#[derive(Debug)]
struct Entry {
    until: DateTime<Utc>,
    recheck: DateTime<Utc>,
    refused: u64,
}

/// See the module's comment.
#[derive(Debug, Default)]
pub struct Blocked(Mutex<HashMap<String, Entry>>);

/// A wrong secret refused from memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refused {
    pub retry_after: u64,
    /// How many this instance has refused from the scope since it learnt
    /// of the block, this one included (the log reports some, not all).
    pub count: u64,
}

impl Blocked {
    /// Whether `key` is blocked as far as this instance knows; counts the
    /// refusal when it is.
    pub fn refuse(&self, key: &str, now: DateTime<Utc>) -> Option<Refused> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let e = map.get_mut(key)?;
        match super::secs_until(e.until, now) {
            Some(retry_after) if now < e.recheck => {
                e.refused += 1;
                Some(Refused {
                    retry_after,
                    count: e.refused,
                })
            }
            _ => {
                map.remove(key);
                None
            }
        }
    }

    /// Remembers that `key` is blocked until `until`.
    pub fn remember(&self, key: &str, until: DateTime<Utc>, now: DateTime<Utc>) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= CAP && !map.contains_key(key) {
            map.retain(|_, e| now < e.recheck && now < e.until);
            if map.len() >= CAP {
                return;
            }
        }
        let recheck = until.min(now + RECHECK);
        map.insert(
            key.to_owned(),
            Entry {
                until,
                recheck,
                refused: 0,
            },
        );
    }

    /// Live entries (tests, the log).
    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_until_the_block_ends_or_a_minute_passes() {
        let b = Blocked::default();
        let t = chrono::DateTime::UNIX_EPOCH;
        let s = chrono::Duration::seconds;
        assert_eq!(b.refuse("ip:a", t), None);
        b.remember("ip:a", t + s(30), t);
        b.remember("ip:b", t + s(3600), t);
        let r = b.refuse("ip:a", t + s(10)).unwrap();
        assert_eq!((r.retry_after, r.count), (20, 1));
        assert_eq!(b.refuse("ip:a", t + s(11)).unwrap().count, 2);
        assert_eq!(b.refuse("ip:a", t + s(30)), None, "the block ended");
        assert_eq!(b.refuse("ip:b", t + s(59)).unwrap().retry_after, 3541);
        assert_eq!(b.refuse("ip:b", t + s(60)), None, "asks the database again");
        assert!(b.is_empty());
    }

    #[test]
    fn is_bounded() {
        let b = Blocked::default();
        let t = chrono::DateTime::UNIX_EPOCH;
        let later = t + chrono::Duration::seconds(30);
        for i in 0..CAP {
            b.remember(&format!("ip:{i}"), later, t);
        }
        b.remember("ip:one-more", later, t);
        assert_eq!(b.len(), CAP);
        assert_eq!(b.refuse("ip:one-more", t), None);
        // Once the old ones have expired, there is room again.
        b.remember("ip:one-more", later + chrono::Duration::seconds(60), later);
        assert_eq!(b.len(), 1);
    }
}
