//! Which lines the service writes: the access-line decision (`off`, `sampled`,
//! `on`) and the summary of repeated refusals, which keeps the log's size
//! bounded under any flood: per interval, one line per cause and client
//! address, with a count, and at most [`MAX_CAUSES`] of them.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::domain::{AccessLog, LogSettings};

/// Causes counted per interval at most; past it, new causes share one entry.
pub const MAX_CAUSES: usize = 10_000;

/// Repeated refusals counted since the last summary.
#[derive(Default)]
pub struct RefusalSummary {
    counts: Mutex<HashMap<(&'static str, Option<IpAddr>), Counted>>,
}

struct Counted {
    route: String,
    status: u16,
    repeats: u64,
}

impl RefusalSummary {
    /// Counts one refusal; `true` when it is the first of its kind this
    /// interval (and so is to be logged in full).
    pub fn count(
        &self,
        code: &'static str,
        client: Option<IpAddr>,
        route: &str,
        status: u16,
    ) -> bool {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let key = if counts.len() >= MAX_CAUSES && !counts.contains_key(&(code, client)) {
            (code, None)
        } else {
            (code, client)
        };
        if let Some(counted) = counts.get_mut(&key) {
            counted.repeats += 1;
            return false;
        }
        counts.insert(
            key,
            Counted {
                route: route.to_owned(),
                status,
                repeats: 0,
            },
        );
        true
    }

    /// Logs one line per cause and address that repeated, and starts a new
    /// interval; how many lines were written.
    pub fn flush(&self, interval_secs: u64) -> usize {
        let drained: Vec<_> = {
            let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
            counts.drain().collect()
        };
        let mut lines = 0;
        for ((code, client), counted) in drained {
            if counted.repeats == 0 {
                continue;
            }
            lines += 1;
            let client = client.map_or_else(|| "(other addresses)".to_owned(), |ip| ip.to_string());
            tracing::warn!(
                code,
                client = %client,
                route = %counted.route,
                status = counted.status,
                count = counted.repeats,
                interval_secs,
                "repeated refusals summarised"
            );
        }
        lines
    }
}

/// What decides which access lines are written.
pub struct AccessLogger {
    settings: LogSettings,
    seen: AtomicU64,
    /// The refusals of the current interval.
    pub summary: RefusalSummary,
}

impl AccessLogger {
    #[must_use]
    /// A logger with `settings`.
    pub fn new(settings: LogSettings) -> Self {
        Self {
            settings,
            seen: AtomicU64::new(0),
            summary: RefusalSummary::default(),
        }
    }

    #[must_use]
    /// The interval of the refusal summary.
    pub fn summary_interval(&self) -> std::time::Duration {
        self.settings.summary_interval
    }

    /// Whether this successful request gets an access line.
    #[must_use]
    pub fn log_success(&self) -> bool {
        match self.settings.access {
            AccessLog::Off => false,
            AccessLog::On => true,
            AccessLog::Sampled => self
                .seen
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(u64::from(self.settings.access_sample)),
        }
    }
}

#[cfg(test)]
mod tests;
