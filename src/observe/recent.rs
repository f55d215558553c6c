//! The last hour of logins, a minute at a time, as this process counted them:
//! the admin console's overview. Recorded by the same call that counts the
//! `logins` metric, so the two never disagree.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Minutes kept.
pub const MINUTES: i64 = 60;

/// One minute's logins.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MinuteLogins {
    /// The minute's start.
    pub minute: DateTime<Utc>,
    /// Logins sent to a realm.
    pub started: u64,
    /// Logins completed.
    pub completed: u64,
    /// Logins failed, by error code.
    pub failed: BTreeMap<&'static str, u64>,
}

/// The last [`MINUTES`] minutes.
#[derive(Default)]
pub struct RecentLogins {
    minutes: Mutex<VecDeque<MinuteLogins>>,
}

fn minute_of(at: DateTime<Utc>) -> DateTime<Utc> {
    let seconds = at.timestamp().div_euclid(60) * 60;
    DateTime::from_timestamp(seconds, 0).unwrap_or(at)
}

impl RecentLogins {
    /// Counts a login's step (`started`, `completed`, `failed` with `error`) at `at`.
    pub fn record(&self, at: DateTime<Utc>, stage: &str, error: &'static str) {
        let minute = minute_of(at);
        let mut minutes = self.minutes.lock().unwrap_or_else(PoisonError::into_inner);
        if minutes.back().is_none_or(|m| m.minute < minute) {
            minutes.push_back(MinuteLogins {
                minute,
                ..MinuteLogins::default()
            });
        }
        while minutes
            .front()
            .is_some_and(|m| m.minute <= minute - chrono::TimeDelta::minutes(MINUTES))
        {
            minutes.pop_front();
        }
        // A step stamped before the newest minute (a clock stepped back) counts there.
        let Some(current) = minutes.iter_mut().rev().find(|m| m.minute <= minute) else {
            return;
        };
        match stage {
            "started" => current.started += 1,
            "completed" => current.completed += 1,
            _ => *current.failed.entry(error).or_default() += 1,
        }
    }

    /// Every minute of the hour before `now`, oldest first, empty ones included.
    #[must_use]
    pub fn last_hour(&self, now: DateTime<Utc>) -> Vec<MinuteLogins> {
        let newest = minute_of(now);
        let minutes = self.minutes.lock().unwrap_or_else(PoisonError::into_inner);
        (0..MINUTES)
            .rev()
            .map(|ago| {
                let minute = newest - chrono::TimeDelta::minutes(ago);
                minutes
                    .iter()
                    .find(|m| m.minute == minute)
                    .cloned()
                    .unwrap_or(MinuteLogins {
                        minute,
                        ..MinuteLogins::default()
                    })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
