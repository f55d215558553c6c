//! `GET /admin/api/openapi.json`: the admin API's OpenAPI document, generated
//! from the handlers and types themselves (utoipa), so it cannot drift.

use axum::Json;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::api;

struct AdminToken;

impl Modify for AdminToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "admin_token",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "authproxy admin API", description = "Clients, realms, directory, impersonation callers and the audit trail."),
    paths(
        api::clients::list_clients, api::clients::create_client, api::clients::put_client, api::clients::delete_client, api::clients::sync,
        api::realms::list_realms, api::realms::put_realm, api::realms::delete_realm,
        api::directory::put_rule, api::directory::delete_rule, api::directory::import_directory, api::directory::export_directory,
        api::callers::list_callers, api::callers::create_caller, api::callers::put_policy, api::callers::delete_caller,
        api::audit_trail::read_audit,
    ),
    components(schemas(api::audit_trail::AuditRow)),
    modifiers(&AdminToken)
)]
pub struct AdminApiDoc;

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(AdminApiDoc::openapi())
}
