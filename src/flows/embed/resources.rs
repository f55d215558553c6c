//! A tenant's resources (seed 004): the host backend (API key) registers each
//! with the embedded app's page for it (`PUT /api/v1/resources/{id}`) and an
//! ACL of who presents or organises (`PUT /api/v1/resources/{id}/acl`); embed
//! URLs, registrations and links name them, and a session's role on one is
//! computed from its ACL at every renewal.

use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::host_api::Admitted;
use crate::app::AppState;
use crate::domain::app_page::is_app_url;
use crate::domain::{Acl, Resource, ResourceId, ResourceType, Tenant};
use crate::http::code::ErrorCode;
use crate::http::json::{JsonBody, shapes};
use crate::http::refused::Refused;
use crate::store::resources::ResourceStore as _;

/// `?tenant=`: a sub-tenant the API key acts for.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantQuery {
    #[serde(default)]
    pub(crate) tenant: Option<String>,
}

/// A resource and its page.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceInput {
    #[serde(rename = "type")]
    kind: String,
    url: String,
}

shapes! {
    ResourceInput => r#"{"type": "event", "url": "https://app.example/..."}"#,
    Acl => r#"{"presenters": [user ids or emails], "organizers": [...]}"#,
}

/// Host-API answers: JSON, or a refusal.
pub(crate) type HostResult<T = Json<Value>> = Result<T, Refused>;

pub(crate) fn rfc3339(at: DateTime<Utc>) -> String {
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

/// Whether `url` is an embedded app's page on an origin one of the tenant's
/// clients registered.
pub(crate) fn on_tenant_origin(app: &AppState, tenant: &Tenant, url: &str) -> bool {
    is_app_url(url) && app.registry.snapshot().on_origin_of(&tenant.clients, url)
}

pub(crate) fn parse_resource_id(raw: &str) -> Result<ResourceId, Refused> {
    ResourceId::parse(raw).map_err(|e| Refused::invalid(e.to_string()))
}

pub(crate) async fn find_resource(
    app: &AppState,
    tenant: &Tenant,
    id: &ResourceId,
) -> Result<Resource, Refused> {
    app.durable.resource(&tenant.id, id).await?.ok_or_else(|| {
        Refused::new(
            ErrorCode::ResourceNotFound,
            "The tenant has no resource of this id: register it with PUT /api/v1/resources/{id}.",
        )
    })
}

/// The resource a host API call names, in the tenant the key acts for.
pub(crate) async fn resource_of(
    app: &AppState,
    call: &Admitted,
    query: &TenantQuery,
    id: &str,
) -> Result<(Tenant, Resource), Refused> {
    let (tenant, _) = call.tenant(app, query.tenant.as_deref()).await?;
    let id = parse_resource_id(id)?;
    let resource = find_resource(app, &tenant, &id).await?;
    Ok((tenant, resource))
}

/// `PUT /api/v1/resources/{id} {type, url}`: registers (or changes) a resource
/// and the embedded app's page for it; its ACL is kept.
pub async fn put_resource(
    State(app): State<AppState>,
    call: Admitted,
    Path(id): Path<String>,
    Query(query): Query<TenantQuery>,
    JsonBody(input): JsonBody<ResourceInput>,
) -> HostResult {
    let (tenant, _) = call.tenant(&app, query.tenant.as_deref()).await?;
    let id = parse_resource_id(&id)?;
    let kind = ResourceType::parse(&input.kind).map_err(|e| Refused::field("type", e))?;
    if !on_tenant_origin(&app, &tenant, &input.url) {
        return Err(Refused::field(
            "url",
            "the embedded app's page for the resource, an absolute https URL without fragment on an origin registered by one of the tenant's clients",
        ));
    }
    let acl = app
        .durable
        .resource(&tenant.id, &id)
        .await?
        .map(|r| r.acl)
        .unwrap_or_default();
    let resource = Resource {
        tenant: tenant.id.clone(),
        kind,
        id,
        url: input.url,
        acl,
    };
    call.audit.subject(format!("{}/{}", tenant.id, resource.id));
    app.durable.put_resource(&resource).await?;
    Ok(Json(resource_view(&resource)))
}

/// `GET /api/v1/resources/{id}`: the resource and its ACL.
pub async fn get_resource(
    State(app): State<AppState>,
    call: Admitted,
    Path(id): Path<String>,
    Query(query): Query<TenantQuery>,
) -> HostResult {
    let (_, resource) = resource_of(&app, &call, &query, &id).await?;
    Ok(Json(resource_view(&resource)))
}

/// `PUT /api/v1/resources/{id}/acl {presenters, organizers}`: who holds more
/// than the attendee role; sessions see it at their next renewal.
pub async fn put_acl(
    State(app): State<AppState>,
    call: Admitted,
    Path(id): Path<String>,
    Query(query): Query<TenantQuery>,
    JsonBody(acl): JsonBody<Acl>,
) -> HostResult {
    let (tenant, mut resource) = resource_of(&app, &call, &query, &id).await?;
    if let Some(problem) = acl.problems().first() {
        return Err(Refused::field(&problem.path, &problem.message));
    }
    call.audit.subject(format!("{}/{}", tenant.id, resource.id));
    resource.acl = acl;
    app.durable.put_resource(&resource).await?;
    Ok(Json(resource_view(&resource)))
}
