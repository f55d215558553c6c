//! Callers (secrets as Argon2id hashes only) and admin tokens (SHA-256 of
//! 256-bit random values) in SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension as _, params};

use super::SqliteStore;
use crate::domain::CallerId;
use crate::store::rows::{caller_from_row, policy_column, unavailable, unix};
use crate::store::{AccessStore, StoreError, StoredCaller};

#[async_trait]
impl AccessStore for SqliteStore {
    async fn put_caller(&self, caller: &StoredCaller) -> Result<(), StoreError> {
        let caller = caller.clone();
        self.write(move |conn, _| {
            conn.execute(
                "INSERT OR REPLACE INTO callers (caller_id, secret_hash, policy, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![
                    caller.id.as_str(),
                    caller.secret_hash,
                    policy_column(&caller.policy)?,
                    unix(caller.created_at)
                ],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn caller(&self, id: &CallerId) -> Result<Option<StoredCaller>, StoreError> {
        let id = id.clone();
        self.blocking(move |conn, _| {
            let row: Option<(String, String, i64)> = conn
                .prepare_cached(
                    "SELECT secret_hash, policy, created_at FROM callers WHERE caller_id = ?1",
                )
                .and_then(|mut s| {
                    s.query_row(params![id.as_str()], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })
                    .optional()
                })
                .map_err(unavailable)?;
            row.map(|(hash, policy, created)| caller_from_row(id.as_str(), hash, &policy, created))
                .transpose()
        })
        .await
    }

    async fn callers(&self) -> Result<Vec<StoredCaller>, StoreError> {
        self.blocking(|conn, _| {
            let mut stmt = conn
                .prepare("SELECT caller_id, secret_hash, policy, created_at FROM callers ORDER BY caller_id")
                .map_err(unavailable)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(3)?)))
                .map_err(unavailable)?;
            rows.map(|row| {
                let (id, hash, policy, created) = row.map_err(unavailable)?;
                caller_from_row(&id, hash, &policy, created)
            })
            .collect()
        })
        .await
    }

    async fn delete_caller(&self, id: &CallerId) -> Result<bool, StoreError> {
        let id = id.clone();
        self.write(move |conn, _| {
            conn.execute(
                "DELETE FROM callers WHERE caller_id = ?1",
                params![id.as_str()],
            )
            .map(|n| n > 0)
            .map_err(unavailable)
        })
        .await
    }

    async fn put_admin_token(
        &self,
        hash: [u8; 32],
        label: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let label = label.to_owned();
        self.write(move |conn, _| {
            conn.execute(
                "INSERT INTO admin_tokens (token_hash, label, created_at) VALUES (?1, ?2, ?3)",
                params![hash.as_slice(), label, unix(at)],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn admin_token(&self, hash: [u8; 32]) -> Result<Option<String>, StoreError> {
        self.blocking(move |conn, _| {
            conn.prepare_cached("SELECT label FROM admin_tokens WHERE token_hash = ?1")
                .and_then(|mut s| {
                    s.query_row(params![hash.as_slice()], |r| r.get(0))
                        .optional()
                })
                .map_err(unavailable)
        })
        .await
    }
}
