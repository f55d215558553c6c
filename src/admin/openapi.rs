//! The admin API's OpenAPI document (`GET /admin/api/openapi.json`): its title and
//! security scheme here; its paths come from the route table itself (`routes`,
//! through utoipa-axum), so the document and the routes cannot drift apart.

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
    components(schemas(api::audit_trail::AuditRow)),
    modifiers(&AdminToken)
)]
/// The admin API's OpenAPI document (its paths come from the route table).
pub struct AdminApiDoc;
