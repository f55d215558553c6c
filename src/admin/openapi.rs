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
        api::list_clients, api::create_client, api::put_client, api::delete_client, api::sync,
        api::list_realms, api::put_realm, api::delete_realm,
        api::put_rule, api::delete_rule, api::import_directory, api::export_directory,
        api::list_callers, api::create_caller, api::put_policy, api::delete_caller,
        api::read_audit,
    ),
    components(schemas(api::AuditRow)),
    modifiers(&AdminToken)
)]
pub struct AdminApiDoc;

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(AdminApiDoc::openapi())
}
