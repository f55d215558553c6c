//! The directory on PostgreSQL: user and domain rules looked up, exported, and
//! replaced or imported in one transaction, thousands of rules per statement.

use std::collections::HashMap;

use async_trait::async_trait;
use sqlx::{Postgres, Transaction};

use super::{PostgresStore, bump};
use crate::domain::{Resolution, RuleKey, Target, Username};
use crate::store::rows::{EXPORT_SQL, export_rows, target_columns, target_from_row, unavailable};
use crate::store::{DirectoryStore, Rules, StoreError};

/// Rules written per statement: large enough that a million rules take a few
/// hundred round trips, small enough to bound the memory of one batch.
const BATCH_ROWS: usize = 5_000;

/// One table's rules of a batch, each key once: a key given again replaces its
/// earlier rule, as row-by-row upserts would (one statement may not upsert a
/// row twice).
#[derive(Default)]
struct Rows(HashMap<String, (Option<String>, Option<String>)>);

impl Rows {
    fn put(&mut self, key: &str, realm: Option<String>, hint: Option<String>) {
        self.0.insert(key.to_owned(), (realm, hint));
    }

    /// Upserts the rows in one statement (`UNNEST` of three arrays).
    async fn write(
        self,
        tx: &mut Transaction<'_, Postgres>,
        table: &str,
        key: &str,
    ) -> Result<(), StoreError> {
        if self.0.is_empty() {
            return Ok(());
        }
        let (keys, (realms, hints)): (Vec<_>, (Vec<_>, Vec<_>)) = self.0.into_iter().unzip();
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO {table} ({key}, realm, idp_hint)
             SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[])
             ON CONFLICT ({key}) DO UPDATE SET realm = EXCLUDED.realm, idp_hint = EXCLUDED.idp_hint"
        )))
        .bind(keys)
        .bind(realms)
        .bind(hints)
        .execute(&mut **tx)
        .await
        .map_err(unavailable)?;
        Ok(())
    }
}

/// The rules of an import not yet written.
#[derive(Default)]
struct Batch {
    users: Rows,
    domains: Rows,
    default: Option<(Option<String>, Option<String>)>,
}

impl Batch {
    fn len(&self) -> usize {
        self.users.0.len() + self.domains.0.len()
    }

    async fn write(self, tx: &mut Transaction<'_, Postgres>) -> Result<(), StoreError> {
        self.users.write(tx, "directory_users", "username").await?;
        self.domains
            .write(tx, "directory_domains", "domain")
            .await?;
        if let Some((realm, hint)) = self.default {
            sqlx::query(
                "INSERT INTO directory_default (id, realm, idp_hint) VALUES (1, $1, $2)
                 ON CONFLICT (id) DO UPDATE SET realm = EXCLUDED.realm, idp_hint = EXCLUDED.idp_hint",
            )
            .bind(realm)
            .bind(hint)
            .execute(&mut **tx)
            .await
            .map_err(unavailable)?;
        }
        Ok(())
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
        let mut batch = Batch::default();
        for rule in rules {
            let (realm, hint) = target_columns(&rule.target);
            let (realm, hint) = (realm.map(str::to_owned), hint.map(str::to_owned));
            match &rule.key {
                RuleKey::User(user) => batch.users.put(user.as_str(), realm, hint),
                RuleKey::Domain(domain) => batch.domains.put(domain.as_str(), realm, hint),
                RuleKey::Default => batch.default = Some((realm, hint)),
            }
            count += 1;
            if batch.len() >= BATCH_ROWS {
                std::mem::take(&mut batch).write(&mut tx).await?;
            }
        }
        batch.write(&mut tx).await?;
        bump(&mut tx, "directory_version").await?;
        tx.commit().await.map_err(unavailable)?;
        Ok(count)
    }

    async fn rule(&self, key: &RuleKey) -> Result<Option<Target>, StoreError> {
        let statement = match key {
            RuleKey::User(user) => {
                sqlx::query_as("SELECT realm, idp_hint FROM directory_users WHERE username = $1")
                    .bind(user.as_str())
            }
            RuleKey::Domain(domain) => {
                sqlx::query_as("SELECT realm, idp_hint FROM directory_domains WHERE domain = $1")
                    .bind(domain.as_str())
            }
            RuleKey::Default => sqlx::query_as("SELECT realm, idp_hint FROM directory_default"),
        };
        let row: Option<(Option<String>, Option<String>)> = statement
            .fetch_optional(&self.pool)
            .await
            .map_err(unavailable)?;
        row.map(|(realm, hint)| target_from_row(realm, hint.as_deref()))
            .transpose()
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
