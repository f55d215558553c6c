//! `POST /api/handoff` and `POST /api/handoff/wait`: the opener (or the frame that
//! holds the `txn_verifier`) redeems the login's outcome exactly once. The wait
//! variant long-polls: it answers the moment the callback stores the outcome, so
//! it works when COOP has cut the popup from its opener and when the waiting page
//! is a partitioned third-party iframe (COOP and storage partitioning).
//!
//! The verifier alone releases nothing: an outcome is redeemable only once it was
//! confirmed (`POST /api/handoff/confirm`) with the one-time value the completion
//! page handed to the registered origin by `postMessage`, or approved by the user
//! in the broker's window (docs/src/developers/protocol-facts.md, "What only a
//! browser proves"; docs/src/security/threat-model.md). Until then a
//! redemption answers `confirmation_required`.
//!
//! Every request names its `client_id`: the outcome only exists once the callback
//! stored it, and the origin check must hold before (a long poll starts before
//! the user has logged in). CORS: only the origins registered for that client,
//! without credentials; a browser request from any other origin is refused before
//! anything is redeemed, and the store releases an outcome only to the client
//! that started the login.
//! Long polls park in [`crate::rate_limit::WaitSlots`], bounded per address and
//! overall apart from other requests.

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::domain::{ClientId, Confirmation, LoginOutcome, TxnId, TxnVerifier};
use crate::http::client_addr::ClientAddr;
use crate::http::code::ErrorCode;
use crate::http::cors;
use crate::http::error::{ApiError, WebError};
use crate::http::frame::{check_origin, finish_response, parse_client};
use crate::http::json;
use crate::registry::Snapshot;
use crate::store::{ConfirmOutcome, Redemption};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HandoffRequest {
    client_id: String,
    txn: String,
    txn_verifier: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfirmRequest {
    client_id: String,
    txn: String,
    confirmation: String,
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

/// `POST /api/handoff`: redeems a confirmed login once.
pub async fn redeem(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    respond(&app, &headers, &body, Mode::Now, None).await
}

/// `POST /api/handoff/wait`: waits for a login to complete, then redeems it.
pub async fn wait(
    State(app): State<AppState>,
    client: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ip = client.map(|Extension(ClientAddr(ip))| ip);
    respond(&app, &headers, &body, Mode::Wait, ip).await
}

/// `POST /api/handoff/confirm {client_id, txn, confirmation}`: the page of the
/// registered origin that received the completion page's message releases the
/// outcome.
pub async fn confirm(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let registry = app.registry.snapshot();
    let origin = cors::request_origin(&headers);
    let answer = async {
        let request: ConfirmRequest = json::object(&body).map_err(|e| {
            WebError::new(
                ErrorCode::InvalidRequest,
                format!(
                    "The body must be JSON {{\"client_id\": \"...\", \"txn\": \"...\", \"confirmation\": \"...\"}} ({e})."
                ),
            )
        })?;
        let client = parse_client(&request.client_id)?;
        let txn = TxnId::parse(&request.txn)
            .map_err(|e| WebError::new(ErrorCode::InvalidRequest, e.to_string()))?;
        let confirmation = Confirmation::parse(&request.confirmation)
            .map_err(|e| WebError::new(ErrorCode::InvalidRequest, e.to_string()))?;
        check_origin(&registry, &client, origin)?;
        confirm_outcome(&app, &txn, &client, &confirmation).await?;
        Ok::<_, ApiError>((
            Json(serde_json::json!({"confirmed": true})).into_response(),
            client,
        ))
    }
    .await;
    let (mut response, client) = match answer {
        Ok((response, client)) => (response, Some(client)),
        Err(err) => (err.into_response(), None),
    };
    finish_response(&registry, &mut response, origin, client.as_ref());
    response
}

/// Confirms `txn`'s outcome: from the SDK's message handler, or from the user's
/// approval in the completion page.
pub async fn confirm_outcome(
    app: &AppState,
    txn: &TxnId,
    client: &ClientId,
    confirmation: &Confirmation,
) -> Result<(), WebError> {
    match app
        .logins
        .confirm(txn, client, confirmation, app.clock.now())
        .await?
    {
        ConfirmOutcome::Confirmed => Ok(()),
        ConfirmOutcome::Wrong { .. } | ConfirmOutcome::Unknown => Err(WebError::new(
            ErrorCode::InvalidConfirmation,
            "This confirmation does not belong to a completed login that is waiting: it expired, was redeemed, or is wrong. Start the login again.",
        )),
    }
}

async fn respond(
    app: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    mode: Mode,
    ip: Option<std::net::IpAddr>,
) -> Response {
    let registry = app.registry.snapshot();
    let origin = cors::request_origin(headers);
    let (mut response, cors_client) = match handle(app, &registry, origin, body, mode, ip).await {
        Ok(answer) => answer,
        Err(err) => (err.into_response(), None),
    };
    finish_response(&registry, &mut response, origin, cors_client.as_ref());
    response
}

fn invalid_grant() -> WebError {
    WebError::new(
        ErrorCode::InvalidGrant,
        "This login result is unknown (not completed yet, or for another client_id), expired or already redeemed.",
    )
}

fn pending() -> Response {
    Json(serde_json::json!({"pending": true})).into_response()
}

fn parse_request(body: &[u8]) -> Result<(ClientId, TxnId, TxnVerifier), WebError> {
    let request: HandoffRequest = json::object(body).map_err(|e| {
        WebError::new(
            ErrorCode::InvalidRequest,
            format!("The body must be JSON {{\"client_id\": \"...\", \"txn\": \"...\", \"txn_verifier\": \"...\"}} ({e})."),
        )
    })?;
    let client = parse_client(&request.client_id)?;
    let txn = TxnId::parse(&request.txn)
        .map_err(|e| WebError::new(ErrorCode::InvalidRequest, e.to_string()))?;
    let verifier = TxnVerifier::parse(&request.txn_verifier)
        .map_err(|e| WebError::new(ErrorCode::InvalidRequest, e.to_string()))?;
    Ok((client, txn, verifier))
}

/// Redeems the txn's outcome; returns the answer and, once the request's client
/// is known to be registered and allowed for the origin, that client (whose
/// origins get CORS).
async fn handle(
    app: &AppState,
    registry: &Snapshot,
    origin: Option<&str>,
    body: &[u8],
    mode: Mode,
    ip: Option<std::net::IpAddr>,
) -> Result<(Response, Option<ClientId>), ApiError> {
    let (client, txn, verifier) = parse_request(body)?;
    crate::http::trace::record_client(client.as_str(), None);
    check_origin(registry, &client, origin)?;
    // A long poll parks (until woken, or its deadline) only where it finds a place;
    // otherwise it answers at once.
    let deadline = tokio::time::Instant::now() + app.handoff_wait;
    let slot = match mode {
        Mode::Wait => app.wait_slots.try_park(ip),
        Mode::Now => None,
    };
    if mode == Mode::Wait && slot.is_none() {
        app.metrics.refused_by("waits");
    }
    let park = || async {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if slot.is_none() || left.is_zero() {
            return Ok(false);
        }
        app.logins.wait_for_completion(&txn, left).await?;
        Ok::<_, WebError>(true)
    };
    // The page starts waiting before the user has logged in; woken by the
    // completion, the poll parks again until the confirmation.
    let redeem = || app.logins.redeem(&txn, &client, &verifier, app.clock.now());
    let waited = std::time::Instant::now();
    let mut redemption = redeem().await?;
    while mode == Mode::Wait
        && matches!(redemption, Redemption::Unknown | Redemption::Unconfirmed)
        && park().await?
    {
        redemption = redeem().await?;
    }
    if mode == Mode::Wait {
        app.metrics
            .relay_wait
            .observe(waited.elapsed().as_secs_f64());
    }
    let outcome = match &redemption {
        Redemption::Redeemed(LoginOutcome::Success { .. }) => ("redeemed", ""),
        Redemption::Redeemed(LoginOutcome::Failure { .. }) => ("redeemed_failure", ""),
        Redemption::Unknown if mode == Mode::Wait => ("pending", ""),
        Redemption::Unconfirmed => ("refused", ErrorCode::ConfirmationRequired.as_str()),
        _ => ("refused", ErrorCode::InvalidGrant.as_str()),
    };
    crate::observe::metrics::Metrics::outcome(&app.metrics.handoffs, outcome.0, outcome.1);
    Ok((answer(redemption, mode)?, Some(client)))
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
        Redemption::Redeemed(LoginOutcome::Failure { error, description }) => Ok((
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({
                "error": ErrorCode::LoginFailed.as_str(),
                "error_description": "The login did not succeed.",
                "login_error": error,
                "login_error_description": description,
            })),
        )
            .into_response()),
        Redemption::Unknown if mode == Mode::Wait => Ok(pending()),
        Redemption::Unconfirmed => Err(WebError::new(
            ErrorCode::ConfirmationRequired,
            "The login has completed but was not confirmed: only the page of the registered origin that started it (or the user, in the login window) can release it.",
        )),
        Redemption::WrongVerifier { burned: true } => Err(WebError::new(
            ErrorCode::InvalidGrant,
            "Wrong txn_verifier: too many wrong tries, this login result is now discarded.",
        )),
        Redemption::WrongVerifier { burned: false } => Err(WebError::new(
            ErrorCode::InvalidGrant,
            "Wrong txn_verifier for this txn.",
        )),
        Redemption::Closed | Redemption::Unknown => Err(invalid_grant()),
    }
}
