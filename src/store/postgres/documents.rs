//! Documents on PostgreSQL: small JSON bodies by kind, id and owner, with an
//! optional secret sealed under `kind:id`.

use async_trait::async_trait;

use super::PostgresStore;
use crate::store::rows::unavailable;
use crate::store::rows::{DocumentRow, document_from_row, document_to_row};
use crate::store::{Document, DocumentStore, StoreError};

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
