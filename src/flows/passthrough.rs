//! `GET /authproxy/{client_id}`: the redirect page of the seed's own flow, for CRM
//! pages that keep building the login URL with keycloak-js. The page looks for a
//! `code` (query or fragment) without reading it, and tells the opener only
//! whether the login succeeded; the opener then re-runs keycloak-js' check-sso.

use askama::Template;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use crate::app::AppState;
use crate::http::code::ErrorCode;
use crate::http::page;

#[derive(Template)]
#[template(path = "passthrough.html")]
struct PassthroughView<'a> {
    nonce: &'a str,
    origins_json: &'a str,
}

/// `GET /passthrough`: the page that forwards a login to the app.
pub async fn page(
    State(app): State<AppState>,
    client_id: Result<Path<String>, PathRejection>,
) -> Response {
    let registry = app.registry.snapshot();
    let client = client_id.ok().and_then(|Path(id)| registry.client(&id));
    let Some(client) = client else {
        return page::error_page(
            ErrorCode::UnknownClient,
            "No client with this ID is registered with the broker.",
            None,
        );
    };
    let origins_json = serde_json::to_string(&client.origins).unwrap_or_else(|_| "[]".into());
    let nonce = page::nonce();
    page::render(
        StatusCode::OK,
        &PassthroughView {
            nonce: &nonce,
            origins_json: &origins_json,
        },
        &nonce,
    )
}
