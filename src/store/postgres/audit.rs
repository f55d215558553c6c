//! The audit trail on PostgreSQL: appended, never changed (the database refuses
//! updates and deletes), read back by filter. Rows are written in batches, each
//! caller answered after its batch's commit (`batch`).

use async_trait::async_trait;

mod batch;

pub(super) use batch::AuditBatcher;

use super::PostgresStore;
use crate::store::rows::{from_unix, unavailable, unix};
use crate::store::{AuditEntry, AuditFilter, AuditLog, AuditOutcome, StoreError};

/// The rows a filter selects, in one order (a constant either way).
macro_rules! select_audit {
    ($order:literal) => {
        concat!(
            "SELECT at, actor, action, subject, realm, audience, outcome, reason, source, request_id, token_jti, token_expires_at
             FROM audit WHERE at >= $1 AND ($2::BIGINT IS NULL OR at < $2) AND ($3::TEXT IS NULL OR actor = $3)
               AND ($4::TEXT IS NULL OR action = $4 OR action LIKE $5 ESCAPE '\\')
               AND ($6::TEXT IS NULL OR outcome = $6) ORDER BY id ",
            $order,
            " LIMIT $7"
        )
    };
}

#[async_trait]
impl AuditLog for PostgresStore {
    async fn append(&self, e: &AuditEntry) -> Result<(), StoreError> {
        self.timed("write", self.audit_rows.append(e.clone())).await
    }

    async fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let query = if filter.newest_first {
            select_audit!("DESC")
        } else {
            select_audit!("ASC")
        };
        let rows: Vec<AuditRow> = sqlx::query_as(query)
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
