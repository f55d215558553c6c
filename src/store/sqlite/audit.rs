//! The audit trail in SQLite: append-only (triggers refuse UPDATE and DELETE).

use async_trait::async_trait;
use rusqlite::params;

use super::SqliteStore;
use crate::store::rows::{from_unix, unavailable, unix};
use crate::store::{AuditEntry, AuditFilter, AuditLog, AuditOutcome, StoreError};

#[async_trait]
impl AuditLog for SqliteStore {
    async fn append(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let e = entry.clone();
        self.write(move |conn, _| {
            conn.prepare_cached(
                "INSERT INTO audit (at, actor, action, subject, realm, audience, outcome, reason, source, request_id, token_jti, token_expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    unix(e.at), e.actor, e.action, e.subject, e.realm, e.audience, e.outcome.as_str(), e.reason,
                    e.source, e.request_id, e.token_jti, e.token_expires_at.map(unix)
                ])
            })
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        let filter = filter.clone();
        self.blocking(move |conn, _| {
            let order = if filter.newest_first { "DESC" } else { "ASC" };
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT at, actor, action, subject, realm, audience, outcome, reason, source, request_id, token_jti, token_expires_at
                     FROM audit WHERE at >= ?1 AND (?2 IS NULL OR at < ?2) AND (?3 IS NULL OR actor = ?3)
                       AND (?4 IS NULL OR action = ?4 OR action LIKE ?5 ESCAPE '\\')
                       AND (?6 IS NULL OR outcome = ?6) ORDER BY id {order} LIMIT ?7",
                ))
                .map_err(unavailable)?;
            let rows = stmt
                .query_map(
                    params![
                        filter.since.map_or(0, unix),
                        filter.until.map(unix),
                        filter.actor,
                        filter.action,
                        filter.action_prefix(),
                        filter.outcome,
                        filter.limit
                    ],
                    |r| {
                    Ok(AuditEntry {
                        at: from_unix(r.get(0)?),
                        actor: r.get(1)?,
                        action: r.get(2)?,
                        subject: r.get(3)?,
                        realm: r.get(4)?,
                        audience: r.get(5)?,
                        outcome: AuditOutcome::parse(&r.get::<_, String>(6)?).map_err(|e| {
                            rusqlite::Error::FromSqlConversionFailure(6, rusqlite::types::Type::Text, Box::new(e))
                        })?,
                        reason: r.get(7)?,
                        source: r.get(8)?,
                        request_id: r.get(9)?,
                        token_jti: r.get(10)?,
                        token_expires_at: r.get::<_, Option<i64>>(11)?.map(from_unix),
                    })
                })
                .map_err(unavailable)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(unavailable)
        })
        .await
    }
}
