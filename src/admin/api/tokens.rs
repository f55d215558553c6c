//! Admin tokens: create (shown once), list, expire, revoke; and an
//! administrator's console sessions, ended.

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::{Admin, AdminResult, operator, parse};
use crate::admin::ops::{AdminTokenInput, AdminTokenView, ExpireInput};
use crate::app::AppState;

/// Every admin token (never their values).
#[utoipa::path(get, path = "/admin/api/tokens", responses((status = 200, body = [AdminTokenView])), security(("admin_token" = [])))]
pub async fn list_tokens(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
) -> AdminResult<Json<Vec<AdminTokenView>>> {
    Ok(Json(operator(&app, &admin).list_admin_tokens().await?))
}

/// Creates an admin token; the answer holds it, this once.
#[utoipa::path(post, path = "/admin/api/tokens", request_body = AdminTokenInput,
    responses((status = 201, body = AdminTokenView), (status = 422)), security(("admin_token" = [])))]
pub async fn create_token(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    body: Bytes,
) -> AdminResult<(StatusCode, Json<AdminTokenView>)> {
    let input: AdminTokenInput = parse(&body)?;
    let view = operator(&app, &admin).create_admin_token(&input).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Makes a token stop working now, or at `at`; it stays listed as expired.
#[utoipa::path(post, path = "/admin/api/tokens/{id}/expire", request_body = ExpireInput,
    responses((status = 200, body = AdminTokenView), (status = 404), (status = 422)), security(("admin_token" = [])))]
pub async fn expire_token(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    Path(id): Path<String>,
    body: Bytes,
) -> AdminResult<Json<AdminTokenView>> {
    let input: ExpireInput = if body.iter().all(u8::is_ascii_whitespace) {
        ExpireInput::default()
    } else {
        parse(&body)?
    };
    Ok(Json(
        operator(&app, &admin)
            .expire_admin_token(&id, &input)
            .await?,
    ))
}

/// Revokes a token: it stops working at once and is no longer listed.
#[utoipa::path(delete, path = "/admin/api/tokens/{id}", responses((status = 204), (status = 404)), security(("admin_token" = [])))]
pub async fn revoke_token(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    Path(id): Path<String>,
) -> AdminResult<StatusCode> {
    operator(&app, &admin).revoke_admin_token(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends every console session of the administrator with this subject at the
/// console's realm at once (signing in again works).
#[utoipa::path(delete, path = "/admin/api/console/sessions/{subject}", responses((status = 204), (status = 422)), security(("admin_token" = [])))]
pub async fn end_console_sessions(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    Path(subject): Path<String>,
) -> AdminResult<StatusCode> {
    operator(&app, &admin)
        .end_console_sessions(&subject)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
