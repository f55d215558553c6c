//! The durable store on PostgreSQL, for several replicas: the same tables and
//! the same sealing as the SQLite store. Migrations are embedded in the binary
//! and applied under PostgreSQL's advisory lock, so replicas starting together
//! do not race; queries are checked at run time, so a build needs no database.
//! The pool reconnects by itself after the database restarts.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret as _, SecretString};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, SqlSafeStr as _, Transaction};

use super::rows::{
    ClientRow, EXPORT_SQL, RealmRow, admin_token_from_row, caller_from_row, client_from_row,
    client_to_row, export_rows, from_unix, policy_column, realm_from_row, realm_to_row,
    target_columns, target_from_row, unavailable, unix,
};
use super::rows::{
    DocumentRow, SEALED_SQL, document_from_row, document_to_row, reseal_sql, sealed_from_row,
};
use super::{
    AccessStore, AuditEntry, AuditFilter, AuditLog, AuditOutcome, DirectoryStore, Document,
    DocumentStore, DurableStore, RegistryStore, Rules, StoreError, StoredAdminToken, StoredCaller,
};
use crate::crypto::Sealer;
use crate::domain::{CallerId, Client, ClientId, Realm, RealmName, Resolution, RuleKey, Username};

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

#[async_trait]
impl RegistryStore for PostgresStore {
    async fn realms(&self) -> Result<Vec<Realm>, StoreError> {
        let rows: Vec<RealmRow> = sqlx::query_as(
            "SELECT name, authority, extra_scopes, broker_client_id, broker_secret, token_endpoint_auth FROM realms ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        rows.into_iter()
            .map(|row| realm_from_row(&self.sealer, row))
            .collect()
    }

    async fn clients(&self) -> Result<Vec<Client>, StoreError> {
        let rows: Vec<ClientRow> = sqlx::query_as(
            "SELECT client_id, realms, origins, secret, approval FROM clients ORDER BY client_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        rows.into_iter()
            .map(|row| client_from_row(&self.sealer, row))
            .collect()
    }

    async fn registry_version(&self) -> Result<i64, StoreError> {
        self.version("registry_version").await
    }

    async fn put_realm(&self, realm: &Realm) -> Result<(), StoreError> {
        let (name, authority, scopes, broker_id, secret, auth) = realm_to_row(&self.sealer, realm)?;
        let statement = sqlx::query(
            "INSERT INTO realms (name, authority, extra_scopes, broker_client_id, broker_secret, token_endpoint_auth)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (name) DO UPDATE SET authority = EXCLUDED.authority, extra_scopes = EXCLUDED.extra_scopes,
                 broker_client_id = EXCLUDED.broker_client_id, broker_secret = EXCLUDED.broker_secret,
                 token_endpoint_auth = EXCLUDED.token_endpoint_auth",
        )
        .bind(name)
        .bind(authority)
        .bind(scopes)
        .bind(broker_id)
        .bind(secret)
        .bind(auth);
        self.change("registry_version", statement).await.map(|_| ())
    }

    async fn delete_realm(&self, name: &RealmName) -> Result<bool, StoreError> {
        let statement = sqlx::query("DELETE FROM realms WHERE name = $1").bind(name.as_str());
        Ok(self.change("registry_version", statement).await? > 0)
    }

    async fn put_client(&self, client: &Client) -> Result<(), StoreError> {
        let (id, realms, origins, secret, approval) = client_to_row(&self.sealer, client)?;
        let statement = sqlx::query(
            "INSERT INTO clients (client_id, realms, origins, secret, approval) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (client_id) DO UPDATE SET realms = EXCLUDED.realms, origins = EXCLUDED.origins,
                 secret = EXCLUDED.secret, approval = EXCLUDED.approval",
        )
        .bind(id)
        .bind(realms)
        .bind(origins)
        .bind(secret)
        .bind(approval);
        self.change("registry_version", statement).await.map(|_| ())
    }

    async fn delete_client(&self, id: &ClientId) -> Result<bool, StoreError> {
        let statement = sqlx::query("DELETE FROM clients WHERE client_id = $1").bind(id.as_str());
        Ok(self.change("registry_version", statement).await? > 0)
    }
}

#[async_trait]
impl DirectoryStore for PostgresStore {
    async fn resolve(&self, user: &Username) -> Result<Resolution, StoreError> {
        self.timed("read", async {
            let row: Option<(Option<String>, Option<String>)> = sqlx::query_as(
                "SELECT realm, idp_hint FROM (
                 SELECT realm, idp_hint, 0 AS rank FROM directory_users WHERE username = $1
                 UNION ALL SELECT realm, idp_hint, 1 FROM directory_domains WHERE domain = $2
                 UNION ALL SELECT realm, idp_hint, 2 FROM directory_default) AS found
             ORDER BY rank LIMIT 1",
            )
            .bind(user.as_str())
            .bind(user.domain())
            .fetch_optional(&self.pool)
            .await
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

    async fn import_rules(&self, rules: Rules, replace: bool) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        if replace {
            for table in ["directory_users", "directory_domains", "directory_default"] {
                sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
                    .execute(&mut *tx)
                    .await
                    .map_err(unavailable)?;
            }
        }
        let mut count = 0;
        for rule in rules {
            let (realm, hint) = target_columns(&rule.target);
            let query = match &rule.key {
                RuleKey::User(user) => sqlx::query(
                    "INSERT INTO directory_users (username, realm, idp_hint) VALUES ($1, $2, $3)
                     ON CONFLICT (username) DO UPDATE SET realm = EXCLUDED.realm, idp_hint = EXCLUDED.idp_hint",
                )
                .bind(user.as_str()),
                RuleKey::Domain(domain) => sqlx::query(
                    "INSERT INTO directory_domains (domain, realm, idp_hint) VALUES ($1, $2, $3)
                     ON CONFLICT (domain) DO UPDATE SET realm = EXCLUDED.realm, idp_hint = EXCLUDED.idp_hint",
                )
                .bind(domain.as_str()),
                RuleKey::Default => sqlx::query(
                    "INSERT INTO directory_default (id, realm, idp_hint) VALUES ($1, $2, $3)
                     ON CONFLICT (id) DO UPDATE SET realm = EXCLUDED.realm, idp_hint = EXCLUDED.idp_hint",
                )
                .bind(1_i32),
            };
            query
                .bind(realm)
                .bind(hint)
                .execute(&mut *tx)
                .await
                .map_err(unavailable)?;
            count += 1;
        }
        bump(&mut tx, "directory_version").await?;
        tx.commit().await.map_err(unavailable)?;
        Ok(count)
    }

    async fn delete_rule(&self, key: &RuleKey) -> Result<bool, StoreError> {
        let statement = match key {
            RuleKey::User(user) => {
                sqlx::query("DELETE FROM directory_users WHERE username = $1").bind(user.as_str())
            }
            RuleKey::Domain(domain) => {
                sqlx::query("DELETE FROM directory_domains WHERE domain = $1").bind(domain.as_str())
            }
            RuleKey::Default => sqlx::query("DELETE FROM directory_default"),
        };
        Ok(self.change("directory_version", statement).await? > 0)
    }

    async fn export_csv(&self) -> Result<String, StoreError> {
        let rows: Vec<(
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        )> = sqlx::query_as(EXPORT_SQL)
            .fetch_all(&self.pool)
            .await
            .map_err(unavailable)?;
        export_rows(rows.into_iter().map(|(a, b, c, d)| [a, b, c, d]))
    }

    async fn directory_version(&self) -> Result<i64, StoreError> {
        self.version("directory_version").await
    }
}

#[async_trait]
impl AccessStore for PostgresStore {
    async fn put_caller(&self, caller: &StoredCaller) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO callers (caller_id, secret_hash, policy, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (caller_id) DO UPDATE SET secret_hash = EXCLUDED.secret_hash, policy = EXCLUDED.policy,
                 created_at = EXCLUDED.created_at",
        )
        .bind(caller.id.as_str())
        .bind(&caller.secret_hash)
        .bind(policy_column(&caller.policy)?)
        .bind(unix(caller.created_at))
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(unavailable)
    }

    async fn caller(&self, id: &CallerId) -> Result<Option<StoredCaller>, StoreError> {
        let row: Option<(String, String, i64)> = sqlx::query_as(
            "SELECT secret_hash, policy, created_at FROM callers WHERE caller_id = $1",
        )
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        row.map(|(hash, policy, created)| caller_from_row(id.as_str(), hash, &policy, created))
            .transpose()
    }

    async fn callers(&self) -> Result<Vec<StoredCaller>, StoreError> {
        let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT caller_id, secret_hash, policy, created_at FROM callers ORDER BY caller_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        rows.into_iter()
            .map(|(id, hash, policy, created)| caller_from_row(&id, hash, &policy, created))
            .collect()
    }

    async fn delete_caller(&self, id: &CallerId) -> Result<bool, StoreError> {
        sqlx::query("DELETE FROM callers WHERE caller_id = $1")
            .bind(id.as_str())
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected() > 0)
            .map_err(unavailable)
    }

    async fn put_admin_token(&self, token: &StoredAdminToken) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO admin_tokens (token_hash, label, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token.hash.as_slice())
        .bind(&token.label)
        .bind(unix(token.created_at))
        .bind(token.expires_at.map(unix))
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(unavailable)
    }

    async fn admin_token(&self, hash: [u8; 32]) -> Result<Option<StoredAdminToken>, StoreError> {
        let row: Option<TokenRow> = sqlx::query_as(
            "SELECT token_hash, label, created_at, expires_at FROM admin_tokens WHERE token_hash = $1",
        )
        .bind(hash.as_slice())
        .fetch_optional(&self.pool)
        .await
        .map_err(unavailable)?;
        row.map(|(hash, label, created, expires)| {
            admin_token_from_row(&hash, label, created, expires)
        })
        .transpose()
    }

    async fn admin_tokens(&self) -> Result<Vec<StoredAdminToken>, StoreError> {
        let rows: Vec<TokenRow> = sqlx::query_as(
            "SELECT token_hash, label, created_at, expires_at FROM admin_tokens ORDER BY created_at, label",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        rows.into_iter()
            .map(|(hash, label, created, expires)| {
                admin_token_from_row(&hash, label, created, expires)
            })
            .collect()
    }

    async fn expire_admin_token(
        &self,
        hash: [u8; 32],
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        sqlx::query("UPDATE admin_tokens SET expires_at = $2 WHERE token_hash = $1")
            .bind(hash.as_slice())
            .bind(unix(at))
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected() > 0)
            .map_err(unavailable)
    }

    async fn delete_admin_token(&self, hash: [u8; 32]) -> Result<bool, StoreError> {
        sqlx::query("DELETE FROM admin_tokens WHERE token_hash = $1")
            .bind(hash.as_slice())
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected() > 0)
            .map_err(unavailable)
    }
}

/// An admin token's columns, as read back.
type TokenRow = (Vec<u8>, String, i64, Option<i64>);

/// An audit row's columns, as read back.
type AuditRow = (
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
);

#[async_trait]
impl AuditLog for PostgresStore {
    async fn append(&self, e: &AuditEntry) -> Result<(), StoreError> {
        self.timed("write", async {
        sqlx::query(
            "INSERT INTO audit (at, actor, action, subject, realm, audience, outcome, reason, source, request_id, token_jti, token_expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(unix(e.at))
        .bind(&e.actor)
        .bind(&e.action)
        .bind(&e.subject)
        .bind(&e.realm)
        .bind(&e.audience)
        .bind(e.outcome.as_str())
        .bind(&e.reason)
        .bind(&e.source)
        .bind(&e.request_id)
        .bind(&e.token_jti)
        .bind(e.token_expires_at.map(unix))
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(unavailable)
        })
        .await
    }

    async fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let rows: Vec<AuditRow> = sqlx::query_as(
            "SELECT at, actor, action, subject, realm, audience, outcome, reason, source, request_id, token_jti, token_expires_at
             FROM audit WHERE at >= $1 AND ($2::BIGINT IS NULL OR at < $2) AND ($3::TEXT IS NULL OR actor = $3)
               AND ($4::TEXT IS NULL OR action = $4 OR action LIKE $5 ESCAPE '\\')
               AND ($6::TEXT IS NULL OR outcome = $6) ORDER BY id LIMIT $7",
        )
        .bind(filter.since.map_or(0, unix))
        .bind(filter.until.map(unix))
        .bind(filter.actor.as_deref())
        .bind(filter.action.as_deref())
        .bind(filter.action_prefix())
        .bind(filter.outcome.as_deref())
        .bind(i64::from(filter.limit))
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        rows.into_iter()
            .map(|r| {
                Ok(AuditEntry {
                    at: from_unix(r.0),
                    actor: r.1,
                    action: r.2,
                    subject: r.3,
                    realm: r.4,
                    audience: r.5,
                    outcome: AuditOutcome::parse(&r.6)?,
                    reason: r.7,
                    source: r.8,
                    request_id: r.9,
                    token_jti: r.10,
                    token_expires_at: r.11.map(from_unix),
                })
            })
            .collect()
    }
}

#[async_trait]
impl DocumentStore for PostgresStore {
    async fn put_document(&self, kind: &'static str, doc: &Document) -> Result<(), StoreError> {
        self.timed("write", async {
            let (id, owner, body, secret) = document_to_row(&self.sealer, kind, doc)?;
            sqlx::query(
                "INSERT INTO documents (kind, id, owner, body, secret) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (kind, id) DO UPDATE SET owner = EXCLUDED.owner, body = EXCLUDED.body,
                 secret = EXCLUDED.secret",
            )
            .bind(kind)
            .bind(id)
            .bind(owner)
            .bind(body)
            .bind(secret)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(unavailable)
        })
        .await
    }

    async fn create_document(
        &self,
        kind: &'static str,
        doc: &Document,
    ) -> Result<bool, StoreError> {
        self.timed("write", async {
            let (id, owner, body, secret) = document_to_row(&self.sealer, kind, doc)?;
            sqlx::query(
                "INSERT INTO documents (kind, id, owner, body, secret) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (kind, id) DO NOTHING",
            )
            .bind(kind)
            .bind(id)
            .bind(owner)
            .bind(body)
            .bind(secret)
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected() > 0)
            .map_err(unavailable)
        })
        .await
    }

    async fn document(&self, kind: &'static str, id: &str) -> Result<Option<Document>, StoreError> {
        self.timed("read", async {
            let row: Option<DocumentRow> = sqlx::query_as(
                "SELECT id, owner, body, secret FROM documents WHERE kind = $1 AND id = $2",
            )
            .bind(kind)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable)?;
            row.map(|row| document_from_row(&self.sealer, kind, row))
                .transpose()
        })
        .await
    }

    async fn documents(
        &self,
        kind: &'static str,
        owner: Option<&str>,
    ) -> Result<Vec<Document>, StoreError> {
        let rows: Vec<DocumentRow> = sqlx::query_as(
            "SELECT id, owner, body, secret FROM documents
             WHERE kind = $1 AND ($2::TEXT IS NULL OR owner = $2) ORDER BY id",
        )
        .bind(kind)
        .bind(owner)
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        rows.into_iter()
            .map(|row| document_from_row(&self.sealer, kind, row))
            .collect()
    }

    async fn delete_document(&self, kind: &'static str, id: &str) -> Result<bool, StoreError> {
        sqlx::query("DELETE FROM documents WHERE kind = $1 AND id = $2")
            .bind(kind)
            .bind(id)
            .execute(&self.pool)
            .await
            .map(|done| done.rows_affected() > 0)
            .map_err(unavailable)
    }
}
