//! Tenants, their signing keys and their API keys.

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::{Admin, AdminResult, operator, parse};
use crate::admin::ops::api_keys::{ApiKeyInput, ApiKeyView};
use crate::admin::ops::host_keys::{HostKeyInput, HostKeyView};
use crate::admin::ops::providers::{ProviderView, SecretsInput, TestReport};
use crate::admin::ops::resources::{RegistrationView, ResourceView};
use crate::admin::ops::tenants::{TenantInput, TenantView};
use crate::app::AppState;

/// Every tenant.
#[utoipa::path(get, path = "/admin/api/tenants", responses((status = 200, body = [TenantView])), security(("admin_token" = [])))]
pub async fn list_tenants(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
) -> AdminResult<Json<Vec<TenantView>>> {
    Ok(Json(operator(&app, &admin).list_tenants().await?))
}

/// Creates or replaces a tenant.
#[utoipa::path(put, path = "/admin/api/tenants/{tenant_id}", request_body = TenantInput,
    responses((status = 200, body = TenantView), (status = 422)), security(("admin_token" = [])))]
pub async fn put_tenant(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    Path(id): Path<String>,
    body: Bytes,
) -> AdminResult<Json<TenantView>> {
    let input: TenantInput = parse(&body)?;
    Ok(Json(operator(&app, &admin).put_tenant(&id, &input).await?))
}

/// Removes a tenant (with its keys, resources and registrations); refused while
/// it has sub-tenants.
#[utoipa::path(delete, path = "/admin/api/tenants/{tenant_id}", responses((status = 204), (status = 404), (status = 409)), security(("admin_token" = [])))]
pub async fn delete_tenant(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    Path(id): Path<String>,
) -> AdminResult<StatusCode> {
    operator(&app, &admin).delete_tenant(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The tenant's signing keys.
#[utoipa::path(get, path = "/admin/api/tenants/{tenant_id}/keys", responses((status = 200, body = [HostKeyView]), (status = 404)), security(("admin_token" = [])))]
pub async fn list_keys(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    Path(id): Path<String>,
) -> AdminResult<Json<Vec<HostKeyView>>> {
    Ok(Json(operator(&app, &admin).list_host_keys(&id).await?))
}

/// Registers a signing key (or makes a pair: the private JWK is shown once).
#[utoipa::path(post, path = "/admin/api/tenants/{tenant_id}/keys", request_body = HostKeyInput,
    responses((status = 201, body = HostKeyView), (status = 404), (status = 409), (status = 422)), security(("admin_token" = [])))]
pub async fn add_key(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    Path(id): Path<String>,
    body: Bytes,
) -> AdminResult<(StatusCode, Json<HostKeyView>)> {
    let input: HostKeyInput = parse(&body)?;
    let view = operator(&app, &admin).add_host_key(&id, &input).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Revokes a signing key, at once.
#[utoipa::path(delete, path = "/admin/api/tenants/{tenant_id}/keys/{kid}", responses((status = 200, body = HostKeyView), (status = 404)), security(("admin_token" = [])))]
pub async fn revoke_key(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    Path((id, kid)): Path<(String, String)>,
) -> AdminResult<Json<HostKeyView>> {
    Ok(Json(
        operator(&app, &admin).revoke_host_key(&id, &kid).await?,
    ))
}

/// The tenant's API keys.
#[utoipa::path(get, path = "/admin/api/tenants/{tenant_id}/api-keys", responses((status = 200, body = [ApiKeyView]), (status = 404)), security(("admin_token" = [])))]
pub async fn list_api_keys(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    Path(id): Path<String>,
) -> AdminResult<Json<Vec<ApiKeyView>>> {
    Ok(Json(operator(&app, &admin).list_api_keys(&id).await?))
}

/// Makes an API key; the credential is shown once.
#[utoipa::path(post, path = "/admin/api/tenants/{tenant_id}/api-keys", request_body = ApiKeyInput,
    responses((status = 201, body = ApiKeyView), (status = 404), (status = 422)), security(("admin_token" = [])))]
pub async fn create_api_key(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    Path(id): Path<String>,
    body: Bytes,
) -> AdminResult<(StatusCode, Json<ApiKeyView>)> {
    let input: ApiKeyInput = parse(&body)?;
    let view = operator(&app, &admin).create_api_key(&id, &input).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Revokes an API key, at once.
#[utoipa::path(delete, path = "/admin/api/tenants/{tenant_id}/api-keys/{key_id}", responses((status = 200, body = ApiKeyView), (status = 404)), security(("admin_token" = [])))]
pub async fn revoke_api_key(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    Path((id, key)): Path<(String, String)>,
) -> AdminResult<Json<ApiKeyView>> {
    Ok(Json(
        operator(&app, &admin).revoke_api_key(&id, &key).await?,
    ))
}

/// The tenant's identity providers (never their secrets: only whether they are set).
#[utoipa::path(get, path = "/admin/api/tenants/{tenant_id}/providers", responses((status = 200, body = [ProviderView]), (status = 404)), security(("admin_token" = [])))]
pub async fn list_providers(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    Path(id): Path<String>,
) -> AdminResult<Json<Vec<ProviderView>>> {
    Ok(Json(operator(&app, &admin).list_providers(&id).await?))
}

/// Sets a provider's secrets (Piano: API token and signing key); write-only.
#[utoipa::path(put, path = "/admin/api/tenants/{tenant_id}/providers/{name}/secrets", request_body = SecretsInput,
    responses((status = 200, body = ProviderView), (status = 404), (status = 422)), security(("admin_token" = [])))]
pub async fn put_provider_secrets(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    Path((id, name)): Path<(String, String)>,
    body: Bytes,
) -> AdminResult<Json<ProviderView>> {
    let input: SecretsInput = parse(&body)?;
    Ok(Json(
        operator(&app, &admin)
            .put_provider_secrets(&id, &name, &input)
            .await?,
    ))
}

/// Tests a provider: its keys or discovery are fetched (Piano: its API called
/// with the API token), and the answer says what is wrong.
#[utoipa::path(post, path = "/admin/api/tenants/{tenant_id}/providers/{name}/test",
    responses((status = 200, body = TestReport), (status = 404)), security(("admin_token" = [])))]
pub async fn test_provider(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    Path((id, name)): Path<(String, String)>,
) -> AdminResult<Json<TestReport>> {
    Ok(Json(
        operator(&app, &admin)
            .test_provider(&app.host_jwks, &id, &name)
            .await?,
    ))
}

/// The tenant's resources (made by its backend), each with its count of
/// registrations.
#[utoipa::path(get, path = "/admin/api/tenants/{tenant_id}/resources", responses((status = 200, body = [ResourceView]), (status = 404)), security(("admin_token" = [])))]
pub async fn list_resources(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    Path(id): Path<String>,
) -> AdminResult<Json<Vec<ResourceView>>> {
    Ok(Json(operator(&app, &admin).list_resources(&id).await?))
}

/// The people registered for a resource, oldest first, then by name (never their
/// join URLs).
#[utoipa::path(get, path = "/admin/api/tenants/{tenant_id}/resources/{resource_id}/registrations",
    responses((status = 200, body = [RegistrationView]), (status = 404)), security(("admin_token" = [])))]
pub async fn list_registrations(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    Path((id, resource)): Path<(String, String)>,
) -> AdminResult<Json<Vec<RegistrationView>>> {
    Ok(Json(
        operator(&app, &admin)
            .list_registrations(&id, &resource)
            .await?,
    ))
}

/// Revokes a registration: its join URL stops and its open sessions end at once.
#[utoipa::path(delete, path = "/admin/api/tenants/{tenant_id}/resources/{resource_id}/registrations/{registration_id}",
    responses((status = 204), (status = 404)), security(("admin_token" = [])))]
pub async fn revoke_registration(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    Path((id, resource, registration)): Path<(String, String, String)>,
) -> AdminResult<StatusCode> {
    operator(&app, &admin)
        .revoke_registration(&id, &resource, &registration)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
