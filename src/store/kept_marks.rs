//! The login store of a node without Redis: [`MemoryLogins`], with the marks
//! that must outlive a restart written through to the durable store and read
//! back when the broker starts: used states, host-token `jti`s and nonces, and
//! ended sessions. A restart (or `kill -9`) then never revives a logged-out or
//! revoked session or a used token (docs/src/operate/replicas.md, "What is durable where"). Marks are
//! kept under the SHA-256 of their key, never the key itself; logins in flight
//! and one-time values stay in memory (a restart loses them, which revives
//! nothing).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::memory::{Key, Mark, MemoryLogins};
use super::{
    CompletedLogin, ConfirmOutcome, Document, DurableStore, LoginStore, OneTime, Redemption,
    SessionKeys, SlotClaim, StoreError,
};
use crate::crypto;
use crate::domain::{ClientId, Confirmation, TxnId, TxnVerifier};

/// The document kind of the kept marks.
const KIND: &str = "login_mark";
/// Their owner (no tenant's).
const OWNER: &str = "login-marks";

/// A mark as the durable store keeps it.
#[derive(Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
enum Kept {
    Used { until: i64 },
    Ended { at: i64, until: i64 },
}

/// [`MemoryLogins`] whose lasting marks survive a restart.
pub struct KeptMarks {
    memory: MemoryLogins,
    durable: Arc<dyn DurableStore>,
}

fn id(prefix: &str, key: &Key) -> String {
    format!("{prefix}:{}", URL_SAFE_NO_PAD.encode(key))
}

fn time(secs: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(secs, 0)
}

impl KeptMarks {
    /// The login store over `durable`, with the marks it kept that still hold at `now`.
    pub async fn open(
        durable: Arc<dyn DurableStore>,
        now: DateTime<Utc>,
    ) -> Result<Self, StoreError> {
        let memory = MemoryLogins::default();
        let mut marks = Vec::new();
        for doc in durable.documents(KIND, Some(OWNER)).await? {
            let key = doc
                .id
                .split_once(':')
                .and_then(|(_, k)| URL_SAFE_NO_PAD.decode(k).ok())
                .and_then(|k| Key::try_from(k).ok());
            let kept = serde_json::from_str::<Kept>(&doc.body).ok();
            let mark = match (key, kept) {
                (Some(key), Some(Kept::Used { until })) => {
                    time(until).map(|until| Mark::Used { key, until })
                }
                (Some(key), Some(Kept::Ended { at, until })) => time(at)
                    .zip(time(until))
                    .map(|(at, until)| Mark::Ended { key, at, until }),
                _ => None,
            };
            match mark {
                Some(Mark::Used { until, .. } | Mark::Ended { until, .. }) if until <= now => {}
                Some(mark) => marks.push(mark),
                None => {
                    tracing::warn!(id = %doc.id, "a kept login mark could not be read; it is ignored");
                }
            }
        }
        memory.restore(marks);
        Ok(Self { memory, durable })
    }

    async fn keep(&self, id: String, kept: &Kept) -> Result<(), StoreError> {
        let body = serde_json::to_string(kept).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.durable
            .put_document(
                KIND,
                &Document {
                    id,
                    owner: OWNER.into(),
                    body,
                    secret: None,
                },
            )
            .await
    }
}

#[async_trait]
impl LoginStore for KeptMarks {
    async fn use_state(&self, state: &str, until: DateTime<Utc>) -> Result<bool, StoreError> {
        if !self.memory.use_state(state, until).await? {
            return Ok(false);
        }
        // Kept before the caller acts on it: if keeping fails, so does the request.
        self.keep(
            id("u", &crypto::sha256(state)),
            &Kept::Used {
                until: until.timestamp(),
            },
        )
        .await?;
        Ok(true)
    }

    async fn was_used(&self, state: &str) -> Result<bool, StoreError> {
        self.memory.was_used(state).await
    }

    async fn complete_txn(
        &self,
        txn: &TxnId,
        login: &CompletedLogin<'_>,
    ) -> Result<bool, StoreError> {
        self.memory.complete_txn(txn, login).await
    }

    async fn confirm(
        &self,
        txn: &TxnId,
        client: &ClientId,
        confirmation: &Confirmation,
        now: DateTime<Utc>,
    ) -> Result<ConfirmOutcome, StoreError> {
        self.memory.confirm(txn, client, confirmation, now).await
    }

    async fn redeem(
        &self,
        txn: &TxnId,
        client: &ClientId,
        verifier: &TxnVerifier,
        now: DateTime<Utc>,
    ) -> Result<Redemption, StoreError> {
        self.memory.redeem(txn, client, verifier, now).await
    }

    async fn wait_for_completion(&self, txn: &TxnId, timeout: Duration) -> Result<(), StoreError> {
        self.memory.wait_for_completion(txn, timeout).await
    }

    async fn end_sessions(
        &self,
        key: &str,
        user: &str,
        at: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        // Kept first: an end the caller reports as done is never forgotten.
        self.keep(
            id("e", &crypto::sha256(key)),
            &Kept::Ended {
                at: at.timestamp(),
                until: until.timestamp(),
            },
        )
        .await?;
        self.memory.end_sessions(key, user, at, until).await
    }

    async fn ring_sessions(&self, user: &str) -> Result<(), StoreError> {
        self.memory.ring_sessions(user).await
    }

    async fn session_ended(
        &self,
        keys: &SessionKeys,
        started: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.memory.session_ended(keys, started).await
    }

    async fn wait_for_session_end(
        &self,
        keys: &SessionKeys,
        started: DateTime<Utc>,
        timeout: Duration,
    ) -> Result<(), StoreError> {
        self.memory
            .wait_for_session_end(keys, started, timeout)
            .await
    }

    async fn put_once(
        &self,
        key: &str,
        value: &[u8],
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.memory.put_once(key, value, until, now).await
    }

    async fn take_once(&self, key: &str, now: DateTime<Utc>) -> Result<OneTime, StoreError> {
        self.memory.take_once(key, now).await
    }

    async fn peek_once(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.memory.peek_once(key, now).await
    }

    async fn claim_slot(
        &self,
        slot: &str,
        holder: &str,
        replace: bool,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<SlotClaim, StoreError> {
        self.memory
            .claim_slot(slot, holder, replace, until, now)
            .await
    }

    async fn slot_holder(
        &self,
        slot: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        self.memory.slot_holder(slot, now).await
    }

    async fn release_slot(&self, slot: &str, holder: &str) -> Result<bool, StoreError> {
        self.memory.release_slot(slot, holder).await
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let purged = self.memory.purge_expired(now).await?;
        let mut forgotten = 0;
        for doc in self.durable.documents(KIND, Some(OWNER)).await? {
            let until = match serde_json::from_str::<Kept>(&doc.body) {
                Ok(Kept::Used { until } | Kept::Ended { until, .. }) => time(until),
                Err(_) => None,
            };
            if until.is_none_or(|until| until <= now)
                && self.durable.delete_document(KIND, &doc.id).await?
            {
                forgotten += 1;
            }
        }
        Ok(purged + forgotten)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.durable.ping().await
    }

    fn observe(&self, metrics: Arc<crate::observe::metrics::Metrics>) {
        self.memory.observe(metrics);
    }

    fn in_flight(&self) -> Option<u64> {
        self.memory.in_flight()
    }
}
