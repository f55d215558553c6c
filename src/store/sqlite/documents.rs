//! Documents (tenants, host keys, API keys, the broker's signing keys) in SQLite.

use async_trait::async_trait;
use rusqlite::{OptionalExtension as _, params};

use super::SqliteStore;
use crate::store::rows::{DocumentRow, document_from_row, document_to_row, unavailable};
use crate::store::{Document, DocumentStore, StoreError};

#[async_trait]
impl DocumentStore for SqliteStore {
    async fn put_document(&self, kind: &'static str, doc: &Document) -> Result<(), StoreError> {
        let (id, owner, body, secret) = document_to_row(&self.sealer, kind, doc)?;
        self.write(move |conn, _| {
            conn.execute(
                "INSERT OR REPLACE INTO documents (kind, id, owner, body, secret) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![kind, id, owner, body, secret],
            )
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
        let (id, owner, body, secret) = document_to_row(&self.sealer, kind, doc)?;
        self.write(move |conn, _| {
            conn.execute(
                "INSERT INTO documents (kind, id, owner, body, secret) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (kind, id) DO NOTHING",
                params![kind, id, owner, body, secret],
            )
            .map(|n| n > 0)
            .map_err(unavailable)
        })
        .await
    }

    async fn document(&self, kind: &'static str, id: &str) -> Result<Option<Document>, StoreError> {
        let row: Option<DocumentRow> = self.read_inline(|conn| {
            conn.prepare_cached(
                "SELECT id, owner, body, secret FROM documents WHERE kind = ?1 AND id = ?2",
            )
            .and_then(|mut s| {
                s.query_row(params![kind, id], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
                .optional()
            })
            .map_err(unavailable)
        })?;
        row.map(|row| document_from_row(&self.sealer, kind, row))
            .transpose()
    }

    async fn documents(
        &self,
        kind: &'static str,
        owner: Option<&str>,
    ) -> Result<Vec<Document>, StoreError> {
        let owner = owner.map(str::to_owned);
        let rows: Vec<DocumentRow> = self
            .blocking(move |conn, _| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT id, owner, body, secret FROM documents
                         WHERE kind = ?1 AND (?2 IS NULL OR owner = ?2) ORDER BY id",
                    )
                    .map_err(unavailable)?;
                let rows = stmt
                    .query_map(params![kind, owner], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                    })
                    .map_err(unavailable)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(unavailable)
            })
            .await?;
        rows.into_iter()
            .map(|row| document_from_row(&self.sealer, kind, row))
            .collect()
    }

    async fn delete_document(&self, kind: &'static str, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.write(move |conn, _| {
            conn.execute(
                "DELETE FROM documents WHERE kind = ?1 AND id = ?2",
                params![kind, id],
            )
            .map(|n| n > 0)
            .map_err(unavailable)
        })
        .await
    }
}
