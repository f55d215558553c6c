//! The directory on PostgreSQL: user and domain rules looked up, exported, and
//! replaced or imported in one transaction.

use async_trait::async_trait;

use super::{PostgresStore, bump};
use crate::domain::{Resolution, RuleKey, Username};
use crate::store::rows::{EXPORT_SQL, export_rows, target_columns, target_from_row, unavailable};
use crate::store::{DirectoryStore, Rules, StoreError};

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
