//! Storage behind traits. The broker's flows see only [`DirectoryStore`] and
//! [`LoginStore`]; the SQLite backend is the embedded default, and other backends
//! (for several replicas) implement the same traits, including the wake-up that
//! lets `/api/handoff/wait` answer the moment a login completes.
//!
//! Store errors never expose the driver's types.

pub mod sealing_key;
pub mod sqlite;
pub mod wakeup;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{
    ClientId, LoginOutcome, PendingLogin, Resolution, Rule, TxnChallenge, TxnId, TxnVerifier,
    Username,
};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    #[error("stored data could not be read: {0}")]
    Corrupt(String),
    #[error("row {line}: {message}")]
    InvalidRow { line: u64, message: String },
}

/// The user directory.
#[async_trait]
pub trait DirectoryStore: Send + Sync {
    /// Resolves a username: exact user, then email domain, then the default.
    async fn resolve(&self, user: &Username) -> Result<Resolution, StoreError>;

    /// Inserts or replaces rules, all in one transaction.
    async fn upsert_rules(&self, rules: Vec<Rule>) -> Result<usize, StoreError>;
}

/// What a redemption attempt found.
#[derive(Clone)]
pub enum Redemption {
    /// The outcome, now removed from the store.
    Redeemed(LoginOutcome),
    /// The verifier is right but the login has not completed yet.
    Pending,
    /// Wrong verifier; `burned` when this attempt used up the allowance.
    WrongVerifier { burned: bool },
    /// Already redeemed, or burnt by wrong verifiers.
    Closed,
    /// No such transaction: not started (yet), or expired.
    Unknown,
}

/// Logins in flight and their outcomes.
#[async_trait]
pub trait LoginStore: Send + Sync {
    /// Opens a transaction for `txn`. Returns `false` if the id is already in use
    /// with another challenge or client (the caller must pick a new one).
    async fn open_txn(
        &self,
        txn: &TxnId,
        client: &ClientId,
        challenge: &TxnChallenge,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Stores a pending login under the hash of its `state`.
    async fn put_pending(&self, state: &str, login: &PendingLogin) -> Result<(), StoreError>;

    /// Removes and returns the pending login for `state`; a second call finds
    /// nothing. Expiry is the caller's to check.
    async fn take_pending(&self, state: &str) -> Result<Option<PendingLogin>, StoreError>;

    /// Records the outcome of `txn` and wakes anyone waiting for it.
    async fn complete_txn(
        &self,
        txn: &TxnId,
        outcome: &LoginOutcome,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The client that started `txn`, if the transaction is live.
    async fn txn_client(
        &self,
        txn: &TxnId,
        now: DateTime<Utc>,
    ) -> Result<Option<ClientId>, StoreError>;

    /// Checks the verifier and, when the outcome is there, removes and returns it.
    async fn redeem(
        &self,
        txn: &TxnId,
        verifier: &TxnVerifier,
        now: DateTime<Utc>,
    ) -> Result<Redemption, StoreError>;

    /// Waits until `txn` completes or `timeout` passes, also when `txn` has not
    /// been opened yet (the waiting page may be faster than the popup). May return
    /// early; the caller then checks with [`LoginStore::redeem`].
    async fn wait_for_completion(&self, txn: &TxnId, timeout: Duration) -> Result<(), StoreError>;

    /// Deletes expired pending logins and transactions.
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Whether the store answers.
    async fn ping(&self) -> Result<(), StoreError>;
}
