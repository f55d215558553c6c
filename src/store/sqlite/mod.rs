//! The embedded default durable store: one SQLite file in WAL mode, holding
//! realms, clients, the directory, callers, admin tokens, tenants with their
//! credentials, and the audit trail.
//! Secrets are never stored in clear: realm and client secrets are sealed (AEAD),
//! caller secrets are Argon2id hashes, admin tokens SHA-256 hashes. Logins in
//! flight are not here ([`crate::store::memory`]). Reads use a small pool; every
//! write goes through one writer thread ([`writer`]), which commits writes in
//! batches.

mod admin;
mod audit;
mod directory;
mod documents;
mod registry;
mod writer;

use std::path::Path;
use std::time::Duration;

use r2d2_sqlite::SqliteConnectionManager;

use super::StoreError;
use super::rows::unavailable;
use crate::crypto::Sealer;
use writer::Writer;

use super::rows::{SEALED_SQL, reseal_sql, sealed_from_row};

type Pool = r2d2::Pool<SqliteConnectionManager>;

const SCHEMA_VERSION: i64 = 7;
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS directory_users (
    username TEXT PRIMARY KEY NOT NULL, realm TEXT, idp_hint TEXT) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS directory_domains (
    domain TEXT PRIMARY KEY NOT NULL, realm TEXT, idp_hint TEXT) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS directory_default (
    id INTEGER PRIMARY KEY CHECK (id = 1), realm TEXT, idp_hint TEXT);
-- v2: administration.
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (key, value) VALUES ('registry_version', 0);
INSERT OR IGNORE INTO meta (key, value) VALUES ('directory_version', 0);
CREATE TABLE IF NOT EXISTS realms (
    name TEXT PRIMARY KEY NOT NULL, authority TEXT NOT NULL, extra_scopes TEXT NOT NULL,
    broker_client_id TEXT, broker_secret BLOB,
    token_endpoint_auth TEXT NOT NULL DEFAULT 'client_secret_basic') WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS clients (
    client_id TEXT PRIMARY KEY NOT NULL, realms TEXT NOT NULL, origins TEXT NOT NULL,
    secret BLOB, approval TEXT NOT NULL DEFAULT 'ask') WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS callers (
    caller_id TEXT PRIMARY KEY NOT NULL, secret_hash TEXT NOT NULL, policy TEXT NOT NULL,
    created_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS admin_tokens (
    token_hash BLOB PRIMARY KEY NOT NULL, label TEXT NOT NULL, created_at INTEGER NOT NULL,
    expires_at INTEGER) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL,
    action TEXT NOT NULL, subject TEXT, realm TEXT, audience TEXT, outcome TEXT NOT NULL,
    reason TEXT, source TEXT, request_id TEXT, token_jti TEXT, token_expires_at INTEGER);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
-- v5: tenants and their credentials.
CREATE TABLE IF NOT EXISTS documents (
    kind TEXT NOT NULL, id TEXT NOT NULL, owner TEXT NOT NULL, body TEXT NOT NULL, secret BLOB,
    PRIMARY KEY (kind, id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS documents_owner ON documents (kind, owner);
CREATE TRIGGER IF NOT EXISTS audit_is_append_only_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_is_append_only_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
";

/// The SQLite-backed store.
#[derive(Clone)]
pub struct SqliteStore {
    pool: Pool,
    sealer: Sealer,
    metrics: std::sync::Arc<super::Observed>,
    /// Every write of this process goes through the one writer, in order.
    writer: Writer,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path, sealer: Sealer) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(unavailable)?;
        }
        owner_only(path)?;
        // WAL is a property of the file: set it once, before connections race for it.
        rusqlite::Connection::open(path)
            .and_then(|conn| conn.pragma_update(None, "journal_mode", "WAL"))
            .map_err(unavailable)?;
        let manager = SqliteConnectionManager::file(path).with_init(|conn| configure(conn));
        let pool = r2d2::Pool::builder()
            .max_size(8)
            .min_idle(Some(1))
            // A local file does not go stale like a network connection: no per-use probe.
            .test_on_check_out(false)
            .connection_timeout(Duration::from_secs(5))
            .build(manager)
            .map_err(unavailable)?;
        let connect = || {
            rusqlite::Connection::open(path)
                .and_then(|conn| configure(&conn).map(|()| conn))
                .map_err(unavailable)
        };
        let store = Self {
            pool,
            writer: Writer::start(connect()?, connect()?, sealer.clone())?,
            sealer,
            metrics: std::sync::Arc::new(super::Observed::new("sqlite")),
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
        if (1..3).contains(&version) {
            // v3: realms get their token-endpoint authentication method.
            conn.execute_batch(
                "ALTER TABLE realms ADD COLUMN token_endpoint_auth TEXT NOT NULL DEFAULT 'client_secret_basic';",
            )
            .map_err(unavailable)?;
        }
        if (1..4).contains(&version) {
            // v4: logins in flight left the database (sealed in the browser's
            // cookie, outcomes in the ephemeral store). Logins started before the
            // upgrade are started again by their users.
            conn.execute_batch(
                "DROP TABLE IF EXISTS pending_logins; DROP TABLE IF EXISTS transactions;",
            )
            .map_err(unavailable)?;
        }
        if (2..6).contains(&version) {
            // v6: admin tokens can be given an end.
            conn.execute_batch("ALTER TABLE admin_tokens ADD COLUMN expires_at INTEGER;")
                .map_err(unavailable)?;
        }
        if (1..7).contains(&version) {
            // v7: a client can turn off the completion page's approval step.
            conn.execute_batch(
                "ALTER TABLE clients ADD COLUMN approval TEXT NOT NULL DEFAULT 'ask';",
            )
            .map_err(unavailable)?;
        }
        conn.execute_batch(SCHEMA).map_err(unavailable)?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(unavailable)?;
        Ok(())
    }

    /// Runs a point read on the calling thread. In WAL mode readers never wait for
    /// writers, so such a read takes microseconds, less than the hop to a blocking
    /// thread would.
    fn read_inline<T>(
        &self,
        work: impl FnOnce(&rusqlite::Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let started = std::time::Instant::now();
        let result = self
            .pool
            .get()
            .map_err(unavailable)
            .and_then(|conn| work(&conn));
        self.metrics.record("read", started, result.is_err());
        result
    }

    /// A change counter kept in `meta` (`registry_version`, `directory_version`).
    fn version(&self, key: &'static str) -> Result<i64, StoreError> {
        self.read_inline(|conn| {
            conn.prepare_cached("SELECT value FROM meta WHERE key = ?1")
                .and_then(|mut stmt| stmt.query_row([key], |row| row.get(0)))
                .map_err(unavailable)
        })
    }

    async fn blocking<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut rusqlite::Connection, &Sealer) -> Result<T, StoreError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let sealer = self.sealer.clone();
        let started = std::time::Instant::now();
        let result = tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(unavailable)?;
            work(&mut conn, &sealer)
        })
        .await
        .map_err(unavailable)
        .and_then(|result| result);
        self.metrics.record("read", started, result.is_err());
        result
    }

    /// Runs a write in the writer's next batch (see [`writer`]).
    async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Connection, &Sealer) -> Result<T, StoreError> + Send + 'static,
    {
        let started = std::time::Instant::now();
        let result = self.writer.write(work).await;
        self.metrics.record("write", started, result.is_err());
        result
    }
}

#[async_trait::async_trait]
impl super::DurableStore for SqliteStore {
    fn observe(&self, metrics: std::sync::Arc<crate::observe::metrics::Metrics>) {
        self.metrics.set(metrics);
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.read_inline(|conn| {
            conn.query_row("SELECT 1", [], |_| Ok(()))
                .map_err(unavailable)
        })
    }

    async fn sealed_secrets(&self) -> Result<Vec<super::SealedSecret>, StoreError> {
        let rows = self
            .blocking(|conn, _| {
                let mut stmt = conn.prepare(SEALED_SQL).map_err(unavailable)?;
                let rows = stmt
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                    .map_err(unavailable)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(unavailable)
            })
            .await?;
        rows.into_iter().map(sealed_from_row).collect()
    }

    async fn replace_sealed(
        &self,
        values: Vec<(super::SealedSecret, Vec<u8>)>,
    ) -> Result<usize, StoreError> {
        self.write(move |conn, _| {
            let mut written = 0;
            for (old, new) in &values {
                written += conn
                    .execute(
                        reseal_sql(old.table),
                        rusqlite::params![new, old.key, old.sub_key, old.sealed],
                    )
                    .map_err(unavailable)?;
            }
            Ok(written)
        })
        .await
    }

    async fn backup_to(&self, to: &std::path::Path) -> Result<(), StoreError> {
        let to = to.to_owned();
        self.blocking(move |conn, _| {
            owner_only(&to)?;
            let mut copy = rusqlite::Connection::open(&to)
                .map_err(|e| StoreError::Unavailable(format!("{}: {e}", to.display())))?;
            rusqlite::backup::Backup::new(conn, &mut copy)
                .and_then(|backup| {
                    backup.run_to_completion(256, std::time::Duration::from_millis(5), None)
                })
                .map_err(|e| StoreError::Unavailable(format!("backup to {}: {e}", to.display())))
        })
        .await
    }
}

/// Makes the database file at `path` readable and writable by its owner only
/// (mode 0600): created so, or tightened when it was looser. SQLite gives its
/// WAL and shared-memory files the database file's mode.
fn owner_only(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let named = |e: std::io::Error| StoreError::Unavailable(format!("{}: {e}", path.display()));
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(named)?;
    let mode = std::fs::metadata(path).map_err(named)?.permissions().mode();
    if mode & 0o077 != 0 {
        tracing::warn!(path = %path.display(), "the database file was readable by others: made owner-only (0600)");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(named)?;
    }
    Ok(())
}

/// What every connection sets: durable at commit against a crash of the process
/// (`synchronous = NORMAL` in WAL mode), a wait for the lock held by another
/// process (the CLI), and foreign keys.
fn configure(conn: &rusqlite::Connection) -> rusqlite::Result<()> {
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
    )
}
