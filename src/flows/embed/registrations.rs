//! Per-user embed URLs, resources and registrations (seed 004), without the
//! vendor's bearer URL: the host backend (API key) registers resources with the
//! embedded app's page for each and an ACL, asks for an embed URL per user
//! (`POST /api/v1/embeds`: the page's URL with a one-time ticket in its
//! fragment, no personal data), and registers people for a resource, each with
//! a join URL (`GET /join/<credential>`) that mints a fresh ticket per use and
//! can be re-issued (the old one stops) or revoked (its sessions end).

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::audit::audit_entry;
use super::tickets;
use super::vouched::{HostUser, Profile};
use crate::app::AppState;
use crate::crypto;
use crate::domain::app_page::is_app_url;
use crate::domain::tenant::registrant_sub;
use crate::domain::{
    Acl, EmailSource, Operation, RegistrationEmail, Resource, ResourceId, ResourceRef,
    ResourceType, Tenant,
};
use crate::flows::embed_hosts::{
    HostCall, audited, bad, call, is_host_user_id, profile_problem, session_end,
};
use crate::http::client_addr::ClientAddr;
use crate::http::code::ErrorCode;
use crate::http::error::{ApiError, PageError, WebError};
use crate::http::json;
use crate::http::page::{self, error_page};
use crate::http::request_id::RequestId;
use crate::store::AuditEntry;
use crate::store::resources::{Registration, ResourceStore as _, email_key};
use crate::store::tenants::TenantStore as _;

/// The largest registration metadata, serialised.
const MAX_METADATA_BYTES: usize = 4096;
/// How deep registration metadata may nest.
const MAX_METADATA_DEPTH: usize = 4;

/// `?tenant=`: a sub-tenant the API key acts for.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantQuery {
    #[serde(default)]
    tenant: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourceInput {
    #[serde(rename = "type")]
    kind: String,
    url: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmbedUser {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    avatar: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmbedRequest {
    #[serde(default)]
    tenant: Option<String>,
    user: EmbedUser,
    #[serde(default)]
    resource: Option<ResourceRef>,
    #[serde(default)]
    resource_specific: bool,
    #[serde(default)]
    session_secs: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistrationRequest {
    name: String,
    email: String,
    #[serde(default)]
    metadata: Option<Value>,
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn resource_view(resource: &Resource) -> Value {
    json!({
        "tenant": resource.tenant,
        "type": resource.kind,
        "id": resource.id,
        "url": resource.url,
        "acl": resource.acl,
    })
}

fn not_found(code: ErrorCode, message: &str) -> Response {
    ApiError(WebError::new(code, message.to_owned())).into_response()
}

fn store_failed(err: impl Into<WebError>) -> Response {
    ApiError(err.into()).into_response()
}

/// Whether `url` is an embedded app's page on an origin one of the tenant's
/// clients registered.
fn on_tenant_origin(app: &AppState, tenant: &Tenant, url: &str) -> bool {
    is_app_url(url) && app.registry.snapshot().on_origin_of(&tenant.clients, url)
}

fn parse_resource_id(raw: &str) -> Result<ResourceId, WebError> {
    ResourceId::parse(raw).map_err(|e| WebError::new(ErrorCode::InvalidRequest, e.to_string()))
}

async fn find_resource(
    app: &AppState,
    tenant: &Tenant,
    id: &ResourceId,
) -> Result<Resource, Response> {
    app.durable
        .resource(&tenant.id, id)
        .await
        .map_err(store_failed)?
        .ok_or_else(|| {
            not_found(
                ErrorCode::ResourceNotFound,
                "The tenant has no resource of this id: register it with PUT /api/v1/resources/{id}.",
            )
        })
}

/// The resource a host API call names, once its API key may manage the
/// tenant's resources.
async fn resource_of(
    app: &AppState,
    call: &mut HostCall,
    headers: &HeaderMap,
    query: &TenantQuery,
    id: &str,
) -> Result<(Tenant, Resource), Response> {
    let key = call.admit(app, headers, Operation::ManageResources).await?;
    let (tenant, _) = call.tenant(app, &key, query.tenant.as_deref()).await?;
    let id = parse_resource_id(id).map_err(store_failed)?;
    let resource = find_resource(app, &tenant, &id).await?;
    Ok((tenant, resource))
}

/// `PUT /api/v1/resources/{id} {type, url}`: registers (or changes) a resource
/// and the embedded app's page for it; its ACL is kept.
pub async fn put_resource(
    State(app): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    client: Option<Extension<ClientAddr>>,
    Path(id): Path<String>,
    Query(query): Query<TenantQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut call = call(&app, "resource.put", request_id, client);
    let response = async {
        let key = call.admit(&app, &headers, Operation::ManageResources).await?;
        let (tenant, _) = call.tenant(&app, &key, query.tenant.as_deref()).await?;
        let id = parse_resource_id(&id).map_err(store_failed)?;
        let input: ResourceInput = json::object(&body)
            .map_err(|e| bad(format!("The body must be JSON {{\"type\": \"event\", \"url\": \"https://app.example/...\"}} ({e}).")))?;
        let kind = ResourceType::parse(&input.kind).map_err(|e| bad(format!("type: {e}")))?;
        if !on_tenant_origin(&app, &tenant, &input.url) {
            return Err(bad("url: the embedded app's page for the resource, an absolute https URL without fragment on an origin registered by one of the tenant's clients"));
        }
        let acl = app
            .durable
            .resource(&tenant.id, &id)
            .await
            .map_err(store_failed)?
            .map(|r| r.acl)
            .unwrap_or_default();
        let resource = Resource {
            tenant: tenant.id.clone(),
            kind,
            id,
            url: input.url,
            acl,
        };
        call.audit.subject = Some(format!("{}/{}", tenant.id, resource.id));
        app.durable.put_resource(&resource).await.map_err(store_failed)?;
        Ok(Json(resource_view(&resource)).into_response())
    }
    .await;
    audited(&app, call, response).await
}

/// `GET /api/v1/resources/{id}`: the resource and its ACL.
pub async fn get_resource(
    State(app): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    client: Option<Extension<ClientAddr>>,
    Path(id): Path<String>,
    Query(query): Query<TenantQuery>,
    headers: HeaderMap,
) -> Response {
    let mut call = call(&app, "resource.read", request_id, client);
    let response = async {
        let (_, resource) = resource_of(&app, &mut call, &headers, &query, &id).await?;
        Ok(Json(resource_view(&resource)).into_response())
    }
    .await;
    audited(&app, call, response).await
}

/// `PUT /api/v1/resources/{id}/acl {presenters, organizers}`: who holds more
/// than the attendee role; sessions see it at their next renewal.
pub async fn put_acl(
    State(app): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    client: Option<Extension<ClientAddr>>,
    Path(id): Path<String>,
    Query(query): Query<TenantQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut call = call(&app, "resource.acl", request_id, client);
    let response = async {
        let (tenant, mut resource) = resource_of(&app, &mut call, &headers, &query, &id).await?;
        let acl: Acl = json::object(&body).map_err(|e| {
            bad(format!("The body must be JSON {{\"presenters\": [user ids or emails], \"organizers\": [...]}} ({e})."))
        })?;
        if let Some(problem) = acl.problems().first() {
            return Err(bad(format!("{}: {}", problem.path, problem.message)));
        }
        call.audit.subject = Some(format!("{}/{}", tenant.id, resource.id));
        resource.acl = acl;
        app.durable.put_resource(&resource).await.map_err(store_failed)?;
        Ok(Json(resource_view(&resource)).into_response())
    }
    .await;
    audited(&app, call, response).await
}

/// `POST /api/v1/embeds {tenant?, user: {id, name?, email?, avatar?}, resource?,
/// resource_specific?, session_secs?}`: `201 {embed_url, expires_at}`, the
/// app's page with a one-time ticket in its fragment.
pub async fn create_embed(
    State(app): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    client: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut call = call(&app, "embed.url", request_id, client);
    let response = async {
        let key = call.admit(&app, &headers, Operation::CreateEmbeds).await?;
        let request: EmbedRequest = json::object(&body).map_err(|e| {
            bad(format!("The body must be JSON {{\"user\": {{\"id\", \"name\", \"email\", \"avatar\"}}, \"resource\": {{\"type\", \"id\"}}, \"resource_specific\", \"tenant\", \"session_secs\"}} ({e})."))
        })?;
        let (tenant, acting) = call.tenant(&app, &key, request.tenant.as_deref()).await?;
        let user = request.user;
        if !is_host_user_id(&user.id) {
            return Err(bad(crate::flows::embed_hosts::USER_ID_RULE.replace("{}", "user.id")));
        }
        if let Some(problem) = profile_problem(user.name.as_deref(), user.email.as_deref(), user.avatar.as_deref()) {
            return Err(bad(format!("user.{}", problem.replace("picture", "avatar"))));
        }
        if request.resource_specific && request.resource.is_none() {
            return Err(bad("resource_specific: name the resource the session is for"));
        }
        let page = match &request.resource {
            Some(wanted) => {
                let resource = find_resource(&app, &tenant, &wanted.id).await?;
                if resource.kind != wanted.kind {
                    return Err(not_found(ErrorCode::ResourceNotFound, "The tenant's resource of this id is of another type."));
                }
                resource.url
            }
            None => tenant.embeds.app_url.clone().ok_or_else(|| {
                bad("Name a resource, or set the tenant's embeds.app_url (the embedded app's page).")
            })?,
        };
        // Checked when the URL is made, not only when the page was set: a ticket
        // never goes to an origin the tenant's clients no longer register.
        if !on_tenant_origin(&app, &tenant, &page) {
            call.audit.reason = Some("the page's origin is no longer registered".into());
            return Err(ApiError(WebError::new(
                ErrorCode::InvalidTarget,
                "The embedded app's page is not on an origin the tenant's clients register (any more): register the origin with a client, or change the page.",
            ))
            .into_response());
        }
        let now = app.clock.now();
        let session_exp = session_end(&tenant, request.session_secs, now).map_err(|e| ApiError(e).into_response())?;
        call.audit.subject = Some(format!("{}/{}", tenant.id, user.id));
        let profile = Profile::vouched(
            &tenant,
            &user.id,
            user.name,
            user.email,
            user.avatar,
            EmailSource::Host {
                says_verified: None,
            },
        );
        let host_user = HostUser::of(
            &tenant,
            acting.then(|| key.tenant.clone()),
            user.id.clone(),
            profile,
            session_exp,
        )
        .for_resource(request.resource, request.resource_specific);
        let (ticket, expires_at) = tickets::mint(&app, &host_user).await.map_err(store_failed)?;
        call.audit.token_expires_at = Some(expires_at);
        Ok((
            StatusCode::CREATED,
            Json(json!({
                "embed_url": tickets::with_ticket(&page, &ticket),
                "expires_at": rfc3339(expires_at),
            })),
        )
            .into_response())
    }
    .await;
    audited(&app, call, response).await
}

fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// A new join credential: `<registration id>.<secret>`, and the secret's hash.
fn join_credential(registration: &str) -> Result<(String, String), WebError> {
    let secret = crypto::random_token()?;
    let hash = crypto::sha256_b64url(&secret);
    Ok((format!("{registration}.{secret}"), hash))
}

fn join_url(app: &AppState, credential: &str) -> String {
    format!("{}/join/{credential}", app.public_url.as_str())
}

/// `POST /api/v1/resources/{id}/registrations {name, email, metadata?}`:
/// `201 {registration_id, join_url}`; the same email again (after
/// normalisation) is `409 already_registered`.
pub async fn register(
    State(app): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    client: Option<Extension<ClientAddr>>,
    Path(id): Path<String>,
    Query(query): Query<TenantQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut call = call(&app, "registration.create", request_id, client);
    let response = async {
        let key = call.admit(&app, &headers, Operation::ManageRegistrations).await?;
        let (tenant, _) = call.tenant(&app, &key, query.tenant.as_deref()).await?;
        let resource = find_resource(&app, &tenant, &parse_resource_id(&id).map_err(store_failed)?).await?;
        let request: RegistrationRequest = json::object(&body).map_err(|e| {
            bad(format!("The body must be JSON {{\"name\", \"email\", \"metadata\": {{...}}}} ({e})."))
        })?;
        if request.name.is_empty() || request.name.len() > 256 || request.name.chars().any(char::is_control) {
            return Err(bad("name: 1 to 256 characters, no control characters"));
        }
        let email = RegistrationEmail::parse(&request.email).map_err(|e| {
            ApiError(WebError::new(ErrorCode::InvalidEmail, e.to_string())).into_response()
        })?;
        let metadata = request.metadata.unwrap_or_else(|| json!({}));
        if !metadata.is_object()
            || depth(&metadata) > MAX_METADATA_DEPTH
            || metadata.to_string().len() > MAX_METADATA_BYTES
        {
            return Err(bad(format!(
                "metadata: a JSON object of at most {MAX_METADATA_BYTES} bytes, nested at most {MAX_METADATA_DEPTH} deep"
            )));
        }
        let id = crypto::hex(&crypto::sha256(&crypto::random_token().map_err(store_failed)?)[..16]);
        let (credential, join_hash) = join_credential(&id).map_err(store_failed)?;
        let registration = Registration {
            id: id.clone(),
            tenant: tenant.id.clone(),
            resource: resource.id.clone(),
            name: request.name,
            email: email.as_str().to_owned(),
            metadata,
            join_hash,
            email_key: email_key(email.uniqueness_key()),
            created_at: app.clock.now(),
        };
        call.audit.subject = Some(format!("{}/{}/registration:{id}", tenant.id, resource.id));
        if !app.durable.create_registration(&registration).await.map_err(store_failed)? {
            call.deny("already_registered");
            return Err(ApiError(WebError::new(
                ErrorCode::AlreadyRegistered,
                "This email is registered for the resource already: re-issue its join URL instead.",
            ))
            .into_response());
        }
        Ok((
            StatusCode::CREATED,
            Json(json!({"registration_id": id, "join_url": join_url(&app, &credential)})),
        )
            .into_response())
    }
    .await;
    audited(&app, call, response).await
}

/// The registration a host API call names, once its API key may manage
/// registrations of the tenant.
async fn registration_of(
    app: &AppState,
    call: &mut HostCall,
    headers: &HeaderMap,
    query: &TenantQuery,
    resource: &str,
    id: &str,
) -> Result<(Tenant, Registration), Response> {
    let key = call
        .admit(app, headers, Operation::ManageRegistrations)
        .await?;
    let (tenant, _) = call.tenant(app, &key, query.tenant.as_deref()).await?;
    let resource = parse_resource_id(resource).map_err(store_failed)?;
    let found = app
        .durable
        .registration(id)
        .await
        .map_err(store_failed)?
        .filter(|r| r.tenant == tenant.id && r.resource == resource)
        .ok_or_else(|| {
            not_found(
                ErrorCode::RegistrationNotFound,
                "The resource has no registration of this id.",
            )
        })?;
    call.audit.subject = Some(format!(
        "{}/{resource}/registration:{}",
        tenant.id, found.id
    ));
    Ok((tenant, found))
}

/// `GET /api/v1/resources/{id}/registrations/{registration}`: what was
/// registered (never the join URL, which only its holder has).
pub async fn get_registration(
    State(app): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    client: Option<Extension<ClientAddr>>,
    Path((id, registration)): Path<(String, String)>,
    Query(query): Query<TenantQuery>,
    headers: HeaderMap,
) -> Response {
    let mut call = call(&app, "registration.read", request_id, client);
    let response = async {
        let (_, found) =
            registration_of(&app, &mut call, &headers, &query, &id, &registration).await?;
        Ok(Json(json!({
            "registration_id": found.id,
            "resource": found.resource,
            "name": found.name,
            "email": found.email,
            "metadata": found.metadata,
            "created_at": rfc3339(found.created_at),
        }))
        .into_response())
    }
    .await;
    audited(&app, call, response).await
}

/// `POST /api/v1/resources/{id}/registrations/{registration}/join-url`: a new
/// join URL; the previous one stops working at once.
pub async fn reissue(
    State(app): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    client: Option<Extension<ClientAddr>>,
    Path((id, registration)): Path<(String, String)>,
    Query(query): Query<TenantQuery>,
    headers: HeaderMap,
) -> Response {
    let mut call = call(&app, "registration.reissue", request_id, client);
    let response = async {
        let (_, mut found) =
            registration_of(&app, &mut call, &headers, &query, &id, &registration).await?;
        let (credential, join_hash) = join_credential(&found.id).map_err(store_failed)?;
        found.join_hash = join_hash;
        app.durable
            .update_registration(&found)
            .await
            .map_err(store_failed)?;
        Ok(
            Json(json!({"registration_id": found.id, "join_url": join_url(&app, &credential)}))
                .into_response(),
        )
    }
    .await;
    audited(&app, call, response).await
}

/// `DELETE /api/v1/resources/{id}/registrations/{registration}`: revokes it;
/// its join URL stops and its sessions end (open frames learn it at once).
pub async fn revoke(
    State(app): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    client: Option<Extension<ClientAddr>>,
    Path((id, registration)): Path<(String, String)>,
    Query(query): Query<TenantQuery>,
    headers: HeaderMap,
) -> Response {
    let mut call = call(&app, "registration.revoke", request_id, client);
    let response = async {
        let (_, found) =
            registration_of(&app, &mut call, &headers, &query, &id, &registration).await?;
        app.durable
            .revoke_registration(&found, app.logins.as_ref(), app.clock.now())
            .await
            .map_err(store_failed)?;
        Ok(Json(json!({"revoked": true})).into_response())
    }
    .await;
    audited(&app, call, response).await
}

/// `GET /join/<registration id>.<secret>`: a fresh one-time ticket for the
/// registrant, `303` to the resource's page with it in the fragment.
pub async fn join(
    State(app): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    client: Option<Extension<ClientAddr>>,
    Path(credential): Path<String>,
) -> Response {
    let mut audit = audit_entry(&app, "registration.join", &request_id, client);
    let response = join_inner(&app, &credential, &mut audit).await;
    if let Err(err) = app.audit.append(&audit).await {
        tracing::error!(error = %err, "could not write the audit row");
        return error_page(
            ErrorCode::StoreUnavailable,
            "The broker could not record this join; try again.",
            None,
        );
    }
    response
}

async fn join_inner(app: &AppState, credential: &str, audit: &mut AuditEntry) -> Response {
    let unknown = || {
        error_page(
            ErrorCode::RegistrationNotFound,
            "This join link is not valid (any more): ask the organiser for a new one.",
            None,
        )
    };
    let Some((id, secret)) = credential.split_once('.') else {
        audit.reason = Some("malformed".into());
        return unknown();
    };
    let found = match app.durable.registration(id).await {
        Ok(found) => found,
        Err(err) => return PageError(err.into()).into_response(),
    };
    let Some(registration) =
        found.filter(|r| crypto::constant_time_eq(&crypto::sha256_b64url(secret), &r.join_hash))
    else {
        audit.reason = Some("unknown or replaced join credential".into());
        return unknown();
    };
    audit.actor = format!("registration:{}", registration.id);
    audit.subject = Some(format!(
        "{}/{}/registration:{}",
        registration.tenant, registration.resource, registration.id
    ));
    let tenant = app.durable.tenant(&registration.tenant).await;
    let resource = app
        .durable
        .resource(&registration.tenant, &registration.resource)
        .await;
    let (Ok(Some(tenant)), Ok(Some(resource))) = (tenant, resource) else {
        audit.reason = Some("the tenant or resource is gone".into());
        return unknown();
    };
    // At use, as the popup login checks its origin at the callback: a ticket
    // never goes to an origin the tenant's clients no longer register.
    if !on_tenant_origin(app, &tenant, &resource.url) {
        audit.reason = Some("the page's origin is no longer registered".into());
        return PageError(WebError::new(
            ErrorCode::InvalidTarget,
            "The event's page is not on an origin this service registers any more: ask the organiser for a new link.",
        ))
        .into_response();
    }
    let now = app.clock.now();
    let session_exp = match session_end(&tenant, None, now) {
        Ok(end) => end,
        Err(err) => return PageError(err).into_response(),
    };
    let sub = registrant_sub(&registration.id);
    // A typed email is the registrant's word only: it selects no account and
    // grants no role (docs/src/embedded/host-tokens.md, "Who vouches for an email").
    let profile = Profile::vouched(
        &tenant,
        &sub,
        Some(registration.name.clone()),
        Some(registration.email.clone()),
        None,
        EmailSource::Typed,
    );
    let user = HostUser::of(&tenant, None, sub, profile, session_exp)
        .registrant(&registration.id, resource.reference());
    let (ticket, _) = match tickets::mint(app, &user).await {
        Ok(minted) => minted,
        Err(err) => return PageError(err).into_response(),
    };
    audit.outcome = "granted".into();
    page::redirect(
        StatusCode::SEE_OTHER,
        &tickets::with_ticket(&resource.url, &ticket),
    )
}
