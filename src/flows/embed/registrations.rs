//! Per-user embed URLs, resources and registrations (seed 004), without the
//! vendor's bearer URL: the host backend (API key) registers resources with the
//! embedded app's page for each and an ACL, asks for an embed URL per user
//! (`POST /api/v1/embeds`: the page's URL with a one-time ticket in its
//! fragment, no personal data), and registers people for a resource, each with
//! a join URL (`GET /join/<credential>`) that mints a fresh ticket per use and
//! can be re-issued (the old one stops) or revoked (its sessions end).

use axum::Extension;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::audit::Audit;
use super::host_api::{Admitted, session_end};
use super::resources::{
    HostResult, TenantQuery, find_resource, on_tenant_origin, parse_resource_id, resource_of,
    rfc3339,
};
use super::tickets;
use super::vouched::{Claimed, HostUser, Profile};
use crate::app::AppState;
use crate::crypto;
use crate::domain::tenant::registrant_sub;
use crate::domain::{Email, EmailSource, HostUserId, RegistrationEmail, ResourceRef, Tenant};
use crate::http::client_addr::ClientAddr;
use crate::http::code::ErrorCode;
use crate::http::error::{PageError, WebError};
use crate::http::json::{JsonBody, shapes};
use crate::http::page::{self, error_page};
use crate::http::refused::Refused;
use crate::http::request_id::RequestId;
use crate::store::resources::{Registration, ResourceStore as _, email_key};
use crate::store::tenants::TenantStore as _;

/// The largest registration metadata, serialised.
const MAX_METADATA_BYTES: usize = 4096;
/// How deep registration metadata may nest.
const MAX_METADATA_DEPTH: usize = 4;

/// The host's user of an embed URL.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbedUser {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    avatar: Option<String>,
}

/// What the host asks an embed URL for.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbedRequest {
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

/// A person registering for a resource.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistrationRequest {
    name: String,
    email: String,
    #[serde(default)]
    metadata: Option<Value>,
}

shapes! {
    EmbedRequest => r#"{"user": {"id", "name", "email", "avatar"}, "resource": {"type", "id"}, "resource_specific", "tenant", "session_secs"}"#,
    RegistrationRequest => r#"{"name", "email", "metadata": {...}}"#,
}

/// `POST /api/v1/embeds {tenant?, user: {id, name?, email?, avatar?}, resource?,
/// resource_specific?, session_secs?}`: `201 {embed_url, expires_at}`, the
/// app's page with a one-time ticket in its fragment.
pub async fn create_embed(
    State(app): State<AppState>,
    call: Admitted,
    JsonBody(request): JsonBody<EmbedRequest>,
) -> HostResult<(StatusCode, Json<Value>)> {
    let (tenant, acting) = call.tenant(&app, request.tenant.as_deref()).await?;
    let user = request.user;
    let sub = HostUserId::parse(&user.id).map_err(|e| Refused::field("user.id", e))?;
    let claimed = Claimed::parse(user.name, user.email.as_deref(), user.avatar).map_err(|p| {
        let field = if p.field() == "picture" {
            "avatar"
        } else {
            p.field()
        };
        Refused::field(&format!("user.{field}"), p)
    })?;
    if request.resource_specific && request.resource.is_none() {
        return Err(Refused::field(
            "resource_specific",
            "name the resource the session is for",
        ));
    }
    let page = match &request.resource {
        Some(wanted) => {
            let resource = find_resource(&app, &tenant, &wanted.id).await?;
            if resource.kind != wanted.kind {
                return Err(Refused::new(
                    ErrorCode::ResourceNotFound,
                    "The tenant's resource of this id is of another type.",
                ));
            }
            resource.url
        }
        None => tenant.embeds.app_url.clone().ok_or_else(|| {
            Refused::invalid(
                "Name a resource, or set the tenant's embeds.app_url (the embedded app's page).",
            )
        })?,
    };
    // Checked when the URL is made, not only when the page was set: a ticket
    // never goes to an origin the tenant's clients no longer register.
    if !on_tenant_origin(&app, &tenant, &page) {
        return Err(Refused::new(
            ErrorCode::InvalidTarget,
            "The embedded app's page is not on an origin the tenant's clients register (any more): register the origin with a client, or change the page.",
        )
        .because("the page's origin is no longer registered"));
    }
    let session_exp = session_end(&tenant, request.session_secs, app.clock.now())?;
    call.audit.subject(format!("{}/{sub}", tenant.id));
    let source = EmailSource::Host {
        says_verified: None,
    };
    let profile = Profile::vouched(&tenant, &sub, claimed, source);
    let acting = acting.then(|| call.key.tenant.clone());
    let host_user = HostUser::of(&tenant, acting, sub, profile, session_exp)
        .for_resource(request.resource, request.resource_specific);
    let (ticket, expires_at) = tickets::mint(&app, &host_user).await?;
    call.audit.issued(None, expires_at);
    let body = json!({
        "embed_url": tickets::with_ticket(&page, &ticket),
        "expires_at": rfc3339(expires_at),
    });
    Ok((StatusCode::CREATED, Json(body)))
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
    call: Admitted,
    Path(id): Path<String>,
    Query(query): Query<TenantQuery>,
    JsonBody(request): JsonBody<RegistrationRequest>,
) -> HostResult<(StatusCode, Json<Value>)> {
    let (tenant, resource) = resource_of(&app, &call, &query, &id).await?;
    crate::domain::host_user::check_name(&request.name).map_err(|p| Refused::field("name", p))?;
    let email = RegistrationEmail::parse(&request.email)
        .map_err(|e| Refused::new(ErrorCode::InvalidEmail, e.to_string()))?;
    let metadata = request.metadata.unwrap_or_else(|| json!({}));
    if !metadata.is_object()
        || depth(&metadata) > MAX_METADATA_DEPTH
        || metadata.to_string().len() > MAX_METADATA_BYTES
    {
        return Err(Refused::field(
            "metadata",
            format!(
                "a JSON object of at most {MAX_METADATA_BYTES} bytes, nested at most {MAX_METADATA_DEPTH} deep"
            ),
        ));
    }
    let id = crypto::hex(&crypto::sha256(&crypto::random_token()?)[..16]);
    let (credential, join_hash) = join_credential(&id)?;
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
    call.audit
        .subject(format!("{}/{}/registration:{id}", tenant.id, resource.id));
    if !app.durable.create_registration(&registration).await? {
        return Err(Refused::new(
            ErrorCode::AlreadyRegistered,
            "This email is registered for the resource already: re-issue its join URL instead.",
        )
        .because("already_registered"));
    }
    let body = json!({"registration_id": id, "join_url": join_url(&app, &credential)});
    Ok((StatusCode::CREATED, Json(body)))
}

/// The registration a host API call names, in the tenant the key acts for.
async fn registration_of(
    app: &AppState,
    call: &Admitted,
    query: &TenantQuery,
    (resource, id): (&str, &str),
) -> Result<(Tenant, Registration), Refused> {
    let (tenant, _) = call.tenant(app, query.tenant.as_deref()).await?;
    let resource = parse_resource_id(resource)?;
    let found = app
        .durable
        .registration(id)
        .await?
        .filter(|r| r.tenant == tenant.id && r.resource == resource)
        .ok_or_else(|| {
            Refused::new(
                ErrorCode::RegistrationNotFound,
                "The resource has no registration of this id.",
            )
        })?;
    call.audit.subject(format!(
        "{}/{resource}/registration:{}",
        tenant.id, found.id
    ));
    Ok((tenant, found))
}

/// `GET /api/v1/resources/{id}/registrations/{registration}`: what was
/// registered (never the join URL, which only its holder has).
pub async fn get_registration(
    State(app): State<AppState>,
    call: Admitted,
    Path((id, registration)): Path<(String, String)>,
    Query(query): Query<TenantQuery>,
) -> HostResult {
    let (_, found) = registration_of(&app, &call, &query, (&id, &registration)).await?;
    Ok(Json(json!({
        "registration_id": found.id,
        "resource": found.resource,
        "name": found.name,
        "email": found.email,
        "metadata": found.metadata,
        "created_at": rfc3339(found.created_at),
    })))
}

/// `POST /api/v1/resources/{id}/registrations/{registration}/join-url`: a new
/// join URL; the previous one stops working at once.
pub async fn reissue(
    State(app): State<AppState>,
    call: Admitted,
    Path((id, registration)): Path<(String, String)>,
    Query(query): Query<TenantQuery>,
) -> HostResult {
    let (_, mut found) = registration_of(&app, &call, &query, (&id, &registration)).await?;
    let (credential, join_hash) = join_credential(&found.id)?;
    found.join_hash = join_hash;
    app.durable.update_registration(&found).await?;
    Ok(Json(
        json!({"registration_id": found.id, "join_url": join_url(&app, &credential)}),
    ))
}

/// `DELETE /api/v1/resources/{id}/registrations/{registration}`: revokes it;
/// its join URL stops and its sessions end (open frames learn it at once).
pub async fn revoke(
    State(app): State<AppState>,
    call: Admitted,
    Path((id, registration)): Path<(String, String)>,
    Query(query): Query<TenantQuery>,
) -> HostResult {
    let (_, found) = registration_of(&app, &call, &query, (&id, &registration)).await?;
    app.durable
        .revoke_registration(&found, app.logins.as_ref(), app.clock.now())
        .await?;
    Ok(Json(json!({"revoked": true})))
}

/// `GET /join/<registration id>.<secret>`: a fresh one-time ticket for the
/// registrant, `303` to the resource's page with it in the fragment.
pub async fn join(
    State(app): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    client: Option<Extension<ClientAddr>>,
    Path(credential): Path<String>,
) -> Response {
    let address = client.map(|Extension(address)| address);
    let audit = Audit::open(&app, "registration.join", &request_id, address.as_ref());
    let response = join_inner(&app, &credential, &audit).await;
    if let Err(err) = app.audit.append(&audit.entry()).await {
        tracing::error!(error = %err, "could not write the audit row");
        return error_page(
            ErrorCode::StoreUnavailable,
            "The broker could not record this join; try again.",
            None,
        );
    }
    response
}

async fn join_inner(app: &AppState, credential: &str, audit: &Audit) -> Response {
    let unknown = || {
        error_page(
            ErrorCode::RegistrationNotFound,
            "This join link is not valid (any more): ask the organiser for a new one.",
            None,
        )
    };
    let Some((id, secret)) = credential.split_once('.') else {
        audit.reason("malformed");
        return unknown();
    };
    let found = match app.durable.registration(id).await {
        Ok(found) => found,
        Err(err) => return PageError(err.into()).into_response(),
    };
    let Some(registration) =
        found.filter(|r| crypto::constant_time_eq(&crypto::sha256_b64url(secret), &r.join_hash))
    else {
        audit.reason("unknown or replaced join credential");
        return unknown();
    };
    audit.actor(format!("registration:{}", registration.id));
    audit.subject(format!(
        "{}/{}/registration:{}",
        registration.tenant, registration.resource, registration.id
    ));
    let tenant = app.durable.tenant(&registration.tenant).await;
    let resource = app
        .durable
        .resource(&registration.tenant, &registration.resource)
        .await;
    let (Ok(Some(tenant)), Ok(Some(resource))) = (tenant, resource) else {
        audit.reason("the tenant or resource is gone");
        return unknown();
    };
    // At use, as the popup login checks its origin at the callback: a ticket
    // never goes to an origin the tenant's clients no longer register.
    if !on_tenant_origin(app, &tenant, &resource.url) {
        audit.reason("the page's origin is no longer registered");
        return PageError(WebError::new(
            ErrorCode::InvalidTarget,
            "The event's page is not on an origin this service registers any more: ask the organiser for a new link.",
        ))
        .into_response();
    }
    let now = app.clock.now();
    let Ok(session_exp) = session_end(&tenant, None, now) else {
        return PageError(WebError::internal(
            "the tenant's session length is out of range",
        ))
        .into_response();
    };
    let sub = HostUserId::broker_made(registrant_sub(&registration.id));
    // A typed email is the registrant's word only: it selects no account and
    // grants no role (docs/src/embedded/host-tokens.md, "Who vouches for an email").
    let claimed = Claimed {
        name: Some(registration.name.clone()),
        email: Email::parse(&registration.email).ok(),
        picture: None,
    };
    let profile = Profile::vouched(&tenant, &sub, claimed, EmailSource::Typed);
    let user = HostUser::of(&tenant, None, sub, profile, session_exp)
        .registrant(&registration.id, resource.reference());
    let (ticket, _) = match tickets::mint(app, &user).await {
        Ok(minted) => minted,
        Err(err) => return PageError(err).into_response(),
    };
    audit.granted();
    page::redirect(
        StatusCode::SEE_OTHER,
        &tickets::with_ticket(&resource.url, &ticket),
    )
}
