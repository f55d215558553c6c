//! Storage behind traits. Durable data (realms, clients, directory, callers,
//! admin tokens, audit) lives in SQLite, the embedded default, or PostgreSQL;
//! ephemeral login state ([`LoginStore`], [`RateStore`]) lives in this process
//! ([`memory`]) or in Redis, shared by several replicas, including the wake-up
//! that lets `/api/handoff/wait` answer the moment a login completes.
//!
//! Store errors never expose the driver's types.

pub mod directory_cache;
pub mod kept_marks;
pub mod memory;
pub mod postgres;
pub mod redis;
pub mod resources;
mod rows;
pub mod sealing_key;
pub mod sqlite;
pub mod tenants;
pub mod wakeup;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{
    CallerId, CallerPolicy, Client, ClientId, Confirmation, LoginOutcome, Realm, RealmName,
    Resolution, Rule, RuleKey, TxnChallenge, TxnId, TxnVerifier, Username,
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
    #[error("{0}")]
    /// The sealing keys are missing or do not open what is stored; says which
    /// file or setting and what to do.
    Sealing(String),
    #[error("{0}")]
    /// This backend does not do that; says what to use instead.
    Unsupported(String),
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
    /// Stores an admin token by the SHA-256 of its value (unique).
    async fn put_admin_token(&self, token: &StoredAdminToken) -> Result<(), StoreError>;
    /// The admin token with this hash, expired or not.
    async fn admin_token(&self, hash: [u8; 32]) -> Result<Option<StoredAdminToken>, StoreError>;
    /// Every admin token, oldest first.
    async fn admin_tokens(&self) -> Result<Vec<StoredAdminToken>, StoreError>;
    /// Sets when the token stops working; `false` when there is none.
    async fn expire_admin_token(
        &self,
        hash: [u8; 32],
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Removes the token; `false` when there was none.
    async fn delete_admin_token(&self, hash: [u8; 32]) -> Result<bool, StoreError>;
}

/// An admin token as stored: only the SHA-256 of its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAdminToken {
    /// The SHA-256 of the token.
    pub hash: [u8; 32],
    /// Who holds it, as the audit trail names them (`admin:<label>`).
    pub label: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops working, if it does.
    pub expires_at: Option<DateTime<Utc>>,
}

impl StoredAdminToken {
    /// Whether the token works at `now`.
    #[must_use]
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|end| now < end)
    }
}

/// Which audit rows to read: every filter that is set must match.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// At or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Before this time.
    pub until: Option<DateTime<Utc>>,
    /// This actor exactly (`caller:billing`, `admin:ops`, `cli:alice`).
    pub actor: Option<String>,
    /// This action, or every action under it (`client` matches `client.create`).
    pub action: Option<String>,
    /// This outcome (`changed`, `issued`, `denied`, ...).
    pub outcome: Option<String>,
    /// At most this many rows, oldest first.
    pub limit: u32,
}

impl AuditFilter {
    /// The `LIKE` pattern of the actions under `action` (`%` and `_` escaped
    /// with `\\`).
    #[must_use]
    pub fn action_prefix(&self) -> Option<String> {
        self.action.as_ref().map(|a| {
            let escaped = a
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("{escaped}.%")
        })
    }
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
    /// The rows `filter` matches, oldest first.
    async fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError>;
}

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

/// A stored document: a small JSON body of one kind (a tenant, a host's key),
/// found by id or by owner, with an optional secret sealed under `kind:id`.
#[derive(Debug, Clone)]
pub struct Document {
    /// Its id, unique within its kind.
    pub id: String,
    /// What it belongs to (a tenant id), for listing.
    pub owner: String,
    /// The JSON body.
    pub body: String,
    /// A secret, in clear here, sealed at rest.
    pub secret: Option<secrecy::SecretSlice<u8>>,
}

/// Documents of a few kinds (the typed layer is [`tenants::TenantStore`]). Writes
/// replace whole documents; there are few, and they change rarely.
#[async_trait]
pub trait DocumentStore: Send + Sync {
    /// Inserts or replaces a document.
    async fn put_document(&self, kind: &'static str, doc: &Document) -> Result<(), StoreError>;
    /// Inserts a document only if none of that kind and id exists; `false`,
    /// writing nothing, when one does. Atomic: of two racing inserts one wins.
    async fn create_document(&self, kind: &'static str, doc: &Document)
    -> Result<bool, StoreError>;
    /// The document of `kind` with `id`.
    async fn document(&self, kind: &'static str, id: &str) -> Result<Option<Document>, StoreError>;
    /// Every document of `kind` (of one owner, when given), by id.
    async fn documents(
        &self,
        kind: &'static str,
        owner: Option<&str>,
    ) -> Result<Vec<Document>, StoreError>;
    /// Removes a document; `false` when there was none.
    async fn delete_document(&self, kind: &'static str, id: &str) -> Result<bool, StoreError>;
}

/// Every durable trait at once: what a durable backend (SQLite, PostgreSQL) is.
#[async_trait]
pub trait DurableStore:
    RegistryStore + DirectoryStore + AccessStore + AuditLog + DocumentStore
{
    /// Whether the store answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Every value sealed at rest (realm and client secrets, documents' secrets).
    async fn sealed_secrets(&self) -> Result<Vec<SealedSecret>, StoreError>;

    /// Writes values sealed again, each `(secret, new)` only where the row still
    /// holds `secret.sealed` (a concurrent change wins); how many were written.
    async fn replace_sealed(
        &self,
        values: Vec<(SealedSecret, Vec<u8>)>,
    ) -> Result<usize, StoreError>;

    /// Records this store's operations in `metrics` from now on.
    fn observe(&self, metrics: Arc<crate::observe::metrics::Metrics>) {
        let _ = metrics;
    }

    /// A consistent copy of the whole database at `to`, taken while serving
    /// (SQLite's online backup). PostgreSQL answers [`StoreError::Unsupported`]:
    /// its own tools (`pg_dump`, base backups) do this better.
    async fn backup_to(&self, to: &std::path::Path) -> Result<(), StoreError>;
}

/// A backend's store metrics, set once the service's metrics exist (the CLI
/// has none).
pub struct Observed {
    backend: &'static str,
    metrics: std::sync::OnceLock<Arc<crate::observe::metrics::Metrics>>,
}

impl Observed {
    #[must_use]
    /// No metrics yet, for `backend`.
    pub fn new(backend: &'static str) -> Self {
        Self {
            backend,
            metrics: std::sync::OnceLock::new(),
        }
    }

    /// Records into `metrics` from now on.
    pub fn set(&self, metrics: Arc<crate::observe::metrics::Metrics>) {
        let _ = self.metrics.set(metrics);
    }

    /// Records one operation started at `started`.
    pub fn record(&self, operation: &'static str, started: std::time::Instant, failed: bool) {
        if let Some(metrics) = self.metrics.get() {
            metrics.store_call(self.backend, operation, started.elapsed(), failed);
        }
    }
}

/// The tables that hold sealed values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedTable {
    /// `realms.broker_secret`, keyed by realm name.
    Realm,
    /// `clients.secret`, keyed by client id.
    Client,
    /// `documents.secret`, keyed by kind and id.
    Document,
}

/// One sealed value at rest and where it lives.
#[derive(Debug, Clone)]
pub struct SealedSecret {
    /// Its table.
    pub table: SealedTable,
    /// The row's key (realm name, client id, document kind).
    pub key: String,
    /// The document's id (empty for realms and clients).
    pub sub_key: String,
    /// The sealed bytes.
    pub sealed: Vec<u8>,
}

/// Why a sealing key must be configured when the stores are shared (said of
/// `store.sealing_keys`).
pub const SHARED_STORES_NEED_A_KEY: &str = "is required with store.postgres_url or store.redis_url: every replica must seal and open with the same keys (make one with `authproxy generate-sealing-key`)";

/// Where the data lives, as configured (`[store]`). Secrets print redacted.
#[derive(Debug)]
pub struct StoreSettings {
    /// The SQLite file, when there is no PostgreSQL.
    pub sqlite_path: PathBuf,
    /// PostgreSQL, for the durable data of several replicas.
    pub postgres_url: Option<secrecy::SecretString>,
    /// Redis, for the ephemeral state of several replicas.
    pub redis_url: Option<secrecy::SecretString>,
    /// The prefix of every Redis key.
    pub redis_prefix: String,
    /// The sealing keys, newest first, when configured (required with
    /// PostgreSQL or Redis); else the key file beside the SQLite database.
    pub sealing_keys: Vec<secrecy::SecretString>,
}

/// The opened stores.
pub struct Stores {
    /// The durable data.
    pub durable: Arc<dyn DurableStore>,
    /// Logins in flight.
    pub logins: Arc<dyn LoginStore>,
    /// Shared token buckets (with Redis), else none: each process counts alone.
    pub rates: Option<Arc<dyn RateStore>>,
    /// The key that seals secrets at rest and pending logins in cookies.
    pub sealer: crate::crypto::Sealer,
}

impl StoreSettings {
    /// Whether another process may serve the same data: a backend other than
    /// the embedded SQLite file.
    #[must_use]
    pub fn is_shared(&self) -> bool {
        self.postgres_url.is_some() || self.redis_url.is_some()
    }

    /// Where the sealing keys come from: the configured ones, or (a single node
    /// on SQLite only) the key file beside the database.
    pub fn key_source(&self) -> Result<sealing_key::KeySource, StoreError> {
        if !self.sealing_keys.is_empty() {
            return Ok(sealing_key::KeySource::Configured(
                self.sealing_keys.clone(),
            ));
        }
        if self.is_shared() {
            return Err(StoreError::Sealing(format!(
                "store.sealing_keys {SHARED_STORES_NEED_A_KEY}"
            )));
        }
        Ok(sealing_key::KeySource::File(sealing_key::KeyFile::beside(
            &self.sqlite_path,
        )))
    }

    /// Opens the durable store (applying its migrations) with its sealing keys,
    /// checked against what it holds.
    pub async fn open_durable(
        &self,
        clock: &Arc<dyn crate::clock::Clock>,
    ) -> Result<(Arc<dyn DurableStore>, crate::crypto::Sealer), StoreError> {
        let keyring = self.key_source()?.load(clock)?;
        let sealer = keyring.sealer.clone();
        let store: Arc<dyn DurableStore> = match &self.postgres_url {
            Some(url) => Arc::new(postgres::PostgresStore::open(url, sealer).await?),
            None => Arc::new(sqlite::SqliteStore::open(&self.sqlite_path, sealer)?),
        };
        let sealer = keyring.verify(store.as_ref()).await?;
        Ok((store, sealer))
    }

    /// Opens every store.
    pub async fn open(&self, clock: &Arc<dyn crate::clock::Clock>) -> Result<Stores, StoreError> {
        let (durable, sealer) = self.open_durable(clock).await?;
        let (logins, rates): (Arc<dyn LoginStore>, Option<Arc<dyn RateStore>>) =
            match &self.redis_url {
                Some(url) => {
                    let redis = Arc::new(
                        redis::RedisStore::open(url, &self.redis_prefix, sealer.clone()).await?,
                    );
                    (Arc::clone(&redis) as _, Some(redis as _))
                }
                // Without Redis, the marks a restart must not forget are kept in
                // the durable store (docs/src/operate/replicas.md, "What is durable where").
                None => (
                    Arc::new(kept_marks::KeptMarks::open(Arc::clone(&durable), clock.now()).await?),
                    None,
                ),
            };
        Ok(Stores {
            durable,
            logins,
            rates,
            sealer,
        })
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
