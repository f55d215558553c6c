//! `POST /logout` and `GET /logged-out`: ends the user's realm session by
//! RP-initiated logout (OpenID RP-Initiated Logout 1.0). The SDK opens a popup, a
//! top-level window, so the realm's session cookie is sent even when the app lives
//! in a third-party iframe, and posts the form there: the ID token travels in
//! request bodies only, to the broker and on to the realm's end-session endpoint
//! (an auto-submitted form POST), never in a URL. The realm is picked among the
//! configured ones by the hint's issuer (or the session's authority): never
//! contacted from input.

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use crate::app::AppState;
use crate::http::code::ErrorCode;
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

#[derive(Template)]
#[template(path = "logout.html")]
struct LogoutView<'a> {
    nonce: &'a str,
    action: &'a str,
    client_id: &'a str,
    id_token_hint: Option<&'a str>,
    post_logout_redirect_uri: &'a str,
}

/// The `iss` claim of a JWT, read without verification: it only selects which
/// configured realm to send the hint to, and that realm verifies it.
fn issuer_of(jwt: &str) -> Option<String> {
    let claims = crate::auth::jwt::unverified_claims(jwt)?;
    claims.get("iss")?.as_str().map(str::to_owned)
}

/// `POST /logout`: ends the realm session.
pub async fn start(State(app): State<AppState>, body: Bytes) -> Result<Response, PageError> {
    let form = StrictQuery::parse_form(&body)
        .map_err(|e| WebError::new(ErrorCode::InvalidRequest, e.to_string()))?;
    let registry = app.registry.snapshot();
    let client = registry.client(form.require("client_id")?).ok_or_else(|| {
        WebError::new(
            ErrorCode::UnknownClient,
            "This client_id is not registered with the broker.",
        )
    })?;
    if !client.allows_origin(form.require("origin")?) {
        return Err(WebError::new(
            ErrorCode::OriginNotAllowed,
            "The origin is not registered for this client.",
        )
        .into());
    }
    let hint = form.get("id_token_hint").filter(|h| !h.is_empty());
    if hint.is_some_and(|h| h.len() > MAX_HINT_LEN) {
        return Err(WebError::new(
            ErrorCode::InvalidIdTokenHint,
            "The id_token_hint is too long.",
        )
        .into());
    }
    let issuer = match hint {
        Some(hint) => issuer_of(hint).ok_or_else(|| {
            WebError::new(
                ErrorCode::InvalidIdTokenHint,
                "The id_token_hint is not an ID token.",
            )
        })?,
        None => form
            .get("authority")
            .filter(|a| !a.is_empty())
            .ok_or_else(|| {
                WebError::new(
                    ErrorCode::MissingParameter,
                    "Send id_token_hint (the session's ID token) or authority (its realm URL).",
                )
            })?
            .to_owned(),
    };
    let realm = registry
        .realms
        .values()
        .find(|r| r.authority.as_str() == issuer && client.allows_realm(&r.name))
        .ok_or_else(|| {
            WebError::new(
                ErrorCode::UnknownIssuer,
                "The ID token comes from a realm this client is not registered for.",
            )
        })?;
    let metadata = app.idp.metadata(realm).await?;
    let endpoint = metadata.end_session_endpoint.clone().ok_or_else(|| {
        WebError::new(
            ErrorCode::LogoutNotSupported,
            "The realm does not offer RP-initiated logout.",
        )
    })?;
    let nonce = page::nonce();
    let post_logout = format!("{}/logged-out", app.public_url.as_str());
    let view = LogoutView {
        nonce: &nonce,
        action: endpoint.as_str(),
        client_id: client.id.as_str(),
        id_token_hint: hint,
        post_logout_redirect_uri: &post_logout,
    };
    // Chromium applies `form-action` to every redirect that follows the form's
    // POST (docs/src/security/threat-model.md, logout): the realm's end-session endpoint answers
    // with a redirect to `/logged-out` on the broker, so both origins are listed.
    let form_action = format!("{} 'self'", endpoint.origin().ascii_serialization());
    Ok(page::render_with_form_to(
        StatusCode::OK,
        &view,
        &nonce,
        &form_action,
    ))
}

/// `GET /logged-out`: where the realm sends the browser back.
pub async fn done() -> Response {
    let nonce = page::nonce();
    page::render(StatusCode::OK, &LoggedOutView { nonce: &nonce }, &nonce)
}
