//! Per-key token buckets (per impersonation caller, per client address). A
//! bucket holds up to `burst` tokens and refills at `rate_per_minute`; a request
//! takes one token or learns how long to wait. Time comes from the injected
//! clock. The buckets are shared by the replicas when Redis is configured.
//!
//! Also [`WaitSlots`]: the relay's long polls are bounded per client address and
//! overall, apart from every other request, so parked polls can never starve the
//! redemption of a completed login.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::store::RateStore;
use crate::store::memory::MemoryRates;

/// Token buckets by key: in the shared store when there is one (Redis, so every
/// replica counts against the same bucket), else in this process. When the
/// shared store fails, this process's buckets stand in, so an outage of Redis
/// neither lifts the limits nor refuses every request.
pub struct RateLimiter {
    /// Which limit: keeps the keys of different limits apart in a shared store.
    scope: &'static str,
    shared: Option<Arc<dyn RateStore>>,
    local: MemoryRates,
}

impl RateLimiter {
    #[must_use]
    /// Buckets of the limit `scope`, in `shared` when given.
    pub fn new(scope: &'static str, shared: Option<Arc<dyn RateStore>>) -> Self {
        Self {
            scope,
            shared,
            local: MemoryRates::default(),
        }
    }

    /// Forgets this process's buckets untouched since `before`.
    pub fn prune(&self, before: DateTime<Utc>) {
        self.local.prune(before);
    }

    /// Takes a token for `key`, or says how long until one is available.
    pub async fn check(
        &self,
        key: &str,
        rate_per_minute: u32,
        burst: u32,
        now: DateTime<Utc>,
    ) -> Result<(), Duration> {
        let wait = match &self.shared {
            Some(shared) => {
                let key = format!("{}:{key}", self.scope);
                match shared.take(&key, rate_per_minute, burst, now).await {
                    Ok(wait) => wait,
                    Err(err) => {
                        tracing::warn!(error = %err, limit = self.scope, "the shared rate limit is unavailable: counting in this process");
                        self.local
                            .take_now(key.as_str(), rate_per_minute, burst, now)
                    }
                }
            }
            None => self.local.take_now(key, rate_per_minute, burst, now),
        };
        wait.map_or(Ok(()), Err)
    }
}

/// Places for parked long polls: at most `per_ip` for one client address and
/// `total` overall. A request that finds no place does not park: it answers at
/// once (the SDK then polls at a slower pace).
pub struct WaitSlots {
    per_ip: usize,
    total: usize,
    gauge: prometheus_client::metrics::gauge::Gauge,
    parked: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// A parked poll's place; freed when dropped.
pub struct WaitSlot {
    slots: Arc<WaitSlots>,
    ip: Option<IpAddr>,
}

impl WaitSlots {
    #[must_use]
    /// Room for `per_ip` waits per address and `total` overall.
    pub fn new(per_ip: usize, total: usize) -> Arc<Self> {
        Self::counted(
            per_ip,
            total,
            prometheus_client::metrics::gauge::Gauge::default(),
        )
    }

    #[must_use]
    /// The same, counting the parked polls in `gauge`.
    pub fn counted(
        per_ip: usize,
        total: usize,
        gauge: prometheus_client::metrics::gauge::Gauge,
    ) -> Arc<Self> {
        Arc::new(Self {
            per_ip,
            total,
            gauge,
            parked: Mutex::new((0, HashMap::new())),
        })
    }

    /// A place for a poll from `ip`, if one is free.
    #[must_use]
    pub fn try_park(self: &Arc<Self>, ip: Option<IpAddr>) -> Option<WaitSlot> {
        let mut parked = self.parked.lock().unwrap_or_else(PoisonError::into_inner);
        let (total, by_ip) = &mut *parked;
        if *total >= self.total {
            return None;
        }
        if let Some(ip) = ip {
            let count = by_ip.entry(ip).or_default();
            if *count >= self.per_ip {
                return None;
            }
            *count += 1;
        }
        *total += 1;
        self.gauge.inc();
        Some(WaitSlot {
            slots: Arc::clone(self),
            ip,
        })
    }
}

impl Drop for WaitSlot {
    fn drop(&mut self) {
        let mut parked = self
            .slots
            .parked
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (total, by_ip) = &mut *parked;
        *total = total.saturating_sub(1);
        self.slots.gauge.dec();
        if let Some(ip) = self.ip
            && let Some(count) = by_ip.get_mut(&ip)
        {
            *count = count.saturating_sub(1);
            if *count == 0 {
                by_ip.remove(&ip);
            }
        }
    }
}

#[cfg(test)]
mod tests;
