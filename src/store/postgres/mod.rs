//! The durable store on PostgreSQL, for several replicas: the same tables and
//! the same sealing as the SQLite store. Migrations are embedded in the binary
//! and applied under PostgreSQL's advisory lock, so replicas starting together
//! do not race; queries are checked at run time, so a build needs no database.
//! The pool reconnects by itself after the database restarts.

mod admin;
mod audit;
mod directory;
mod documents;
mod registry;

use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret as _, SecretString};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, SqlSafeStr as _, Transaction};

use super::rows::unavailable;
use super::rows::{SEALED_SQL, reseal_sql, sealed_from_row};
use super::{DurableStore, StoreError};
use crate::crypto::Sealer;

/// The schema's migrations, in order; each is applied once, in a transaction.
const MIGRATIONS: [(i64, &str, &str); 4] = [
    (1, "schema", include_str!("0001_schema.sql")),
    (2, "documents", include_str!("0002_documents.sql")),
    (
        3,
        "admin token expiry",
        include_str!("0003_admin_token_expiry.sql"),
    ),
    (
        4,
        "client approval",
        include_str!("0004_client_approval.sql"),
    ),
];

/// How long a pooled connection may sit idle before it is pinged on its next use.
/// A connection the server dropped has been idle at least as long as the server
/// was away (a restart takes far longer than this), so it is found out; under
/// load connections are reused within microseconds and never pinged.
const IDLE_BEFORE_PING: Duration = Duration::from_millis(100);

/// The PostgreSQL-backed durable store.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    sealer: Sealer,
    metrics: std::sync::Arc<super::Observed>,
    /// Audit rows waiting for their batch.
    audit_rows: audit::AuditBatcher,
}

fn migrator() -> Migrator {
    Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    (*description).into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

impl PostgresStore {
    /// Connects to `url` and applies the migrations this build knows.
    pub async fn open(url: &SecretString, sealer: Sealer) -> Result<Self, StoreError> {
        let options: PgConnectOptions = url
            .expose_secret()
            .parse()
            .map_err(|e| StoreError::Unavailable(format!("store.postgres_url: {e}")))?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            // A connection the server dropped (a restart) is found out before use:
            // one that sat idle is pinged first (a ping per query would double
            // the round trips).
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > IDLE_BEFORE_PING {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options.application_name("authproxy"))
            .await
            .map_err(|e| StoreError::Unavailable(format!("PostgreSQL: {e}")))?;
        let store = Self {
            audit_rows: audit::AuditBatcher::start(pool.clone()),
            pool,
            sealer,
            metrics: std::sync::Arc::new(super::Observed::new("postgres")),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies the migrations this build knows (under the advisory lock); refuses
    /// a database migrated by a newer build.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let newest: Option<i64> = sqlx::query_scalar(
            "SELECT max(version) FROM _sqlx_migrations WHERE to_regclass('_sqlx_migrations') IS NOT NULL",
        )
        .fetch_optional(&self.pool)
        .await
        .ok()
        .flatten()
        .flatten();
        let known = MIGRATIONS
            .iter()
            .map(|(version, _, _)| *version)
            .max()
            .unwrap_or(0);
        if let Some(newest) = newest.filter(|v| *v > known) {
            return Err(StoreError::Corrupt(format!(
                "the database has schema version {newest}, newer than this build's {known}; upgrade authproxy"
            )));
        }
        migrator()
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Unavailable(format!("applying the migrations: {e}")))
    }

    async fn begin(&self) -> Result<Transaction<'static, Postgres>, StoreError> {
        self.pool.begin().await.map_err(unavailable)
    }

    async fn version(&self, key: &str) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT value FROM meta WHERE key = $1")
            .bind(key)
            .fetch_one(&self.pool)
            .await
            .map_err(unavailable)
    }
}

impl PostgresStore {
    async fn timed<T>(
        &self,
        operation: &'static str,
        work: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let started = std::time::Instant::now();
        let result = work.await;
        self.metrics.record(operation, started, result.is_err());
        result
    }
}

#[async_trait]
impl DurableStore for PostgresStore {
    fn observe(&self, metrics: std::sync::Arc<crate::observe::metrics::Metrics>) {
        self.metrics.set(metrics);
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    async fn sealed_secrets(&self) -> Result<Vec<super::SealedSecret>, StoreError> {
        let rows: Vec<(String, String, String, Vec<u8>)> = sqlx::query_as(SEALED_SQL)
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable)?;
        rows.into_iter().map(sealed_from_row).collect()
    }

    async fn replace_sealed(
        &self,
        values: Vec<(super::SealedSecret, Vec<u8>)>,
    ) -> Result<usize, StoreError> {
        let mut tx = self.pool.begin().await.map_err(unavailable)?;
        let mut written = 0;
        for (old, new) in values {
            let sql = reseal_sql(old.table).replace('?', "$");
            let done = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(new)
                .bind(old.key)
                .bind(old.sub_key)
                .bind(old.sealed)
                .execute(&mut *tx)
                .await
                .map_err(unavailable)?;
            written += usize::try_from(done.rows_affected()).unwrap_or(usize::MAX);
        }
        tx.commit().await.map_err(unavailable)?;
        Ok(written)
    }

    async fn backup_to(&self, _to: &std::path::Path) -> Result<(), StoreError> {
        Err(StoreError::Unsupported(
            "authproxy backup copies the SQLite store; back PostgreSQL up with its own tools (pg_dump, or base backups with WAL archiving) and keep store.sealing_keys with them".into(),
        ))
    }
}

/// One statement with its arguments bound.
type Statement<'q> = sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>;

impl PostgresStore {
    /// Runs one change and bumps the change counter `version` in the same
    /// transaction, so watchers never miss it; how many rows it touched.
    async fn change(&self, version: &str, statement: Statement<'_>) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let touched = statement
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?
            .rows_affected();
        bump(&mut tx, version).await?;
        tx.commit().await.map_err(unavailable)?;
        Ok(touched)
    }
}

async fn bump(tx: &mut Transaction<'_, Postgres>, key: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE meta SET value = value + 1 WHERE key = $1")
        .bind(key)
        .execute(&mut **tx)
        .await
        .map(|_| ())
        .map_err(unavailable)
}
