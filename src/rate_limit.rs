//! Per-key token buckets (one per impersonation caller). A bucket holds up to
//! `burst` tokens and refills at `rate_per_minute`; a request takes one token or
//! learns how long to wait. Time comes from the injected clock.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};

struct Bucket {
    tokens: f64,
    at: DateTime<Utc>,
}

#[derive(Default)]
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// Forgets buckets untouched since `before` (they would be full again anyway).
    pub fn prune(&self, before: DateTime<Utc>) {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        buckets.retain(|_, bucket| bucket.at >= before);
    }

    /// Takes a token for `key`, or says how long until one is available.
    pub fn check(
        &self,
        key: &str,
        rate_per_minute: u32,
        burst: u32,
        now: DateTime<Utc>,
    ) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let capacity = f64::from(burst.max(1));
        let per_second = f64::from(rate_per_minute.max(1)) / 60.0;
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        #[allow(clippy::cast_precision_loss)] // milliseconds since the last request: small
        let elapsed = (now - bucket.at).num_milliseconds().max(0) as f64 / 1000.0;
        bucket.tokens = (bucket.tokens + elapsed * per_second).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_refused_until_the_bucket_refills() {
        let limiter = RateLimiter::default();
        let t0 = DateTime::from_timestamp(1_000_000, 0).unwrap();
        for _ in 0..3 {
            assert!(limiter.check("c", 60, 3, t0).is_ok());
        }
        let wait = limiter.check("c", 60, 3, t0).unwrap_err();
        assert_eq!(wait.as_secs(), 1);
        assert!(
            limiter
                .check("c", 60, 3, t0 + chrono::TimeDelta::seconds(1))
                .is_ok()
        );
        assert!(
            limiter.check("other", 60, 3, t0).is_ok(),
            "buckets are per key"
        );
    }
}
