//! Callers and admin tokens on PostgreSQL: secrets as hashes, policies as JSON.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::PostgresStore;
use crate::domain::CallerId;
use crate::store::rows::{admin_token_from_row, caller_from_row, policy_column, unavailable, unix};
use crate::store::{AccessStore, StoreError, StoredAdminToken, StoredCaller};

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
