//! Storage behind traits. The broker's flows see only [`DirectoryStore`] and
//! [`LoginStore`]; the SQLite backend is the embedded default, and other backends
//! (for several replicas) implement the same traits, including the wake-up that
//! lets `/api/handoff/wait` answer the moment a login completes.
//!
//! Store errors never expose the driver's types.

pub mod directory_cache;
pub mod sealing_key;
pub mod sqlite;
pub mod wakeup;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{
    CallerId, CallerPolicy, Client, ClientId, Confirmation, LoginOutcome, PendingLogin, Realm,
    RealmName, Resolution, Rule, RuleKey, TxnId, TxnVerifier, Username,
};

#[derive(Debug, thiserror::Error)]
/// Why the store failed.
pub enum StoreError {
    #[error("the store is unavailable: {0}")]
    /// The store cannot be reached or written.
    Unavailable(String),
    #[error("stored data could not be read: {0}")]
    /// Stored data does not read back.
    Corrupt(String),
}

/// Rules to import, read one at a time (for example straight from a CSV file).
pub type Rules = Box<dyn Iterator<Item = Rule> + Send>;

/// The user directory.
#[async_trait]
pub trait DirectoryStore: Send + Sync {
    /// Resolves a username: exact user, then email domain, then the default.
    async fn resolve(&self, user: &Username) -> Result<Resolution, StoreError>;

    /// Inserts or replaces rules in one transaction; with `replace`, the directory
    /// is emptied first, in the same transaction. The rules are consumed as they
    /// are written, so a large import is never held in memory as a whole.
    async fn import_rules(&self, rules: Rules, replace: bool) -> Result<u64, StoreError>;

    /// Removes the rule with `key`; `false` when there was none.
    async fn delete_rule(&self, key: &RuleKey) -> Result<bool, StoreError>;

    /// Every rule, as CSV in the import format.
    async fn export_csv(&self) -> Result<String, StoreError>;

    /// A number that changes whenever the directory does, whichever process
    /// changed it (the service or the CLI).
    async fn directory_version(&self) -> Result<i64, StoreError>;
}

/// Realms and clients, changed by administrators while the service runs. Every
/// change bumps a version, which running services watch to reload.
#[async_trait]
pub trait RegistryStore: Send + Sync {
    /// Every realm.
    async fn realms(&self) -> Result<Vec<Realm>, StoreError>;
    /// Every client.
    async fn clients(&self) -> Result<Vec<Client>, StoreError>;
    /// The version, bumped by every change.
    async fn registry_version(&self) -> Result<i64, StoreError>;
    /// Adds or replaces a realm.
    async fn put_realm(&self, realm: &Realm) -> Result<(), StoreError>;
    /// Removes a realm; `false` when there was none.
    async fn delete_realm(&self, name: &RealmName) -> Result<bool, StoreError>;
    /// Adds or replaces a client.
    async fn put_client(&self, client: &Client) -> Result<(), StoreError>;
    /// Removes a client; `false` when there was none.
    async fn delete_client(&self, id: &ClientId) -> Result<bool, StoreError>;
}

/// A caller as stored: its secret only as an Argon2id hash (PHC string).
#[derive(Debug, Clone)]
pub struct StoredCaller {
    /// The caller's id.
    pub id: CallerId,
    /// The Argon2id hash of its secret.
    pub secret_hash: String,
    /// Its policy.
    pub policy: CallerPolicy,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// Callers of the impersonation endpoint and the administrators' tokens.
#[async_trait]
pub trait AccessStore: Send + Sync {
    /// Inserts or replaces a caller.
    async fn put_caller(&self, caller: &StoredCaller) -> Result<(), StoreError>;
    /// The caller with `id`.
    async fn caller(&self, id: &CallerId) -> Result<Option<StoredCaller>, StoreError>;
    /// Every caller.
    async fn callers(&self) -> Result<Vec<StoredCaller>, StoreError>;
    /// Removes a caller; `false` when there was none.
    async fn delete_caller(&self, id: &CallerId) -> Result<bool, StoreError>;
    /// Stores an admin token by the SHA-256 of its value.
    async fn put_admin_token(
        &self,
        hash: [u8; 32],
        label: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// The label of the admin token with this hash, if it exists.
    async fn admin_token(&self, hash: [u8; 32]) -> Result<Option<String>, StoreError>;
}

/// One audit row. Tokens never appear, only their `jti` and expiry.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// `caller:<id>`, `admin:<label>` or `anonymous`.
    pub actor: String,
    /// What (`impersonation`, `client.create`, ...).
    pub action: String,
    /// On what, or whom.
    pub subject: Option<String>,
    /// In which realm.
    pub realm: Option<String>,
    /// For which audience.
    pub audience: Option<String>,
    /// `granted`, `denied`, `failed` or `changed`.
    pub outcome: String,
    /// Why it was refused.
    pub reason: Option<String>,
    /// The client address.
    pub source: Option<String>,
    /// The request id.
    pub request_id: Option<String>,
    /// The issued token's `jti`.
    pub token_jti: Option<String>,
    /// When the issued token expires.
    pub token_expires_at: Option<DateTime<Utc>>,
}

/// The append-only audit trail.
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends a row.
    async fn append(&self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// Rows since `since` (all when `None`), optionally of one actor, oldest first.
    async fn audit_since(
        &self,
        since: Option<DateTime<Utc>>,
        actor: Option<&str>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError>;
}

/// What a redemption attempt found.
#[derive(Clone)]
pub enum Redemption {
    /// The outcome, now removed from the store.
    Redeemed(LoginOutcome),
    /// The verifier is right but the login has not completed yet.
    Pending,
    /// The verifier is right and the login has completed, but nobody confirmed it
    /// yet: neither a page of the registered origin nor the user in the broker's
    /// window. The outcome stays where it is.
    Unconfirmed,
    /// Wrong verifier; `burned` when this attempt used up the allowance.
    /// The verifier is wrong; `burned` when the login is discarded now.
    WrongVerifier {
        /// Whether the login is discarded now.
        burned: bool,
    },
    /// Already redeemed, or burnt by wrong verifiers.
    Closed,
    /// No such transaction: not started (yet), or expired.
    Unknown,
}

/// What a confirmation attempt found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfirmOutcome {
    /// Confirmed now (or already): the outcome may be redeemed.
    Confirmed,
    /// Wrong confirmation; `burned` when this attempt used up the allowance.
    /// The confirmation is wrong; `burned` when the login is discarded now.
    Wrong {
        /// Whether the login is discarded now.
        burned: bool,
    },
    /// No completed, unredeemed transaction with this id.
    Unknown,
}

/// Logins in flight and their outcomes.
#[async_trait]
pub trait LoginStore: Send + Sync {
    /// Starts a login, in one write: opens its txn and stores the pending login
    /// under the hash of `state`. Returns `false`, storing nothing, when the txn is
    /// already in use with another challenge or client, or finished (the caller
    /// must pick a new one). A reloaded popup repeating its `/login` reuses its txn.
    async fn begin_login(&self, state: &str, login: &PendingLogin) -> Result<bool, StoreError>;

    /// Removes and returns the pending login for `state`; a second call finds
    /// nothing. Expiry is the caller's to check.
    async fn take_pending(&self, state: &str) -> Result<Option<PendingLogin>, StoreError>;

    /// Records the outcome of `txn`, releasable once `confirmation` is presented
    /// (see [`LoginStore::confirm`]), and wakes anyone waiting for it.
    async fn complete_txn(
        &self,
        txn: &TxnId,
        outcome: &LoginOutcome,
        confirmation: &Confirmation,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Marks the completed `txn` as confirmed when `confirmation` is the one its
    /// completion page carried, and wakes anyone waiting for it. Wrong
    /// confirmations count against the same allowance as wrong verifiers.
    async fn confirm(
        &self,
        txn: &TxnId,
        confirmation: &Confirmation,
        now: DateTime<Utc>,
    ) -> Result<ConfirmOutcome, StoreError>;

    /// The client that started `txn`, if the transaction is live.
    async fn txn_client(
        &self,
        txn: &TxnId,
        now: DateTime<Utc>,
    ) -> Result<Option<ClientId>, StoreError>;

    /// Checks the verifier and, when the outcome is there and confirmed, removes
    /// and returns it.
    async fn redeem(
        &self,
        txn: &TxnId,
        verifier: &TxnVerifier,
        now: DateTime<Utc>,
    ) -> Result<Redemption, StoreError>;

    /// Waits until `txn` has a confirmed outcome (or is closed) or `timeout`
    /// passes, also when `txn` has not
    /// been opened yet (the waiting page may be faster than the popup). May return
    /// early; the caller then checks with [`LoginStore::redeem`].
    async fn wait_for_completion(&self, txn: &TxnId, timeout: Duration) -> Result<(), StoreError>;

    /// Deletes expired pending logins and transactions.
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Whether the store answers.
    async fn ping(&self) -> Result<(), StoreError>;
}
