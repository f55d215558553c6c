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
mod tests {
    use super::*;

    #[test]
    fn an_hour_of_minutes_with_failures_by_code_and_nothing_older() {
        let start = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let recent = RecentLogins::default();
        recent.record(start, "started", "");
        recent.record(start, "failed", "code_rejected");
        recent.record(start + chrono::TimeDelta::seconds(30), "completed", "");
        recent.record(
            start + chrono::TimeDelta::minutes(5),
            "failed",
            "code_rejected",
        );
        let hour = recent.last_hour(start + chrono::TimeDelta::minutes(5));
        assert_eq!(hour.len(), 60);
        let first = hour.iter().find(|m| m.minute == minute_of(start)).unwrap();
        assert_eq!((first.started, first.completed), (1, 1));
        assert_eq!(first.failed["code_rejected"], 1);
        assert_eq!(hour.last().unwrap().failed["code_rejected"], 1);
        // Seventy minutes on, the first minute is gone.
        recent.record(start + chrono::TimeDelta::minutes(70), "started", "");
        let later = recent.last_hour(start + chrono::TimeDelta::minutes(70));
        assert!(later.iter().all(|m| m.minute > minute_of(start)));
        assert_eq!(later.iter().map(|m| m.started).sum::<u64>(), 1);
    }
}
