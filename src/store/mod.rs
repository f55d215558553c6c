//! Storage behind traits. Durable data (realms, clients, directory, callers,
//! admin tokens, audit) lives in SQLite, the embedded default, or PostgreSQL;
//! ephemeral login state ([`LoginStore`], [`RateStore`]) lives in this process
//! ([`memory`]) or in Redis, shared by several replicas, including the wake-up
//! that lets `/api/handoff/wait` answer the moment a login completes.
//!
//! Store errors never expose the driver's types.

mod audit;
pub mod directory_cache;
pub mod kept_marks;
mod login;
pub mod memory;
pub mod postgres;
pub mod redis;
pub mod resources;
mod rows;
pub mod sealing_key;
pub mod seeded;
pub mod sqlite;
pub mod tenants;
pub mod wakeup;

pub use audit::{AuditEntry, AuditFilter, AuditLog, AuditOutcome};
pub use login::{
    CompletedLogin, ConfirmOutcome, LoginStore, ONE_TIME_KEPT, OneTime, RateStore, Redemption,
    SessionKeys, SlotClaim,
};

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{
    CallerId, CallerPolicy, Client, ClientId, Realm, RealmName, Resolution, Rule, RuleKey, Username,
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

    /// The rule with exactly `key` (no fallback to a domain or the default).
    async fn rule(&self, key: &RuleKey) -> Result<Option<crate::domain::Target>, StoreError>;

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
