//! The login store on Redis: logins in flight, outcomes, one-time values, used
//! states, end marks and slots; every step that reads and then changes a login
//! is one atomic script, and wake-ups go by publish/subscribe.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

use super::{GRACE_MS, RECHECK, RedisStore, millis};
use crate::crypto;
use crate::domain::login::{MAX_VERIFIER_FAILURES, OUTCOME_LIFETIME, PENDING_LOGIN_LIFETIME};
use crate::domain::{ClientId, Confirmation, TxnId, TxnVerifier};
use crate::store::{
    CompletedLogin, ConfirmOutcome, LoginStore, ONE_TIME_KEPT, OneTime, Redemption, SlotClaim,
    StoreError,
};

#[async_trait]
impl LoginStore for RedisStore {
    fn observe(&self, metrics: Arc<crate::observe::metrics::Metrics>) {
        self.metrics.set(metrics);
    }

    async fn use_state(&self, state: &str, _until: DateTime<Utc>) -> Result<bool, StoreError> {
        // A state is accepted only with its cookie, which expires with the
        // pending login: a mark that outlives the longest login is enough.
        let key = self.hashed_key("state", state);
        let ttl = PENDING_LOGIN_LIFETIME.num_milliseconds() + GRACE_MS;
        let set: Option<String> = self
            .run(|mut conn| {
                let command = ::redis::cmd("SET")
                    .arg(&key)
                    .arg(1)
                    .arg("NX")
                    .arg("PX")
                    .arg(ttl)
                    .clone();
                Box::pin(async move { command.query_async(&mut conn).await })
            })
            .await?;
        Ok(set.is_some())
    }

    async fn was_used(&self, state: &str) -> Result<bool, StoreError> {
        let key = self.hashed_key("state", state);
        let found: u64 = self
            .run(|mut conn| {
                let command = ::redis::cmd("EXISTS").arg(&key).clone();
                Box::pin(async move { command.query_async(&mut conn).await })
            })
            .await?;
        Ok(found > 0)
    }

    async fn complete_txn(
        &self,
        txn: &TxnId,
        login: &CompletedLogin<'_>,
    ) -> Result<bool, StoreError> {
        let key = txn.storage_key();
        let json =
            serde_json::to_vec(login.outcome).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let sealed = self
            .sealer
            .seal(&key, &json)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let ttl = OUTCOME_LIFETIME.num_milliseconds() + GRACE_MS;
        let stored: i64 = self
            .run(|mut conn| {
                let mut call = self.complete.key(self.txn_key(&key));
                call.arg(login.client_id.as_str())
                    .arg(login.txn_challenge.as_str())
                    .arg(&sealed)
                    .arg(login.confirmation.hash().as_slice())
                    .arg(millis(login.expires_at))
                    .arg(ttl)
                    .arg(&self.channel)
                    .arg(URL_SAFE_NO_PAD.encode(key));
                Box::pin(async move { call.invoke_async(&mut conn).await })
            })
            .await?;
        Ok(stored == 1)
    }

    async fn confirm(
        &self,
        txn: &TxnId,
        client: &ClientId,
        confirmation: &Confirmation,
        now: DateTime<Utc>,
    ) -> Result<ConfirmOutcome, StoreError> {
        let key = txn.storage_key();
        let answer: String = self
            .run(|mut conn| {
                let mut call = self.confirm.key(self.txn_key(&key));
                call.arg(client.as_str())
                    .arg(confirmation.hash().as_slice())
                    .arg(millis(now))
                    .arg(MAX_VERIFIER_FAILURES)
                    .arg(&self.channel)
                    .arg(URL_SAFE_NO_PAD.encode(key));
                Box::pin(async move { call.invoke_async(&mut conn).await })
            })
            .await?;
        Ok(match answer.as_str() {
            "confirmed" => ConfirmOutcome::Confirmed,
            "burned" => ConfirmOutcome::Wrong { burned: true },
            "wrong" => ConfirmOutcome::Wrong { burned: false },
            _ => ConfirmOutcome::Unknown,
        })
    }

    async fn redeem(
        &self,
        txn: &TxnId,
        client: &ClientId,
        verifier: &TxnVerifier,
        now: DateTime<Utc>,
    ) -> Result<Redemption, StoreError> {
        let key = txn.storage_key();
        // The script compares the challenge the verifier answers with the stored
        // one; Lua compares interned strings by identity, in constant time.
        let answer: Vec<Vec<u8>> = self
            .run(|mut conn| {
                let mut call = self.redeem.key(self.txn_key(&key));
                call.arg(client.as_str())
                    .arg(verifier.challenge())
                    .arg(millis(now))
                    .arg(MAX_VERIFIER_FAILURES);
                Box::pin(async move { call.invoke_async(&mut conn).await })
            })
            .await?;
        let mut answer = answer.into_iter();
        Ok(match (answer.next().as_deref(), answer.next()) {
            (Some(b"redeemed"), Some(sealed)) => {
                let json = self
                    .sealer
                    .open(&key, &sealed)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Redemption::Redeemed(
                    serde_json::from_slice(&json)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                )
            }
            (Some(b"unconfirmed"), _) => Redemption::Unconfirmed,
            (Some(b"closed"), _) => Redemption::Closed,
            (Some(b"burned"), _) => Redemption::WrongVerifier { burned: true },
            (Some(b"wrong"), _) => Redemption::WrongVerifier { burned: false },
            _ => Redemption::Unknown,
        })
    }

    async fn wait_for_completion(&self, txn: &TxnId, timeout: Duration) -> Result<(), StoreError> {
        let key = txn.storage_key();
        let subscription = self.wakeups.subscribe(key);
        let redis_key = self.txn_key(&key);
        let mut failure = None;
        let done = async {
            let fields: Result<(Option<String>, Option<String>), _> = self
                .run(|mut conn| {
                    let command = ::redis::cmd("HMGET")
                        .arg(&redis_key)
                        .arg("ok")
                        .arg("closed")
                        .clone();
                    Box::pin(async move { command.query_async(&mut conn).await })
                })
                .await;
            match fields {
                Ok((ok, closed)) => ok.as_deref() == Some("1") || closed.as_deref() == Some("1"),
                Err(err) => {
                    failure = Some(err);
                    true
                }
            }
        };
        subscription.wait_unless(done, timeout.min(RECHECK)).await;
        failure.map_or(Ok(()), Err)
    }

    async fn end_sessions(
        &self,
        key: &str,
        user: &str,
        at: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let redis_key = self.end_key(key);
        let ttl = (until - at).num_milliseconds().max(1) + GRACE_MS;
        let ring = URL_SAFE_NO_PAD.encode(crypto::sha256(user));
        let channel = self.channel.clone();
        self.run(|mut conn| {
            let pipe = ::redis::pipe()
                .atomic()
                .cmd("SET")
                .arg(&redis_key)
                .arg(millis(at))
                .arg("PX")
                .arg(ttl)
                .ignore()
                .cmd("PUBLISH")
                .arg(&channel)
                .arg(&ring)
                .ignore()
                .clone();
            Box::pin(async move { pipe.query_async::<()>(&mut conn).await })
        })
        .await
    }

    async fn ring_sessions(&self, user: &str) -> Result<(), StoreError> {
        let ring = URL_SAFE_NO_PAD.encode(crypto::sha256(user));
        self.run(|mut conn| {
            let command = ::redis::cmd("PUBLISH")
                .arg(&self.channel)
                .arg(&ring)
                .clone();
            Box::pin(async move { command.query_async::<()>(&mut conn).await })
        })
        .await
    }

    async fn session_ended(
        &self,
        keys: &crate::store::SessionKeys,
        started: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (session, user) = (self.end_key(&keys.session), self.end_key(&keys.user));
        let (session, user): (Option<i64>, Option<i64>) = self
            .run(|mut conn| {
                let command = ::redis::cmd("MGET").arg(&session).arg(&user).clone();
                Box::pin(async move { command.query_async(&mut conn).await })
            })
            .await?;
        Ok(session.is_some() || user.is_some_and(|at| at >= millis(started)))
    }

    async fn wait_for_session_end(
        &self,
        keys: &crate::store::SessionKeys,
        started: DateTime<Utc>,
        timeout: Duration,
    ) -> Result<(), StoreError> {
        let subscription = self.wakeups.subscribe(crypto::sha256(&keys.user));
        let mut failure = None;
        let done = async {
            match self.session_ended(keys, started).await {
                Ok(ended) => ended,
                Err(err) => {
                    failure = Some(err);
                    true
                }
            }
        };
        subscription.wait_unless(done, timeout.min(RECHECK)).await;
        failure.map_or(Ok(()), Err)
    }

    async fn put_once(
        &self,
        key: &str,
        value: &[u8],
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let redis_key = self.hashed_key("once", key);
        // Redis forgets it a while after its end; the script judges the end.
        let ttl = (until - now).num_milliseconds().max(1) + ONE_TIME_KEPT.num_milliseconds();
        let stored: i64 = self
            .run(|mut conn| {
                let mut call = self.put_once.key(&redis_key);
                call.arg(value).arg(millis(until)).arg(ttl);
                Box::pin(async move { call.invoke_async(&mut conn).await })
            })
            .await?;
        Ok(stored == 1)
    }

    async fn take_once(&self, key: &str, now: DateTime<Utc>) -> Result<OneTime, StoreError> {
        let redis_key = self.hashed_key("once", key);
        let answer: Vec<Vec<u8>> = self
            .run(|mut conn| {
                let mut call = self.take_once.key(&redis_key);
                call.arg(millis(now));
                Box::pin(async move { call.invoke_async(&mut conn).await })
            })
            .await?;
        let mut answer = answer.into_iter();
        Ok(match (answer.next().as_deref(), answer.next()) {
            (Some(b"taken"), Some(value)) => OneTime::Taken(value),
            (Some(b"used"), _) => OneTime::Used,
            (Some(b"expired"), _) => OneTime::Expired,
            _ => OneTime::Unknown,
        })
    }

    async fn peek_once(
        &self,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let redis_key = self.hashed_key("once", key);
        let (value, until, used): (Option<Vec<u8>>, Option<i64>, Option<String>) = self
            .run(|mut conn| {
                let key = redis_key.clone();
                Box::pin(async move {
                    ::redis::cmd("HMGET")
                        .arg(key)
                        .arg("v")
                        .arg("u")
                        .arg("used")
                        .query_async(&mut conn)
                        .await
                })
            })
            .await?;
        Ok(value.filter(|_| used.is_none() && until.is_some_and(|u| u > millis(now))))
    }

    async fn claim_slot(
        &self,
        slot: &str,
        holder: &str,
        replace: bool,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<SlotClaim, StoreError> {
        let redis_key = self.hashed_key("slot", slot);
        let ttl = (until - now).num_milliseconds().max(1) + GRACE_MS;
        let answer: Vec<String> = self
            .run(|mut conn| {
                let mut call = self.claim_slot.key(&redis_key);
                call.arg(holder)
                    .arg(if replace { "1" } else { "0" })
                    .arg(millis(until))
                    .arg(millis(now))
                    .arg(ttl);
                Box::pin(async move { call.invoke_async(&mut conn).await })
            })
            .await?;
        let mut answer = answer.into_iter();
        Ok(match (answer.next().as_deref(), answer.next()) {
            (Some("claimed"), displaced) => SlotClaim::Claimed {
                displaced: displaced.filter(|d| !d.is_empty()),
            },
            _ => SlotClaim::Held,
        })
    }

    async fn slot_holder(
        &self,
        slot: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let redis_key = self.hashed_key("slot", slot);
        let (holder, until): (Option<String>, Option<i64>) = self
            .run(|mut conn| {
                let command = ::redis::cmd("HMGET")
                    .arg(&redis_key)
                    .arg("h")
                    .arg("u")
                    .clone();
                Box::pin(async move { command.query_async(&mut conn).await })
            })
            .await?;
        Ok(holder.filter(|_| until.is_some_and(|u| u > millis(now))))
    }

    async fn release_slot(&self, slot: &str, holder: &str) -> Result<bool, StoreError> {
        let redis_key = self.hashed_key("slot", slot);
        let released: i64 = self
            .run(|mut conn| {
                let mut call = self.release_slot.key(&redis_key);
                call.arg(holder);
                Box::pin(async move { call.invoke_async(&mut conn).await })
            })
            .await?;
        Ok(released == 1)
    }

    async fn purge_expired(&self, _now: DateTime<Utc>) -> Result<u64, StoreError> {
        // Redis expires the keys itself.
        Ok(0)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.run(|mut conn| {
            Box::pin(async move { ::redis::cmd("PING").query_async::<String>(&mut conn).await })
        })
        .await
        .map(|_| ())
    }
}
