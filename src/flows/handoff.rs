//! `POST /api/handoff` and `POST /api/handoff/wait`: the opener (or the frame that
//! holds the `txn_verifier`) redeems the login's outcome exactly once. The wait
//! variant long-polls: it answers the moment the callback stores the outcome, so
//! it works when COOP has cut the popup from its opener and when the waiting page
//! is a partitioned third-party iframe (COOP and storage partitioning).
//!
//! CORS: only the origins registered for the txn's client, without credentials.
//! A browser request from any other origin is refused before anything is redeemed.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::domain::{LoginOutcome, TxnId, TxnVerifier};
use crate::http::AppState;
use crate::http::cors;
use crate::http::error::{ApiError, WebError};
use crate::registry::Snapshot;
use crate::store::Redemption;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HandoffRequest {
    txn: String,
    txn_verifier: String,
}

#[derive(Serialize)]
struct HandoffResponse {
    access_token: String,
    refresh_token: Option<String>,
    id_token: String,
    expires_in: Option<u64>,
    refresh_expires_in: Option<u64>,
    token_type: String,
    authority: String,
    client_id: String,
    username: String,
}

/// Whether to hold the request open until the login completes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Now,
    Wait,
}

pub async fn redeem(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    respond(&app, &headers, &body, Mode::Now).await
}

pub async fn wait(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    respond(&app, &headers, &body, Mode::Wait).await
}

/// CORS preflight: the txn is not known yet, so any registered origin may ask.
pub async fn preflight(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let origin = cors::request_origin(&headers);
    if !origin.is_some_and(|o| app.registry.snapshot().registered_origins.contains(o)) {
        return ApiError(WebError::caller(
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
            "This origin is not registered for any client.",
        ))
        .into_response();
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    cors::allow(&mut response, origin, |_| true);
    let h = response.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    response
}

async fn respond(app: &AppState, headers: &HeaderMap, body: &[u8], mode: Mode) -> Response {
    let registry = app.registry.snapshot();
    let origin = cors::request_origin(headers);
    let (mut response, cors_client) = match handle(app, &registry, origin, body, mode).await {
        Ok(answer) => answer,
        Err(err) => (err.into_response(), None),
    };
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    // Results get CORS only for the txn's own client's origins (checked in
    // `handle`); errors and "pending" for any registered origin.
    cors::allow(&mut response, origin, |o| match &cors_client {
        Some(client) => registry.client(client).is_some_and(|c| c.allows_origin(o)),
        None => registry.registered_origins.contains(o),
    });
    response
}

fn invalid_grant() -> WebError {
    WebError::bad_request(
        "invalid_grant",
        "This login result is unknown, expired or already redeemed.",
    )
}

fn pending() -> Response {
    Json(serde_json::json!({"pending": true})).into_response()
}

fn parse_request(body: &[u8]) -> Result<(TxnId, TxnVerifier), WebError> {
    let request: HandoffRequest = serde_json::from_slice(body).map_err(|e| {
        WebError::bad_request(
            "invalid_request",
            format!(
                "The body must be JSON {{\"txn\": \"...\", \"txn_verifier\": \"...\"}} ({}).",
                json_problem(&e)
            ),
        )
    })?;
    let txn = TxnId::parse(&request.txn)
        .map_err(|e| WebError::bad_request("invalid_request", e.to_string()))?;
    let verifier = TxnVerifier::parse(&request.txn_verifier)
        .map_err(|e| WebError::bad_request("invalid_request", e.to_string()))?;
    Ok((txn, verifier))
}

/// Redeems the txn's outcome; returns the answer and, when the txn is known,
/// its client (whose origins get CORS).
async fn handle(
    app: &AppState,
    registry: &Snapshot,
    origin: Option<&str>,
    body: &[u8],
    mode: Mode,
) -> Result<(Response, Option<String>), ApiError> {
    let (txn, verifier) = parse_request(body)?;
    let mut waited = false;
    let client = match app.logins.txn_client(&txn, app.clock.now()).await? {
        Some(client) => client,
        // The page may start waiting before the popup has reached /login.
        None if mode == Mode::Wait => {
            app.logins
                .wait_for_completion(&txn, app.handoff_wait)
                .await?;
            waited = true;
            match app.logins.txn_client(&txn, app.clock.now()).await? {
                Some(client) => client,
                None => return Ok((pending(), None)),
            }
        }
        None => return Err(invalid_grant().into()),
    };
    if let Some(origin) = origin
        && !registry
            .client(client.as_str())
            .is_some_and(|c| c.allows_origin(origin))
    {
        return Err(WebError::caller(
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
            "This origin is not registered for the client that started the login.",
        )
        .into());
    }

    let mut redemption = app.logins.redeem(&txn, &verifier, app.clock.now()).await?;
    if matches!(redemption, Redemption::Pending) && mode == Mode::Wait && !waited {
        app.logins
            .wait_for_completion(&txn, app.handoff_wait)
            .await?;
        redemption = app.logins.redeem(&txn, &verifier, app.clock.now()).await?;
    }
    Ok((answer(redemption, mode)?, Some(client.to_string())))
}

/// The HTTP answer to a redemption attempt.
fn answer(redemption: Redemption, mode: Mode) -> Result<Response, WebError> {
    match redemption {
        Redemption::Redeemed(LoginOutcome::Success {
            tokens,
            authority,
            client_id,
            username,
        }) => Ok(Json(HandoffResponse {
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            id_token: tokens.id_token,
            expires_in: tokens.expires_in,
            refresh_expires_in: tokens.refresh_expires_in,
            token_type: tokens.token_type,
            authority,
            client_id: client_id.to_string(),
            username,
        })
        .into_response()),
        Redemption::Redeemed(LoginOutcome::Failure { error }) => Ok((
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({
                "error": "login_failed",
                "error_description": "The login did not succeed.",
                "login_error": error,
            })),
        )
            .into_response()),
        Redemption::Pending if mode == Mode::Wait => Ok(pending()),
        Redemption::Pending => Err(WebError::bad_request(
            "authorization_pending",
            "The login has not completed yet: wait with /api/handoff/wait.",
        )),
        Redemption::WrongVerifier { burned: true } => Err(WebError::bad_request(
            "invalid_grant",
            "Wrong txn_verifier: too many wrong tries, this login result is now discarded.",
        )),
        Redemption::WrongVerifier { burned: false } => Err(WebError::bad_request(
            "invalid_grant",
            "Wrong txn_verifier for this txn.",
        )),
        Redemption::Closed | Redemption::Unknown => Err(invalid_grant()),
    }
}

/// What is wrong with a JSON body, without echoing its values.
fn json_problem(err: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match err.classify() {
        Category::Data => "a field is missing, unknown or of the wrong type".into(),
        Category::Syntax => format!(
            "malformed JSON at line {} column {}",
            err.line(),
            err.column()
        ),
        Category::Eof => "the JSON ends too early".into(),
        Category::Io => "the body could not be read".into(),
    }
}
