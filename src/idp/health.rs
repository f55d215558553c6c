//! Each realm's health as this process last saw it: whether its metadata
//! answered, the last error and since when the realm has been in its state.
//! Reported by `/readyz?verbose` and `/healthz/realms` and as the `realm_up`
//! metric; never part of readiness (one realm down must not pull every replica
//! out of the load balancer).

use std::collections::BTreeMap;
use std::sync::{PoisonError, RwLock};

use chrono::{DateTime, Utc};
use serde::Serialize;

/// One realm's state.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RealmState {
    /// `up` or `down`.
    pub status: &'static str,
    /// When the realm entered this state (first seen up, or first failure).
    pub since: DateTime<Utc>,
    /// When it was last checked.
    pub checked_at: DateTime<Utc>,
    /// The last failure, while down.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// The states of every realm checked.
#[derive(Default)]
pub struct RealmHealth {
    realms: RwLock<BTreeMap<String, RealmState>>,
}

impl RealmHealth {
    /// Records a check of `realm` at `now`: `Ok` or the failure.
    pub fn record(&self, realm: &str, now: DateTime<Utc>, result: Result<(), String>) {
        let mut realms = self.realms.write().unwrap_or_else(PoisonError::into_inner);
        let status = if result.is_ok() { "up" } else { "down" };
        let since = match realms.get(realm) {
            Some(previous) if previous.status == status => previous.since,
            _ => now,
        };
        realms.insert(
            realm.to_owned(),
            RealmState {
                status,
                since,
                checked_at: now,
                last_error: result.err(),
            },
        );
    }

    /// Forgets realms no longer configured.
    pub fn retain(&self, keep: impl Fn(&str) -> bool) {
        self.realms
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|name, _| keep(name));
    }

    #[must_use]
    /// Every realm's state, by name.
    pub fn snapshot(&self) -> BTreeMap<String, RealmState> {
        self.realms
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[cfg(test)]
mod tests;
