//! Token buckets in this process, in shards chosen by the key's hash so that
//! requests of different clients rarely meet on one lock, and a known key costs
//! no allocation.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::store::{RateStore, StoreError};

/// Shards of the bucket map (a power of two).
const SHARDS: usize = 32;

struct Bucket {
    tokens: f64,
    at: DateTime<Utc>,
}

/// Token buckets in this process.
pub struct MemoryRates {
    hasher: RandomState,
    shards: [Mutex<HashMap<String, Bucket>>; SHARDS],
}

impl Default for MemoryRates {
    fn default() -> Self {
        Self {
            hasher: RandomState::new(),
            shards: std::array::from_fn(|_| Mutex::new(HashMap::new())),
        }
    }
}

impl MemoryRates {
    fn shard(&self, key: &str) -> &Mutex<HashMap<String, Bucket>> {
        #[expect(
            clippy::cast_possible_truncation,
            reason = "only the low bits choose the shard"
        )]
        let index = self.hasher.hash_one(key) as usize & (SHARDS - 1);
        let [first, ..] = &self.shards;
        self.shards.get(index).unwrap_or(first)
    }

    /// Forgets buckets untouched since `before` (they would be full again anyway).
    pub fn prune(&self, before: DateTime<Utc>) {
        for shard in &self.shards {
            let mut buckets = shard.lock().unwrap_or_else(PoisonError::into_inner);
            buckets.retain(|_, bucket| bucket.at >= before);
        }
    }

    /// [`RateStore::take`], without waiting for anything.
    pub fn take_now(
        &self,
        key: &str,
        rate_per_minute: u32,
        burst: u32,
        now: DateTime<Utc>,
    ) -> Option<Duration> {
        let mut buckets = self
            .shard(key)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let capacity = f64::from(burst.max(1));
        let per_second = f64::from(rate_per_minute.max(1)) / 60.0;
        if let Some(bucket) = buckets.get_mut(key) {
            return bucket.take(capacity, per_second, now);
        }
        buckets
            .entry(key.to_owned())
            .or_insert(Bucket {
                tokens: capacity,
                at: now,
            })
            .take(capacity, per_second, now)
    }
}

impl Bucket {
    /// Refills the bucket for the time since its last use, then takes a token:
    /// `None`, or how long until one is there.
    fn take(&mut self, capacity: f64, per_second: f64, now: DateTime<Utc>) -> Option<Duration> {
        #[expect(
            clippy::cast_precision_loss,
            reason = "milliseconds since the last request: small"
        )]
        let elapsed = (now - self.at).num_milliseconds().max(0) as f64 / 1000.0;
        self.tokens = (self.tokens + elapsed * per_second).min(capacity);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            None
        } else {
            Some(Duration::from_secs_f64((1.0 - self.tokens) / per_second))
        }
    }
}

#[async_trait]
impl RateStore for MemoryRates {
    async fn take(
        &self,
        key: &str,
        rate_per_minute: u32,
        burst: u32,
        now: DateTime<Utc>,
    ) -> Result<Option<Duration>, StoreError> {
        Ok(self.take_now(key, rate_per_minute, burst, now))
    }
}
