//! Impersonation callers and their policies.

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::{Admin, AdminResult, operator, parse};
use crate::admin::ops::{CallerInput, CallerView, PolicyInput};
use crate::app::AppState;

/// Impersonation callers.
#[utoipa::path(get, path = "/admin/api/callers", responses((status = 200, body = [CallerView])), security(("admin_token" = [])))]
pub async fn list_callers(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
) -> AdminResult<Json<Vec<CallerView>>> {
    Ok(Json(operator(&app, &admin).list_callers().await?))
}

/// Creates a caller; the answer shows its secret, this once.
#[utoipa::path(post, path = "/admin/api/callers", request_body = CallerInput,
    responses((status = 201, body = CallerView), (status = 409), (status = 422)), security(("admin_token" = [])))]
pub async fn create_caller(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    body: Bytes,
) -> AdminResult<(StatusCode, Json<CallerView>)> {
    let input: CallerInput = parse(&body)?;
    let view = operator(&app, &admin).create_caller(&input).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Replaces a caller's policy.
#[utoipa::path(put, path = "/admin/api/callers/{caller_id}/policy", request_body = PolicyInput,
    responses((status = 200, body = CallerView), (status = 404), (status = 422)), security(("admin_token" = [])))]
pub async fn put_policy(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    Path(id): Path<String>,
    body: Bytes,
) -> AdminResult<Json<CallerView>> {
    let input: PolicyInput = parse(&body)?;
    Ok(Json(
        operator(&app, &admin).replace_policy(&id, &input).await?,
    ))
}

/// Gives a caller a new secret, shown this once; the old secret stops working.
#[utoipa::path(post, path = "/admin/api/callers/{caller_id}/secret", responses((status = 200, body = CallerView), (status = 404)), security(("admin_token" = [])))]
pub async fn rotate_secret(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    Path(id): Path<String>,
) -> AdminResult<Json<CallerView>> {
    Ok(Json(
        operator(&app, &admin).rotate_caller_secret(&id).await?,
    ))
}

/// Removes a caller.
#[utoipa::path(delete, path = "/admin/api/callers/{caller_id}", responses((status = 204), (status = 404)), security(("admin_token" = [])))]
pub async fn delete_caller(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    Path(id): Path<String>,
) -> AdminResult<StatusCode> {
    operator(&app, &admin).delete_caller(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
