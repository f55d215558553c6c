//! Clients: the embedding applications, and their provisioning in Keycloak.

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;

use super::{Admin, AdminResult, operator, parse};
use crate::admin::ops::ClientChange;
use crate::admin::sync::SyncChange;
use crate::app::AppState;
use crate::registry::input::{ClientInput, ClientView};

/// Registered clients.
#[utoipa::path(get, path = "/admin/api/clients", responses((status = 200, body = [ClientView])), security(("admin_token" = [])))]
pub async fn list_clients(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
) -> Json<Vec<ClientView>> {
    Json(operator(&app, &admin).list_clients())
}

/// Registers a client; it can log users in at once. An existing client is never
/// overwritten (409): update or replace it.
#[utoipa::path(post, path = "/admin/api/clients", request_body = ClientInput,
    responses((status = 201, body = ClientView), (status = 409), (status = 422)), security(("admin_token" = [])))]
pub async fn create_client(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    body: Bytes,
) -> AdminResult<(StatusCode, Json<ClientView>)> {
    let input: ClientInput = parse(&body)?;
    let client = operator(&app, &admin).create_client(&input).await?;
    Ok((StatusCode::CREATED, Json(ClientView::from(&client))))
}

/// Replaces an existing client as a whole.
#[utoipa::path(put, path = "/admin/api/clients/{client_id}", request_body = ClientInput,
    responses((status = 200, body = ClientView), (status = 404), (status = 409), (status = 422)), security(("admin_token" = [])))]
pub async fn put_client(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    Path(id): Path<String>,
    body: Bytes,
) -> AdminResult<Json<ClientView>> {
    let input: ClientInput = parse(&body)?;
    let client = operator(&app, &admin).replace_client(&id, &input).await?;
    Ok(Json(ClientView::from(&client)))
}

/// Adds or removes origins and realms of a client, keeping the rest.
#[utoipa::path(patch, path = "/admin/api/clients/{client_id}", request_body = ClientChange,
    responses((status = 200, body = ClientView), (status = 404), (status = 409), (status = 422)), security(("admin_token" = [])))]
pub async fn patch_client(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    Path(id): Path<String>,
    body: Bytes,
) -> AdminResult<Json<ClientView>> {
    let change: ClientChange = parse(&body)?;
    let client = operator(&app, &admin).update_client(&id, &change).await?;
    Ok(Json(ClientView::from(&client)))
}

/// Removes a client.
#[utoipa::path(delete, path = "/admin/api/clients/{client_id}", responses((status = 204), (status = 404), (status = 409)), security(("admin_token" = [])))]
pub async fn delete_client(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    Path(id): Path<String>,
) -> AdminResult<StatusCode> {
    operator(&app, &admin).delete_client(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What to sync.
#[derive(Deserialize, IntoParams)]
pub struct SyncQuery {
    /// Only this realm.
    realm: Option<String>,
    /// Report what would change without changing it.
    #[serde(default)]
    dry_run: bool,
}

/// Makes every registered client exist in its Keycloak realms (never deletes).
#[utoipa::path(post, path = "/admin/api/clients/sync", params(SyncQuery),
    responses((status = 200, body = [SyncChange])), security(("admin_token" = [])))]
pub async fn sync(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    Query(query): Query<SyncQuery>,
) -> AdminResult<Json<Vec<SyncChange>>> {
    let changes = operator(&app, &admin)
        .sync_clients(
            app.keycloak_admin.as_ref(),
            &app.public_url,
            app.console.as_ref().map(|c| &c.realm),
            query.realm.as_deref(),
            query.dry_run,
        )
        .await?;
    Ok(Json(changes))
}
