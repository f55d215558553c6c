//! Callers (secrets as Argon2id hashes only) and admin tokens (SHA-256 of
//! 256-bit random values) in SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension as _, params};

use super::SqliteStore;
use crate::domain::CallerId;
use crate::store::rows::{admin_token_from_row, caller_from_row, policy_column, unavailable, unix};
use crate::store::{AccessStore, StoreError, StoredAdminToken, StoredCaller};

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

    async fn put_admin_token(&self, token: &StoredAdminToken) -> Result<(), StoreError> {
        let token = token.clone();
        self.write(move |conn, _| {
            conn.execute(
                "INSERT INTO admin_tokens (token_hash, label, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![
                    token.hash.as_slice(),
                    token.label,
                    unix(token.created_at),
                    token.expires_at.map(unix)
                ],
            )
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn admin_token(&self, hash: [u8; 32]) -> Result<Option<StoredAdminToken>, StoreError> {
        self.blocking(move |conn, _| {
            conn.prepare_cached(
                "SELECT token_hash, label, created_at, expires_at FROM admin_tokens WHERE token_hash = ?1",
            )
            .and_then(|mut s| s.query_row(params![hash.as_slice()], token_row).optional())
            .map_err(unavailable)?
            .transpose()
        })
        .await
    }

    async fn admin_tokens(&self) -> Result<Vec<StoredAdminToken>, StoreError> {
        self.blocking(|conn, _| {
            let mut stmt = conn
                .prepare(
                    "SELECT token_hash, label, created_at, expires_at FROM admin_tokens ORDER BY created_at, label",
                )
                .map_err(unavailable)?;
            let rows = stmt.query_map([], token_row).map_err(unavailable)?;
            rows.map(|row| row.map_err(unavailable)?).collect()
        })
        .await
    }

    async fn expire_admin_token(
        &self,
        hash: [u8; 32],
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.write(move |conn, _| {
            conn.execute(
                "UPDATE admin_tokens SET expires_at = ?2 WHERE token_hash = ?1",
                params![hash.as_slice(), unix(at)],
            )
            .map(|n| n > 0)
            .map_err(unavailable)
        })
        .await
    }

    async fn delete_admin_token(&self, hash: [u8; 32]) -> Result<bool, StoreError> {
        self.write(move |conn, _| {
            conn.execute(
                "DELETE FROM admin_tokens WHERE token_hash = ?1",
                params![hash.as_slice()],
            )
            .map(|n| n > 0)
            .map_err(unavailable)
        })
        .await
    }
}

/// An `admin_tokens` row (hash, label, created, expires).
fn token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<StoredAdminToken, StoreError>> {
    let hash: Vec<u8> = r.get(0)?;
    let label: String = r.get(1)?;
    let created: i64 = r.get(2)?;
    let expires: Option<i64> = r.get(3)?;
    Ok(admin_token_from_row(&hash, label, created, expires))
}
