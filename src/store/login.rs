//! The ephemeral login state every replica shares ([`LoginStore`]): logins in
//! flight and their outcomes, one-time values, used states, session end marks
//! and slots, with the wake-ups that answer long polls; and the token buckets
//! of the rate limits ([`RateStore`]).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::domain::{ClientId, Confirmation, LoginOutcome, TxnChallenge, TxnId, TxnVerifier};

/// What a redemption attempt found.
#[derive(Clone)]
pub enum Redemption {
    /// The outcome, now removed from the store.
    Redeemed(LoginOutcome),
    /// The verifier is right and the login has completed, but nobody confirmed it
    /// yet: neither a page of the registered origin nor the user in the broker's
    /// window. The outcome stays where it is.
    Unconfirmed,
    /// The verifier is wrong; `burned` when the login is discarded now.
    WrongVerifier {
        /// Whether the login is discarded now.
        burned: bool,
    },
    /// Already redeemed, or burnt by wrong verifiers.
    Closed,
    /// No completed login for this txn and client: not completed (yet), expired,
    /// or started by another client.
    Unknown,
}

/// What a confirmation attempt found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmOutcome {
    /// Confirmed now (or already): the outcome may be redeemed.
    Confirmed,
    /// The confirmation is wrong; `burned` when the login is discarded now.
    Wrong {
        /// Whether the login is discarded now.
        burned: bool,
    },
    /// No completed, unredeemed login with this txn and client.
    Unknown,
}

/// A finished login as the callback hands it to the store: the outcome, and what
/// releases it (the opener's challenge and the completion page's confirmation).
pub struct CompletedLogin<'a> {
    /// The client that started the login; only it may confirm and redeem.
    pub client_id: &'a ClientId,
    /// The challenge of the opener's transaction verifier.
    pub txn_challenge: &'a TxnChallenge,
    /// The outcome.
    pub outcome: &'a LoginOutcome,
    /// The one-time value that releases the outcome.
    pub confirmation: &'a Confirmation,
    /// When the outcome is discarded unredeemed.
    pub expires_at: DateTime<Utc>,
}

/// How long a one-time value is remembered past its end (to answer
/// [`OneTime::Used`] or [`OneTime::Expired`] rather than not knowing it).
pub const ONE_TIME_KEPT: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// What taking a one-time value found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OneTime {
    /// The value, now used up.
    Taken(Vec<u8>),
    /// Someone took it already.
    Used,
    /// It was there but expired unused.
    Expired,
    /// Nothing of that key (never made, or forgotten since).
    Unknown,
}

/// What a claim on a slot got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotClaim {
    /// The claimant holds it now; `displaced` held it until now.
    Claimed {
        /// The holder replaced, if any.
        displaced: Option<String>,
    },
    /// Another holds it (and the claim did not replace).
    Held,
}

/// The end marks of one embed session: its own, and its user's.
#[derive(Debug, Clone)]
pub struct SessionKeys {
    /// The session's mark.
    pub session: String,
    /// The mark of all of the user's sessions (also the wake-up key).
    pub user: String,
}

/// Login state that lives seconds to minutes: the single-use marks of consumed
/// states and the outcomes waiting for redemption, with the wake-up of
/// `/api/handoff/wait`. Pending logins are not here: they travel sealed in the
/// browser's binding cookie. Ephemeral by design (docs/src/operate/replicas.md): a
/// restart of the store loses outcomes seconds old, never a pending login.
#[async_trait]
pub trait LoginStore: Send + Sync {
    /// Marks `state` as used until `until`; `false` when it already was (a replayed
    /// callback). Atomic: of two requests with one state, exactly one gets `true`.
    async fn use_state(&self, state: &str, until: DateTime<Utc>) -> Result<bool, StoreError>;

    /// Whether `state` is marked used, without marking it: lets a replay be
    /// refused before costlier checks. Only [`LoginStore::use_state`] accepts a
    /// state: `false` here proves nothing.
    async fn was_used(&self, state: &str) -> Result<bool, StoreError>;

    /// Records the outcome of `txn`, releasable once the confirmation is presented
    /// (see [`LoginStore::confirm`]), and wakes anyone waiting for it. `false`,
    /// storing nothing, when `txn` already has an outcome (or had one).
    async fn complete_txn(
        &self,
        txn: &TxnId,
        login: &CompletedLogin<'_>,
    ) -> Result<bool, StoreError>;

    /// Marks the completed `txn` of `client` as confirmed when `confirmation` is
    /// the one its completion page carried, and wakes anyone waiting for it. Wrong
    /// confirmations count against the same allowance as wrong verifiers.
    async fn confirm(
        &self,
        txn: &TxnId,
        client: &ClientId,
        confirmation: &Confirmation,
        now: DateTime<Utc>,
    ) -> Result<ConfirmOutcome, StoreError>;

    /// Checks the verifier and, when the outcome is there and confirmed, removes
    /// and returns it, leaving a tombstone until it would have expired. Atomic:
    /// of two racing redemptions, at most one gets the outcome.
    async fn redeem(
        &self,
        txn: &TxnId,
        client: &ClientId,
        verifier: &TxnVerifier,
        now: DateTime<Utc>,
    ) -> Result<Redemption, StoreError>;

    /// Waits until `txn` has a confirmed outcome (or is closed) or `timeout`
    /// passes, also when `txn` has no outcome yet (the waiting page is usually
    /// faster than the user). May return early; the caller then checks with
    /// [`LoginStore::redeem`].
    async fn wait_for_completion(&self, txn: &TxnId, timeout: Duration) -> Result<(), StoreError>;

    /// Records that the embed sessions under `key` (one session's, or all of a
    /// user's) ended at `at`, keeping the mark until `until`, and wakes the
    /// waiters of `user` (every session of the user checks again).
    async fn end_sessions(
        &self,
        key: &str,
        user: &str,
        at: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Wakes the waiters of `user`'s sessions without ending them (their profile
    /// changed).
    async fn ring_sessions(&self, user: &str) -> Result<(), StoreError>;

    /// Whether the session marked by `keys`, started at `started`, has ended:
    /// its own mark exists, or its user's was set at or after `started`.
    async fn session_ended(
        &self,
        keys: &SessionKeys,
        started: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Waits until the session ends or `timeout` passes (may return early; the
    /// caller checks with [`LoginStore::session_ended`]).
    async fn wait_for_session_end(
        &self,
        keys: &SessionKeys,
        started: DateTime<Utc>,
        timeout: Duration,
    ) -> Result<(), StoreError>;

    /// Keeps `value` under `key` until `until` (the caller's `now` is when it is
    /// made), to be taken once; `false`,
    /// storing nothing, when `key` is taken already (or was, until it expires).
    async fn put_once(
        &self,
        key: &str,
        value: &[u8],
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Takes the value under `key`: the first caller gets it, every later one
    /// [`OneTime::Used`] (until it would have expired). Atomic across replicas.
    async fn take_once(&self, key: &str, now: DateTime<Utc>) -> Result<OneTime, StoreError>;

    /// The value under `key` while it could still be taken (not taken, not
    /// expired), without taking it: to refuse a use that would fail anyway
    /// without using the value up.
    async fn peek_once(&self, key: &str, now: DateTime<Utc>)
    -> Result<Option<Vec<u8>>, StoreError>;

    /// Makes `holder` the one holder of `slot` until `until`: at once when the
    /// slot is free, expired or already `holder`'s; else, with `replace`, in the
    /// place of the holder (who is answered as displaced), without it not at all.
    /// Atomic: of many claims at once, each sees the holder the previous left.
    async fn claim_slot(
        &self,
        slot: &str,
        holder: &str,
        replace: bool,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<SlotClaim, StoreError>;

    /// The holder of `slot` at `now`, if any.
    async fn slot_holder(
        &self,
        slot: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError>;

    /// Frees `slot` if `holder` holds it; whether it did.
    async fn release_slot(&self, slot: &str, holder: &str) -> Result<bool, StoreError>;

    /// Forgets expired marks and outcomes (a backend with its own expiry may do
    /// nothing).
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Whether the store answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Records this store's operations in `metrics` from now on.
    fn observe(&self, metrics: Arc<crate::observe::metrics::Metrics>) {
        let _ = metrics;
    }

    /// Logins in flight (outcomes kept for redemption), when the backend can
    /// count them cheaply; `None` otherwise.
    fn in_flight(&self) -> Option<u64> {
        None
    }
}

/// Token buckets shared by every replica (per client address, per caller).
#[async_trait]
pub trait RateStore: Send + Sync {
    /// Takes a token from the bucket `key` (holding up to `burst`, refilled at
    /// `rate_per_minute`) at `now`: `Ok(None)` when taken, `Ok(Some(wait))` when
    /// empty, with the time until the next token.
    async fn take(
        &self,
        key: &str,
        rate_per_minute: u32,
        burst: u32,
        now: DateTime<Utc>,
    ) -> Result<Option<Duration>, StoreError>;
}
