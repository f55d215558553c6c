//! Token buckets on Redis, shared by every replica.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{RedisStore, millis};
use crate::store::{RateStore, StoreError};

#[async_trait]
impl RateStore for RedisStore {
    async fn take(
        &self,
        key: &str,
        rate_per_minute: u32,
        burst: u32,
        now: DateTime<Utc>,
    ) -> Result<Option<Duration>, StoreError> {
        let per_ms = f64::from(rate_per_minute.max(1)) / 60_000.0;
        let wait_ms: u64 = self
            .run(|mut conn| {
                let mut call = self.take.key(format!("{}rate:{key}", self.prefix));
                call.arg(burst.max(1)).arg(per_ms).arg(millis(now));
                Box::pin(async move { call.invoke_async(&mut conn).await })
            })
            .await?;
        Ok((wait_ms > 0).then(|| Duration::from_millis(wait_ms)))
    }
}
