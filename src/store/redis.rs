//! The ephemeral store on Redis, shared by several replicas: state marks, login
//! outcomes and token buckets. Every step that reads and then changes a login
//! (complete, confirm, redeem) is one Lua script, so it is atomic across replicas:
//! of two replicas racing to redeem, one gets the outcome and the other the
//! tombstone. Outcomes are sealed (AEAD) under the txn's key before they leave
//! this process; Redis never holds a token, a state or a txn id in clear.
//!
//! Wake-ups: a completion or confirmation publishes the txn's key on one channel;
//! every replica listens and rings its local waiters ([`Wakeups`]). The channel
//! is only a doorbell: a waiter always checks the store again, when rung, when
//! the listener reconnects (it then rings everyone) and at least every
//! [`RECHECK`], so a lost message costs a delay, never a login.
//!
//! Expiry: times come from the caller's (injected) clock and are checked by the
//! scripts; Redis's own TTLs only collect what is long dead.
//!
//! A command whose connection turns out to have dropped is sent once more on a
//! new connection. Should the first one have run after all (its answer lost),
//! the second finds the state used or the outcome taken: the user logs in
//! again; an outcome is never released twice.

mod login;
mod rate;
mod scripts;

use std::sync::Arc;
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, Script};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use futures_util::StreamExt as _;
use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret as _, SecretString};

use super::StoreError;
use super::wakeup::Wakeups;
use crate::crypto::{self, Sealer};
use scripts::{
    CLAIM_SLOT, COMPLETE, CONFIRM, PUT_ONCE, REDEEM, RELEASE_SLOT, TAKE, TAKE_ONCE, WRONG_TRY,
};

/// The longest a waiter trusts the doorbell before checking the store again.
pub const RECHECK: Duration = Duration::from_secs(5);
/// How long Redis keeps what the scripts no longer accept, past its expiry.
const GRACE_MS: i64 = 60_000;

/// Ephemeral login state in Redis.
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
    /// The pub/sub channel of completions: `<prefix>done`.
    channel: String,
    sealer: Sealer,
    wakeups: Arc<Wakeups>,
    complete: Script,
    confirm: Script,
    redeem: Script,
    take: Script,
    put_once: Script,
    take_once: Script,
    claim_slot: Script,
    release_slot: Script,
    listener: tokio::task::JoinHandle<()>,
    metrics: super::Observed,
}

impl Drop for RedisStore {
    fn drop(&mut self) {
        self.listener.abort();
    }
}

fn unavailable(err: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("Redis: {err}"))
}

fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

impl RedisStore {
    /// Connects to `url`; every key starts with `prefix` (several deployments, or
    /// tests, can share one Redis).
    pub async fn open(
        url: &SecretString,
        prefix: &str,
        sealer: Sealer,
    ) -> Result<Self, StoreError> {
        let client = Client::open(url.expose_secret())
            .map_err(|e| StoreError::Unavailable(format!("store.redis_url: {e}")))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(unavailable)?;
        let wakeups = Arc::new(Wakeups::default());
        let channel = format!("{prefix}done");
        let listener = tokio::spawn(listen(client, channel.clone(), Arc::clone(&wakeups)));
        Ok(Self {
            conn,
            prefix: prefix.to_owned(),
            channel,
            sealer,
            wakeups,
            complete: Script::new(COMPLETE),
            confirm: Script::new(&format!("{WRONG_TRY}{CONFIRM}")),
            redeem: Script::new(&format!("{WRONG_TRY}{REDEEM}")),
            take: Script::new(TAKE),
            put_once: Script::new(PUT_ONCE),
            take_once: Script::new(TAKE_ONCE),
            claim_slot: Script::new(CLAIM_SLOT),
            release_slot: Script::new(RELEASE_SLOT),
            listener,
            metrics: super::Observed::new("redis"),
        })
    }

    /// Runs `call` on the shared connection; when that connection turns out to
    /// have dropped (Redis restarted, say), once more on the new one the manager
    /// opens. A command sent on a dropped connection never ran.
    async fn run<'a, T, F>(&'a self, call: F) -> Result<T, StoreError>
    where
        F: Fn(ConnectionManager) -> BoxFuture<'a, ::redis::RedisResult<T>>,
    {
        let started = std::time::Instant::now();
        let result = match call(self.conn.clone()).await {
            Err(err) if err.is_connection_dropped() || err.is_io_error() => {
                tracing::info!(error = %err, "the Redis connection dropped: sending again on a new one");
                call(self.conn.clone()).await.map_err(unavailable)
            }
            other => other.map_err(unavailable),
        };
        self.metrics.record("command", started, result.is_err());
        result
    }

    fn end_key(&self, key: &str) -> String {
        self.hashed_key("ended", key)
    }

    fn hashed_key(&self, kind: &str, key: &str) -> String {
        format!(
            "{}{kind}:{}",
            self.prefix,
            URL_SAFE_NO_PAD.encode(crypto::sha256(key))
        )
    }

    fn txn_key(&self, key: &[u8; 32]) -> String {
        format!("{}txn:{}", self.prefix, URL_SAFE_NO_PAD.encode(key))
    }
}

/// Rings the local waiters of each txn announced on `channel`, reconnecting
/// (and ringing everyone, who then check the store) whenever the subscription
/// breaks.
async fn listen(client: Client, channel: String, wakeups: Arc<Wakeups>) {
    let mut delay = Duration::from_millis(100);
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => {
                if pubsub.subscribe(&channel).await.is_ok() {
                    delay = Duration::from_millis(100);
                    // Whatever was published while we were away.
                    wakeups.ring_all();
                    let mut messages = pubsub.into_on_message();
                    while let Some(message) = messages.next().await {
                        let key: Option<[u8; 32]> = URL_SAFE_NO_PAD
                            .decode(message.get_payload_bytes())
                            .ok()
                            .and_then(|k| k.try_into().ok());
                        if let Some(key) = key {
                            wakeups.ring(&key);
                        }
                    }
                }
                tracing::warn!("the Redis subscription ended: reconnecting");
            }
            Err(err) => tracing::warn!(error = %err, "cannot subscribe to Redis: retrying"),
        }
        wakeups.ring_all();
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}
