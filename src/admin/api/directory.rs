//! The directory: single rules, bulk import and export.

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{Admin, AdminResult, operator, parse};
use crate::admin::ops::{LookupView, RuleInput};
use crate::app::AppState;

/// Adds or replaces one directory rule.
#[utoipa::path(post, path = "/admin/api/directory/rules", request_body = RuleInput,
    responses((status = 204), (status = 422)), security(("admin_token" = [])))]
pub async fn put_rule(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    body: Bytes,
) -> AdminResult<StatusCode> {
    let input: RuleInput = parse(&body)?;
    operator(&app, &admin).put_rule(&input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes one directory rule (`kind` and `key`).
#[utoipa::path(delete, path = "/admin/api/directory/rules", request_body = RuleInput,
    responses((status = 204), (status = 404)), security(("admin_token" = [])))]
pub async fn delete_rule(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    body: Bytes,
) -> AdminResult<StatusCode> {
    let input: RuleInput = parse(&body)?;
    operator(&app, &admin).delete_rule(&input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How to import.
#[derive(Deserialize, IntoParams)]
pub struct ImportQuery {
    /// Empty the directory first (in the same transaction).
    #[serde(default)]
    replace: bool,
}

/// Imports CSV rules (`kind,key,realm,idp_hint`), all or nothing: every bad row
/// is reported (422, `fields` by line) and nothing is written then.
#[utoipa::path(post, path = "/admin/api/directory/import", params(ImportQuery), request_body(content = String, content_type = "text/csv"),
    responses((status = 200), (status = 422)), security(("admin_token" = [])))]
pub async fn import_directory(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    Query(query): Query<ImportQuery>,
    body: Bytes,
) -> AdminResult<Json<serde_json::Value>> {
    let count = operator(&app, &admin)
        .import_directory(body, query.replace)
        .await?;
    Ok(Json(serde_json::json!({ "imported": count })))
}

/// Every directory rule, as CSV.
#[utoipa::path(get, path = "/admin/api/directory/export", responses((status = 200, content_type = "text/csv", body = String)), security(("admin_token" = [])))]
pub async fn export_directory(State(app): State<AppState>) -> AdminResult<Response> {
    let csv = app.directory.export_csv().await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        csv,
    )
        .into_response())
}

/// Whom to look up: in the body, so a user's name is never in a URL (where
/// access logs and browser histories keep it).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupRequest {
    /// The username (`alice@corp.example`).
    user: String,
}

/// Where a user goes: what discovery answers for them.
#[utoipa::path(post, path = "/admin/api/directory/lookup", request_body = LookupRequest,
    responses((status = 200, body = LookupView), (status = 422)), security(("admin_token" = [])))]
pub async fn lookup(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    body: Bytes,
) -> AdminResult<Json<LookupView>> {
    let request: LookupRequest = parse(&body)?;
    Ok(Json(
        operator(&app, &admin).lookup_user(&request.user).await?,
    ))
}
