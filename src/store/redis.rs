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

use std::sync::Arc;
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, Script};
use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use futures_util::StreamExt as _;
use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret as _, SecretString};

use super::wakeup::Wakeups;
use super::{
    CompletedLogin, ConfirmOutcome, LoginStore, ONE_TIME_KEPT, OneTime, RateStore, Redemption,
    SlotClaim, StoreError,
};
use crate::crypto::{self, Sealer};
use crate::domain::login::{MAX_VERIFIER_FAILURES, OUTCOME_LIFETIME, PENDING_LOGIN_LIFETIME};
use crate::domain::{ClientId, Confirmation, TxnId, TxnVerifier};

/// The longest a waiter trusts the doorbell before checking the store again.
pub const RECHECK: Duration = Duration::from_secs(5);
/// How long Redis keeps what the scripts no longer accept, past its expiry.
const GRACE_MS: i64 = 60_000;

const COMPLETE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'c', ARGV[1], 'ch', ARGV[2], 'o', ARGV[3], 'cf', ARGV[4], 'x', ARGV[5], 'f', 0, 'ok', 0, 'closed', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('PUBLISH', ARGV[7], ARGV[8])
return 1
";

/// Shared by confirm and redeem: counts a wrong try, burning the login at the
/// allowance. Returns whether it burnt it.
const WRONG_TRY: &str = r"
local function wrong_try(key, max)
  local f = redis.call('HINCRBY', key, 'f', 1)
  if f >= tonumber(max) then
    redis.call('HSET', key, 'closed', 1)
    redis.call('HDEL', key, 'o', 'cf')
    return true
  end
  return false
end
";

const CONFIRM: &str = r"
local r = redis.call('HMGET', KEYS[1], 'c', 'cf', 'x', 'closed')
if not r[1] or r[4] == '1' or r[1] ~= ARGV[1] or tonumber(r[3]) <= tonumber(ARGV[3]) then return 'unknown' end
if r[2] == ARGV[2] then
  redis.call('HSET', KEYS[1], 'ok', 1)
  redis.call('PUBLISH', ARGV[5], ARGV[6])
  return 'confirmed'
end
if wrong_try(KEYS[1], ARGV[4]) then
  redis.call('PUBLISH', ARGV[5], ARGV[6])
  return 'burned'
end
return 'wrong'
";

const REDEEM: &str = r"
local r = redis.call('HMGET', KEYS[1], 'c', 'ch', 'o', 'ok', 'x', 'closed')
if not r[1] or r[1] ~= ARGV[1] or tonumber(r[5]) <= tonumber(ARGV[3]) then return {'unknown'} end
if r[6] == '1' then return {'closed'} end
if r[2] ~= ARGV[2] then
  if wrong_try(KEYS[1], ARGV[4]) then return {'burned'} end
  return {'wrong'}
end
if r[4] ~= '1' then return {'unconfirmed'} end
redis.call('HSET', KEYS[1], 'closed', 1)
redis.call('HDEL', KEYS[1], 'o', 'cf')
return {'redeemed', r[3]}
";

/// A token bucket: tokens and the time of the last take, refilled per millisecond.
const TAKE: &str = r"
local b = redis.call('HMGET', KEYS[1], 't', 'at')
local cap = tonumber(ARGV[1])
local per_ms = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local tokens = tonumber(b[1]) or cap
local at = tonumber(b[2]) or now
tokens = math.min(cap, tokens + math.max(0, now - at) * per_ms)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) / per_ms) end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(cap / per_ms) + 60000)
return wait
";

/// A one-time value: `v` until taken, then `used`; `u` its end.
const PUT_ONCE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'u', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
";

const TAKE_ONCE: &str = r"
local r = redis.call('HMGET', KEYS[1], 'v', 'u', 'used')
if not r[2] then return {'unknown'} end
if r[3] == '1' then return {'used'} end
if tonumber(r[2]) <= tonumber(ARGV[1]) then return {'expired'} end
redis.call('HSET', KEYS[1], 'used', 1)
redis.call('HDEL', KEYS[1], 'v')
return {'taken', r[1]}
";

/// A slot: its holder `h` until `u`.
const CLAIM_SLOT: &str = r"
local r = redis.call('HMGET', KEYS[1], 'h', 'u')
local h = r[1]
if h and tonumber(r[2]) <= tonumber(ARGV[4]) then h = false end
local displaced = ''
if h and h ~= ARGV[1] then
  if ARGV[2] ~= '1' then return {'held'} end
  displaced = h
end
redis.call('HSET', KEYS[1], 'h', ARGV[1], 'u', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {'claimed', displaced}
";

const RELEASE_SLOT: &str = r"
if redis.call('HGET', KEYS[1], 'h') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
";

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
        keys: &super::SessionKeys,
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
        keys: &super::SessionKeys,
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
