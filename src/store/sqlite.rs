//! The embedded default store: one SQLite file in WAL mode. Secrets are never
//! stored in clear: states and transaction ids are keys by their SHA-256, pending
//! logins and outcomes are sealed (AEAD) under those keys. Single use is a
//! `DELETE … RETURNING`, so two requests can never both consume one state. A
//! redeemed or burnt transaction stays as a closed row (without its outcome)
//! until it expires, so "already used" and "not started yet" stay distinct.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{OptionalExtension as _, TransactionBehavior, params};

use super::wakeup::Wakeups;
use super::{DirectoryStore, LoginStore, Redemption, StoreError};
use crate::crypto::{self, Sealer};
use crate::domain::login::MAX_VERIFIER_FAILURES;
use crate::domain::{
    ClientId, IdpAlias, LoginOutcome, PendingLogin, RealmName, Resolution, Rule, RuleKey, Target,
    TxnChallenge, TxnId, TxnVerifier, Username,
};

type Pool = r2d2::Pool<SqliteConnectionManager>;

const SCHEMA_VERSION: i64 = 1;
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS directory_users (
    username TEXT PRIMARY KEY NOT NULL, realm TEXT, idp_hint TEXT) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS directory_domains (
    domain TEXT PRIMARY KEY NOT NULL, realm TEXT, idp_hint TEXT) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS directory_default (
    id INTEGER PRIMARY KEY CHECK (id = 1), realm TEXT, idp_hint TEXT);
CREATE TABLE IF NOT EXISTS pending_logins (
    state_hash BLOB PRIMARY KEY NOT NULL, sealed BLOB NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS pending_logins_expiry ON pending_logins (expires_at);
CREATE TABLE IF NOT EXISTS transactions (
    txn_hash BLOB PRIMARY KEY NOT NULL, client_id TEXT NOT NULL, challenge TEXT NOT NULL,
    outcome BLOB, failures INTEGER NOT NULL DEFAULT 0, closed INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS transactions_expiry ON transactions (expires_at);
";

/// The SQLite-backed store.
#[derive(Clone)]
pub struct SqliteStore {
    pool: Pool,
    sealer: Sealer,
    wakeups: Arc<Wakeups>,
}

fn unavailable(err: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(err.to_string())
}

fn corrupt(err: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(err.to_string())
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path, sealer: Sealer) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(unavailable)?;
        }
        let manager = SqliteConnectionManager::file(path).with_init(|conn| {
            conn.execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
                 PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
            )
        });
        let pool = r2d2::Pool::builder()
            .max_size(8)
            .connection_timeout(Duration::from_secs(5))
            .build(manager)
            .map_err(unavailable)?;
        let store = Self {
            pool,
            sealer,
            wakeups: Arc::new(Wakeups::default()),
        };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let conn = self.pool.get().map_err(unavailable)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(unavailable)?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::Corrupt(format!(
                "the database has schema version {version}, newer than this build's {SCHEMA_VERSION}; upgrade authproxy"
            )));
        }
        conn.execute_batch(SCHEMA).map_err(unavailable)?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(unavailable)?;
        Ok(())
    }

    async fn blocking<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut rusqlite::Connection, &Sealer) -> Result<T, StoreError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let sealer = self.sealer.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(unavailable)?;
            work(&mut conn, &sealer)
        })
        .await
        .map_err(unavailable)?
    }

    /// Imports rules in one transaction: the first bad row (an `Err` from `rows`)
    /// rolls everything back. With `replace`, the directory is emptied first.
    pub fn import<I>(&self, rows: I, replace: bool) -> Result<u64, StoreError>
    where
        I: IntoIterator<Item = Result<Rule, StoreError>>,
    {
        let mut conn = self.pool.get().map_err(unavailable)?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(unavailable)?;
        if replace {
            tx.execute_batch(
                "DELETE FROM directory_users; DELETE FROM directory_domains; DELETE FROM directory_default;",
            )
            .map_err(unavailable)?;
        }
        let mut count = 0;
        {
            let mut writer = RuleWriter::new(&tx)?;
            for row in rows {
                writer.write(&row?)?;
                count += 1;
            }
        }
        tx.commit().map_err(unavailable)?;
        Ok(count)
    }
}

/// Prepared statements for writing rules inside one transaction.
struct RuleWriter<'a> {
    user: rusqlite::Statement<'a>,
    domain: rusqlite::Statement<'a>,
    default: rusqlite::Statement<'a>,
}

impl<'a> RuleWriter<'a> {
    fn new(tx: &'a rusqlite::Transaction<'a>) -> Result<Self, StoreError> {
        Ok(Self {
            user: tx
                .prepare("INSERT OR REPLACE INTO directory_users (username, realm, idp_hint) VALUES (?1, ?2, ?3)")
                .map_err(unavailable)?,
            domain: tx
                .prepare("INSERT OR REPLACE INTO directory_domains (domain, realm, idp_hint) VALUES (?1, ?2, ?3)")
                .map_err(unavailable)?,
            default: tx
                .prepare("INSERT OR REPLACE INTO directory_default (id, realm, idp_hint) VALUES (1, ?1, ?2)")
                .map_err(unavailable)?,
        })
    }

    fn write(&mut self, rule: &Rule) -> Result<(), StoreError> {
        let (realm, hint) = match &rule.target {
            Target::Sso { realm, idp_hint } => (
                Some(realm.as_str()),
                idp_hint.as_ref().map(IdpAlias::as_str),
            ),
            Target::NotMigrated => (None, None),
        };
        match &rule.key {
            RuleKey::User(user) => self.user.execute(params![user.as_str(), realm, hint]),
            RuleKey::Domain(domain) => self.domain.execute(params![domain.as_str(), realm, hint]),
            RuleKey::Default => self.default.execute(params![realm, hint]),
        }
        .map_err(unavailable)?;
        Ok(())
    }
}

fn target_from_row(realm: Option<String>, hint: Option<&str>) -> Result<Target, StoreError> {
    match realm {
        None => Ok(Target::NotMigrated),
        Some(realm) => Ok(Target::Sso {
            realm: RealmName::parse(&realm).map_err(corrupt)?,
            idp_hint: hint.map(IdpAlias::parse).transpose().map_err(corrupt)?,
        }),
    }
}

#[async_trait]
impl DirectoryStore for SqliteStore {
    async fn resolve(&self, user: &Username) -> Result<Resolution, StoreError> {
        let user = user.clone();
        self.blocking(move |conn, _| {
            let row: Option<(Option<String>, Option<String>)> = conn
                .prepare_cached(
                    "SELECT realm, idp_hint, 0 AS rank FROM directory_users WHERE username = ?1
                     UNION ALL SELECT realm, idp_hint, 1 FROM directory_domains WHERE domain = ?2
                     UNION ALL SELECT realm, idp_hint, 2 FROM directory_default
                     ORDER BY rank LIMIT 1",
                )
                .and_then(|mut stmt| {
                    stmt.query_row(params![user.as_str(), user.domain()], |row| {
                        Ok((row.get(0)?, row.get(1)?))
                    })
                    .optional()
                })
                .map_err(unavailable)?;
            match row {
                None => Ok(Resolution::Unknown),
                Some((realm, hint)) => {
                    Ok(Resolution::Found(target_from_row(realm, hint.as_deref())?))
                }
            }
        })
        .await
    }

    async fn upsert_rules(&self, rules: Vec<Rule>) -> Result<usize, StoreError> {
        let store = self.clone();
        let count = rules.len();
        tokio::task::spawn_blocking(move || store.import(rules.into_iter().map(Ok), false))
            .await
            .map_err(unavailable)??;
        Ok(count)
    }
}

fn unix(at: DateTime<Utc>) -> i64 {
    at.timestamp()
}

#[async_trait]
impl LoginStore for SqliteStore {
    async fn open_txn(
        &self,
        txn: &TxnId,
        client: &ClientId,
        challenge: &TxnChallenge,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let key = txn.storage_key();
        let client = client.clone();
        let challenge = challenge.clone();
        self.blocking(move |conn, _| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            let existing: Option<(String, String, bool)> = tx
                .query_row(
                    "SELECT client_id, challenge, outcome IS NOT NULL OR closed FROM transactions WHERE txn_hash = ?1",
                    params![key.as_slice()],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .optional()
                .map_err(unavailable)?;
            // A reloaded popup repeats its /login: same client, same challenge.
            let usable = if let Some((c, ch, done)) = existing {
                c == client.as_str() && ch == challenge.as_str() && !done
            } else {
                tx.execute(
                    "INSERT INTO transactions (txn_hash, client_id, challenge, expires_at) VALUES (?1, ?2, ?3, ?4)",
                    params![key.as_slice(), client.as_str(), challenge.as_str(), unix(expires_at)],
                )
                .map_err(unavailable)?;
                true
            };
            tx.commit().map_err(unavailable)?;
            Ok(usable)
        })
        .await
    }

    async fn put_pending(&self, state: &str, login: &PendingLogin) -> Result<(), StoreError> {
        let key = crypto::sha256(state);
        let json = serde_json::to_vec(login).map_err(corrupt)?;
        let expires_at = unix(login.expires_at);
        self.blocking(move |conn, sealer| {
            let sealed = sealer.seal(&key, &json).map_err(corrupt)?;
            conn.prepare_cached(
                "INSERT INTO pending_logins (state_hash, sealed, expires_at) VALUES (?1, ?2, ?3)",
            )
            .and_then(|mut stmt| stmt.execute(params![key.as_slice(), sealed, expires_at]))
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn take_pending(&self, state: &str) -> Result<Option<PendingLogin>, StoreError> {
        let key = crypto::sha256(state);
        self.blocking(move |conn, sealer| {
            let sealed: Option<Vec<u8>> = conn
                .prepare_cached("DELETE FROM pending_logins WHERE state_hash = ?1 RETURNING sealed")
                .and_then(|mut stmt| {
                    stmt.query_row(params![key.as_slice()], |row| row.get(0))
                        .optional()
                })
                .map_err(unavailable)?;
            sealed
                .map(|sealed| {
                    let json = sealer.open(&key, &sealed).map_err(corrupt)?;
                    serde_json::from_slice(&json).map_err(corrupt)
                })
                .transpose()
        })
        .await
    }

    async fn complete_txn(
        &self,
        txn: &TxnId,
        outcome: &LoginOutcome,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let key = txn.storage_key();
        let json = serde_json::to_vec(outcome).map_err(corrupt)?;
        self.blocking(move |conn, sealer| {
            let sealed = sealer.seal(&key, &json).map_err(corrupt)?;
            conn.execute(
                "UPDATE transactions SET outcome = ?2, expires_at = ?3 WHERE txn_hash = ?1 AND outcome IS NULL",
                params![key.as_slice(), sealed, unix(expires_at)],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await?;
        self.wakeups.ring(&key);
        Ok(())
    }

    async fn txn_client(
        &self,
        txn: &TxnId,
        now: DateTime<Utc>,
    ) -> Result<Option<ClientId>, StoreError> {
        let key = txn.storage_key();
        self.blocking(move |conn, _| {
            let client: Option<String> = conn
                .prepare_cached(
                    "SELECT client_id FROM transactions WHERE txn_hash = ?1 AND expires_at > ?2",
                )
                .and_then(|mut stmt| {
                    stmt.query_row(params![key.as_slice(), unix(now)], |row| row.get(0))
                        .optional()
                })
                .map_err(unavailable)?;
            client
                .map(|c| ClientId::parse(&c).map_err(corrupt))
                .transpose()
        })
        .await
    }

    async fn redeem(
        &self,
        txn: &TxnId,
        verifier: &TxnVerifier,
        now: DateTime<Utc>,
    ) -> Result<Redemption, StoreError> {
        let key = txn.storage_key();
        let verifier = verifier.clone();
        self.blocking(move |conn, sealer| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(unavailable)?;
            let row: Option<(String, Option<Vec<u8>>, u32, bool)> = tx
                .query_row(
                    "SELECT challenge, outcome, failures, closed FROM transactions WHERE txn_hash = ?1 AND expires_at > ?2",
                    params![key.as_slice(), unix(now)],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
                )
                .optional()
                .map_err(unavailable)?;
            let Some((challenge, outcome, failures, closed)) = row else {
                return Ok(Redemption::Unknown);
            };
            if closed {
                return Ok(Redemption::Closed);
            }
            let close = "UPDATE transactions SET closed = 1, outcome = NULL WHERE txn_hash = ?1";
            let challenge = TxnChallenge::parse(&challenge).map_err(corrupt)?;
            let redemption = if !challenge.is_answered_by(&verifier) {
                let burned = failures + 1 >= MAX_VERIFIER_FAILURES;
                if burned {
                    tx.execute(close, params![key.as_slice()])
                } else {
                    tx.execute(
                        "UPDATE transactions SET failures = failures + 1 WHERE txn_hash = ?1",
                        params![key.as_slice()],
                    )
                }
                .map_err(unavailable)?;
                Redemption::WrongVerifier { burned }
            } else if let Some(sealed) = outcome {
                tx.execute(close, params![key.as_slice()]).map_err(unavailable)?;
                let json = sealer.open(&key, &sealed).map_err(corrupt)?;
                Redemption::Redeemed(serde_json::from_slice(&json).map_err(corrupt)?)
            } else {
                Redemption::Pending
            };
            tx.commit().map_err(unavailable)?;
            Ok(redemption)
        })
        .await
    }

    async fn wait_for_completion(&self, txn: &TxnId, timeout: Duration) -> Result<(), StoreError> {
        let key = txn.storage_key();
        let subscription = self.wakeups.subscribe(key);
        // Checked after subscribing, so a completion in between is not missed.
        let mut failure = None;
        let already = async {
            let done = self
                .blocking(move |conn, _| {
                    conn.query_row(
                        "SELECT outcome IS NOT NULL OR closed FROM transactions WHERE txn_hash = ?1",
                        params![key.as_slice()],
                        |row| row.get::<_, bool>(0),
                    )
                    .optional()
                    .map_err(unavailable)
                })
                .await;
            match done {
                // Not started yet (None): wait for it too.
                Ok(done) => done.unwrap_or(false),
                Err(err) => {
                    failure = Some(err);
                    true
                }
            }
        };
        subscription.wait_unless(already, timeout).await;
        failure.map_or(Ok(()), Err)
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.blocking(move |conn, _| {
            let logins = conn
                .execute(
                    "DELETE FROM pending_logins WHERE expires_at <= ?1",
                    params![unix(now)],
                )
                .map_err(unavailable)?;
            let txns = conn
                .execute(
                    "DELETE FROM transactions WHERE expires_at <= ?1",
                    params![unix(now)],
                )
                .map_err(unavailable)?;
            Ok((logins + txns) as u64)
        })
        .await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.blocking(|conn, _| {
            conn.query_row("SELECT 1", [], |_| Ok(()))
                .map_err(unavailable)
        })
        .await
    }
}
