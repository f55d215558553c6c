//! `GET /api/user/?user=<username>`: which realm (and external IdP) a user logs
//! in at. Compatible with the discovery service the webphone's integrations call:
//! they read `data[0].authority` and `data[0].authorityIdPHint`.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::{LoginTarget, resolve};
use crate::app::AppState;
use crate::domain::Username;
use crate::http::code::ErrorCode;
use crate::http::cors;
use crate::http::error::{DiscoveryError, WebError};
use crate::http::query::StrictQuery;
use crate::registry::Snapshot;

#[derive(Serialize)]
struct Discovered<'a> {
    user: &'a str,
    /// The realm URL, or null when the user is not enabled for SSO.
    authority: Option<&'a str>,
    #[serde(rename = "authorityIdPHint")]
    authority_idp_hint: Option<&'a str>,
}

/// `GET /api/user/?user=`: the user's realm and IdP hint.
pub async fn discover(State(app): State<AppState>, request: Request) -> Response {
    let registry = app.registry.snapshot();
    let query = request.uri().query();
    let origin = cors::request_origin(request.headers());
    if let Some(origin) = origin.filter(|o| !registry.registered_origins.contains(*o)) {
        return unregistered(origin);
    }
    let mut response = match lookup(&app, &registry, query).await {
        Ok(response) => response,
        Err(err) => err.into_response(),
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    cors::allow(&mut response, origin, |o| {
        registry.registered_origins.contains(o)
    });
    response
}

/// A page of an origin no client registers: refused before any lookup, and
/// readable by that page (the refusal holds no user's data), so the SDK can say
/// what to fix instead of meeting a bare CORS failure. The access log records
/// the refused origin.
fn unregistered(origin: &str) -> Response {
    let shown: String = origin.chars().take(200).collect();
    let mut response = DiscoveryError::from(WebError::new(
        ErrorCode::OriginNotAllowed,
        format!(
            "The page's origin {shown} is not registered with authproxy: an administrator adds it to the client (authproxy clients update CLIENT_ID --add-origin {shown})"
        ),
    ))
    .into_response();
    cors::allow(&mut response, Some(origin), |_| true);
    response
}

async fn lookup(
    app: &AppState,
    registry: &Snapshot,
    query: Option<&str>,
) -> Result<Response, DiscoveryError> {
    let query = StrictQuery::parse(query)
        .map_err(|e| WebError::new(ErrorCode::InvalidQuery, e.to_string()))?;
    let raw = query.get("user").ok_or_else(|| {
        WebError::new(
            ErrorCode::MissingUser,
            "The user parameter is missing: call /api/user/?user=name@domain",
        )
    })?;
    let user =
        Username::parse(raw).map_err(|e| WebError::new(ErrorCode::InvalidUser, e.to_string()))?;
    let target = resolve(app, registry, &user).await?;
    let (authority, hint) = match &target {
        LoginTarget::Sso { realm, idp_hint } => (
            Some(realm.authority.as_str()),
            idp_hint.as_ref().map(crate::domain::IdpAlias::as_str),
        ),
        LoginTarget::NotMigrated => (None, None),
    };
    Ok(Json([Discovered {
        user: user.as_str(),
        authority,
        authority_idp_hint: hint,
    }])
    .into_response())
}
