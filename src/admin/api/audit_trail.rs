//! Reading the audit trail.

use axum::Json;
use axum::extract::{Query, State};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::AdminResult;
use crate::app::AppState;
use crate::store::AuditEntry;

#[derive(Deserialize, IntoParams)]
/// Which audit rows to list.
pub struct AuditQuery {
    /// Only rows at or after this time (RFC 3339).
    since: Option<DateTime<Utc>>,
    /// Only rows of this caller.
    caller: Option<String>,
    /// At most this many rows (default 1000).
    limit: Option<u32>,
}

/// The audit trail, oldest first.
#[utoipa::path(get, path = "/admin/api/audit", params(AuditQuery), responses((status = 200, body = [AuditRow])), security(("admin_token" = [])))]
pub async fn read_audit(
    State(app): State<AppState>,
    Query(query): Query<AuditQuery>,
) -> AdminResult<Json<Vec<AuditEntry>>> {
    let actor = query.caller.map(|c| format!("caller:{c}"));
    Ok(Json(
        app.audit
            .audit_since(
                query.since,
                actor.as_deref(),
                query.limit.unwrap_or(1000).min(100_000),
            )
            .await?,
    ))
}

/// The audit row as the OpenAPI document describes it.
#[derive(ToSchema)]
#[expect(dead_code, reason = "read by the OpenAPI schema only")]
pub struct AuditRow {
    at: DateTime<Utc>,
    actor: String,
    action: String,
    subject: Option<String>,
    realm: Option<String>,
    audience: Option<String>,
    outcome: String,
    reason: Option<String>,
    source: Option<String>,
    request_id: Option<String>,
    token_jti: Option<String>,
    token_expires_at: Option<DateTime<Utc>>,
}
