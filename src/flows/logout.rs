//! `GET /logout?client_id&origin&id_token_hint` and `GET /logged-out`: ends the
//! user's realm session by RP-initiated logout (OpenID RP-Initiated Logout 1.0).
//! The SDK opens it in a popup, a top-level window, so the realm's session cookie
//! is sent even when the app lives in a third-party iframe. The realm is picked
//! among the configured ones by the hint's issuer: never contacted from input.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::http::AppState;
use crate::http::error::{PageError, WebError};
use crate::http::page;
use crate::http::query::StrictQuery;

/// Longest `id_token_hint` accepted.
const MAX_HINT_LEN: usize = 16 * 1024;

#[derive(Template)]
#[template(path = "logged_out.html")]
struct LoggedOutView<'a> {
    nonce: &'a str,
}

/// The `iss` claim of a JWT, read without verification: it only selects which
/// configured realm to send the hint to, and that realm verifies it.
fn issuer_of(jwt: &str) -> Option<String> {
    let payload = jwt.split('.').nth(1)?;
    let claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    claims.get("iss")?.as_str().map(str::to_owned)
}

pub async fn start(
    State(app): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let query = StrictQuery::parse(query.as_deref())
        .map_err(|e| WebError::bad_request("invalid_query", e.to_string()))?;
    let registry = app.registry.snapshot();
    let client = registry
        .client(query.require("client_id")?)
        .ok_or_else(|| {
            WebError::bad_request(
                "unknown_client",
                "This client_id is not registered with the broker.",
            )
        })?;
    if !client.allows_origin(query.require("origin")?) {
        return Err(WebError::bad_request(
            "origin_not_allowed",
            "The origin is not registered for this client.",
        )
        .into());
    }
    let hint = query.require("id_token_hint")?;
    if hint.len() > MAX_HINT_LEN {
        return Err(WebError::bad_request(
            "invalid_id_token_hint",
            "The id_token_hint is too long.",
        )
        .into());
    }
    let issuer = issuer_of(hint).ok_or_else(|| {
        WebError::bad_request(
            "invalid_id_token_hint",
            "The id_token_hint is not an ID token.",
        )
    })?;
    let realm = registry
        .realms
        .values()
        .find(|r| r.authority.as_str() == issuer && client.allows_realm(&r.name))
        .ok_or_else(|| {
            WebError::bad_request(
                "unknown_issuer",
                "The ID token comes from a realm this client is not registered for.",
            )
        })?;
    let metadata = app.idp.metadata(realm).await?;
    let mut url = metadata.end_session_endpoint.clone().ok_or_else(|| {
        WebError::caller(
            StatusCode::BAD_GATEWAY,
            "logout_not_supported",
            "The realm does not offer RP-initiated logout.",
        )
    })?;
    url.query_pairs_mut()
        .append_pair("client_id", client.id.as_str())
        .append_pair("id_token_hint", hint)
        .append_pair(
            "post_logout_redirect_uri",
            &format!("{}/logged-out", app.public_url.as_str()),
        );
    let mut response = StatusCode::FOUND.into_response();
    let headers = response.headers_mut();
    if let Ok(location) = HeaderValue::from_str(url.as_str()) {
        headers.insert(header::LOCATION, location);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(response)
}

pub async fn done() -> Response {
    let nonce = page::nonce();
    page::render(StatusCode::OK, &LoggedOutView { nonce: &nonce }, &nonce)
}
