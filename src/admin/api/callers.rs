//! Impersonation callers and their policies.

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::{Admin, AdminError, AdminResult, audit, parse};
use crate::admin::ops::{self, CallerInput, CallerView, PolicyInput};
use crate::app::AppState;
use crate::domain::CallerId;

/// Impersonation callers.
#[utoipa::path(get, path = "/admin/api/callers", responses((status = 200, body = [CallerView])), security(("admin_token" = [])))]
pub async fn list_callers(State(app): State<AppState>) -> AdminResult<Json<Vec<CallerView>>> {
    Ok(Json(
        app.access
            .callers()
            .await?
            .iter()
            .map(CallerView::from)
            .collect(),
    ))
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
    let (id, policy) = input
        .validate(&app.registry.snapshot())
        .map_err(AdminError::Validation)?;
    if app.access.caller(&id).await?.is_some() {
        return Err(AdminError::Conflict(format!("Caller {id} exists.")));
    }
    let view = ops::create_caller(app.access.as_ref(), id.clone(), policy, app.clock.now()).await?;
    audit(&app, &admin, "caller.create", id.as_str()).await?;
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
    let id = CallerId::parse(&id).map_err(|e| AdminError::NotFound(e.to_string()))?;
    let mut caller = app
        .access
        .caller(&id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("No caller {id}.")))?;
    caller.policy = input
        .validate(&app.registry.snapshot())
        .map_err(AdminError::Validation)?;
    app.access.put_caller(&caller).await?;
    audit(&app, &admin, "caller.policy", id.as_str()).await?;
    Ok(Json(CallerView::from(&caller)))
}

/// Removes a caller.
#[utoipa::path(delete, path = "/admin/api/callers/{caller_id}", responses((status = 204), (status = 404)), security(("admin_token" = [])))]
pub async fn delete_caller(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    Path(id): Path<String>,
) -> AdminResult<StatusCode> {
    let id = CallerId::parse(&id).map_err(|e| AdminError::NotFound(e.to_string()))?;
    if !app.access.delete_caller(&id).await? {
        return Err(AdminError::NotFound(format!("No caller {id}.")));
    }
    audit(&app, &admin, "caller.delete", id.as_str()).await?;
    Ok(StatusCode::NO_CONTENT)
}
