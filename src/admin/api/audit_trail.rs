//! Reading the audit trail.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::{AdminError, AdminResult};
use crate::app::AppState;
use crate::store::{AuditEntry, AuditFilter};

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
/// Which audit rows to list; every filter given must match.
pub struct AuditQuery {
    /// Only rows at or after this time (`2026-12-01` or RFC 3339).
    #[serde(default, deserialize_with = "crate::clock::deserialize_instant")]
    #[param(value_type = Option<String>)]
    since: Option<DateTime<Utc>>,
    /// Only rows before this time (`2026-12-02` or RFC 3339).
    #[serde(default, deserialize_with = "crate::clock::deserialize_instant")]
    #[param(value_type = Option<String>)]
    until: Option<DateTime<Utc>>,
    /// Only rows of this actor (`admin:ops`, `cli:alice`, `caller:billing`).
    actor: Option<String>,
    /// Only rows of this impersonation caller (same as `actor=caller:<id>`).
    caller: Option<String>,
    /// Only this action, or the actions under it (`client` for `client.*`).
    action: Option<String>,
    /// Only this outcome (`changed`, `issued`, `denied`, ...).
    outcome: Option<String>,
    /// At most this many rows (default 1000, at most 100000).
    limit: Option<u32>,
    /// `oldest` (the default: the oldest rows, oldest first, for reading the
    /// trail forward with `since`) or `newest` (the newest rows, newest first).
    #[param(value_type = Option<String>)]
    order: Option<Order>,
}

/// The order of the rows.
#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Order {
    Oldest,
    Newest,
}

/// The audit trail: the oldest rows first, or with `order=newest` the newest first.
#[utoipa::path(get, path = "/admin/api/audit", params(AuditQuery), responses((status = 200, body = [AuditRow]), (status = 400)), security(("admin_token" = [])))]
pub async fn read_audit(
    State(app): State<AppState>,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> AdminResult<Json<Vec<AuditEntry>>> {
    let Query(query) = query.map_err(|e| AdminError::BadRequest(e.body_text()))?;
    let filter = AuditFilter {
        since: query.since,
        until: query.until,
        actor: query.actor.or(query.caller.map(|c| format!("caller:{c}"))),
        action: query.action.filter(|a| !a.is_empty()),
        outcome: query.outcome.filter(|o| !o.is_empty()),
        limit: query.limit.unwrap_or(1000).min(100_000),
        newest_first: query.order == Some(Order::Newest),
    };
    Ok(Json(app.audit.audit(&filter).await?))
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
