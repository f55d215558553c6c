//! The embedded frame's calls (CORS: the client's registered origins):
//! `POST /api/embed/redeem` (a host token or a one-time ticket for a session),
//! `/api/embed/session` (renew), `/api/embed/session/wait` (until it ends or
//! the profile changes), `/api/embed/logout`, and the broker's key set at
//! `/.well-known/jwks.json`. A refused token answers its code and a debug id
//! only; the reason is in the audit row of that request id.

use std::time::Duration;

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::audit::audit_entry;
use super::host_token::from_host_token;
use super::profiles::stored_profile;
use super::session::{displaced, ended, open_session, role_on, start_session};
use super::session_token::Session;
use super::slots::session_keys;
use super::tickets;
use super::tokens::issue;
use super::vouched::Profile;
use crate::app::AppState;
use crate::domain::{ClientId, ResourceRef};
use crate::http::client_addr::ClientAddr;
use crate::http::code::ErrorCode;
use crate::http::cors;
use crate::http::error::{ApiError, WebError};
use crate::http::frame::{finish_response, frame_request, frame_requests};
use crate::http::request_id::RequestId;
use crate::store::AuditEntry;
use crate::store::tenants::TenantStore;

/// The longest `/api/embed/session/wait` holds a request.
pub(crate) const SESSION_WAIT: Duration = Duration::from_secs(25);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RedeemRequest {
    pub(crate) client_id: String,
    /// A host token (`#token=`).
    #[serde(default)]
    pub(crate) token: Option<String>,
    /// A one-time ticket (`#authproxy_ticket=`) of an embed URL, a join URL or
    /// a link.
    #[serde(default)]
    pub(crate) ticket: Option<String>,
    /// The resource whose frame redeems it.
    #[serde(default)]
    pub(crate) resource: Option<ResourceRef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SessionRequest {
    pub(crate) client_id: String,
    pub(crate) session_token: String,
    /// The resource the frame shows.
    #[serde(default)]
    pub(crate) resource: Option<ResourceRef>,
    /// On logout: end the user's Keycloak sessions too.
    #[serde(default)]
    pub(crate) keycloak_logout: bool,
}

frame_requests! {
    RedeemRequest => r#"{"client_id", "token"} or {"client_id", "ticket", "resource"}"#,
    SessionRequest => r#"{"client_id", "session_token", "resource"?, "keycloak_logout"?}"#,
}

/// What a frame's session call names.
pub(crate) struct Asked {
    pub(crate) client: ClientId,
    pub(crate) token: String,
    pub(crate) resource: Option<ResourceRef>,
    pub(crate) keycloak_logout: bool,
}

/// `POST /api/embed/redeem`: a host token for an embed session.
pub async fn redeem(
    State(app): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    client: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let registry = app.registry.snapshot();
    let origin = cors::request_origin(&headers);
    let mut audit = audit_entry(&app, "embed.redeem", &request_id, client);
    let answer = redeem_inner(&app, &headers, &body, &request_id, &mut audit).await;
    let (mut response, client) = match answer {
        Ok((response, client)) => (response, Some(client)),
        Err(response) => (response, None),
    };
    if let Err(err) = app.audit.append(&audit).await {
        tracing::error!(error = %err, "could not write the audit row");
        response = ApiError(WebError::from(err)).into_response();
    }
    let code = response.extensions().get::<ErrorCode>().map_or(
        if response.status().is_success() {
            ""
        } else {
            ErrorCode::InvalidToken.as_str()
        },
        |c| c.as_str(),
    );
    crate::observe::metrics::Metrics::outcome(
        &app.metrics.embed_redemptions,
        if response.status().is_success() {
            "redeemed"
        } else {
            "refused"
        },
        code,
    );
    finish_response(&registry, &mut response, origin, client.as_ref());
    response
}

pub(crate) async fn redeem_inner(
    app: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    request_id: &str,
    audit: &mut AuditEntry,
) -> Result<(Response, ClientId), Response> {
    let registry = app.registry.snapshot();
    let (request, client) =
        frame_request::<RedeemRequest>(&registry, headers, body).map_err(|e| {
            if e.code() == ErrorCode::InvalidRequest.as_str() {
                audit.reason = Some("invalid request".into());
            }
            ApiError(e).into_response()
        })?;
    let (user, refusal) = match (&request.token, &request.ticket) {
        (Some(token), None) => (
            from_host_token(app, token, request_id, audit).await?,
            ErrorCode::InvalidToken,
        ),
        (None, Some(ticket)) => {
            audit.action = "embed.ticket".into();
            let user = tickets::redeem(
                app,
                ticket,
                (&client, request.resource.as_ref()),
                request_id,
                audit,
            )
            .await?;
            (user, ErrorCode::InvalidTicket)
        }
        _ => {
            audit.reason = Some("invalid request".into());
            return Err(ApiError(WebError::new(
                ErrorCode::InvalidRequest,
                "Send exactly one of `token` (a host token) and `ticket` (a one-time ticket).",
            ))
            .into_response());
        }
    };
    let response = start_session(app, &client, &user, None, (refusal, request_id), audit).await?;
    Ok((response, client))
}

pub(crate) fn session_request(
    app: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Asked, WebError> {
    let (request, client) =
        frame_request::<SessionRequest>(&app.registry.snapshot(), headers, body)?;
    Ok(Asked {
        client,
        token: request.session_token,
        resource: request.resource,
        keycloak_logout: request.keycloak_logout,
    })
}

pub(crate) fn with_cors(
    app: &AppState,
    headers: &HeaderMap,
    answer: Result<(Response, ClientId), WebError>,
) -> Response {
    let (mut response, client) = match answer {
        Ok((response, client)) => (response, Some(client)),
        Err(err) => (ApiError(err).into_response(), None),
    };
    finish_response(
        &app.registry.snapshot(),
        &mut response,
        cors::request_origin(headers),
        client.as_ref(),
    );
    response
}

/// `POST /api/embed/session {client_id, session_token}`: a new session token and
/// Keycloak token, while the session lasts.
pub async fn renew(
    State(app): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    client: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut audit = audit_entry(&app, "embed.renew", &request_id, client);
    let answer = async {
        let Asked {
            client,
            token,
            resource,
            ..
        } = session_request(&app, &headers, &body)?;
        // Only a live token renews: a copy stolen and kept does not outlive
        // its 10 minutes.
        let mut session = open_session(&app, &client, &token, false).await?;
        if let Some(wanted) = resource {
            if session.resource_specific && session.resource.as_ref() != Some(&wanted) {
                audit.reason = Some(format!("resource_not_allowed: {wanted}"));
                return Err(WebError::new(
                    ErrorCode::ResourceNotAllowed,
                    "This session is valid for another resource only.",
                ));
            }
            session.resource = Some(wanted);
        }
        audit.actor = format!(
            "tenant:{}",
            session.acting.as_ref().unwrap_or(&session.tenant)
        );
        audit.subject = Some(format!("{}/{}", session.tenant, session.sub));
        let tenant = app
            .durable
            .tenant(&session.tenant)
            .await?
            .filter(|t| t.clients.contains(&client))
            .ok_or_else(|| ended("The tenant no longer exists or no longer uses this client."))?;
        if let Some((_, profile)) = stored_profile(&app, &session.tenant, &session.sub).await? {
            session.profile = profile;
        }
        // Roles are computed anew: an ACL change shows at the next renewal.
        if let Some(resource) = &session.resource {
            session.role = Some(
                role_on(
                    &app,
                    &session.tenant,
                    resource,
                    &session.sub,
                    &session.profile,
                )
                .await?,
            );
        }
        let registry = app.registry.snapshot();
        let realm = registry.realms.get(&tenant.realm).ok_or_else(|| {
            WebError::new(
                ErrorCode::RealmNotConfigured,
                "The tenant's realm is not configured.",
            )
        })?;
        audit.realm = Some(realm.name.to_string());
        let response = issue(
            &app,
            realm,
            &session,
            tenant.assertion_grant_idp.as_ref(),
            &mut audit,
        )
        .await?;
        audit.outcome = "granted".into();
        Ok::<_, WebError>((response, client))
    }
    .await;
    if let Err(err) = &answer {
        audit.reason.get_or_insert_with(|| err.code().to_owned());
    }
    if let Err(err) = app.audit.append(&audit).await {
        tracing::error!(error = %err, "could not write the audit row");
        return ApiError(WebError::from(err)).into_response();
    }
    with_cors(&app, &headers, answer)
}

/// `POST /api/embed/session/wait {client_id, session_token}`: answers
/// `{"ended": true}` the moment the session ends (a host or frame logout),
/// `{"changed": true}` when the host updated the user's profile (renew to see
/// it), `{"ended": false}` after 25 s, or at once `{"ended": false, "busy":
/// true}` when too many polls are parked (ask again later).
pub async fn wait(
    State(app): State<AppState>,
    client: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let ip = client.map(|Extension(ClientAddr(ip))| ip);
    let answer = async {
        let Asked { client, token, .. } = session_request(&app, &headers, &body)?;
        // Parked polls share the relay's places (per address and overall); with
        // none free the poll answers at once and says so.
        let Some(_slot) = app.wait_slots.try_park(ip) else {
            app.metrics.refused_by("waits");
            return Ok((
                Json(json!({"ended": false, "busy": true})).into_response(),
                client,
            ));
        };
        let session = match open_session(&app, &client, &token, false).await {
            Ok(session) => session,
            Err(err) if err.error_code() == ErrorCode::SessionReplaced => {
                return Ok((
                    Json(json!({"ended": true, "reason": "replaced"})).into_response(),
                    client,
                ));
            }
            Err(err) if err.error_code() == ErrorCode::SessionEnded => {
                return Ok((Json(json!({"ended": true})).into_response(), client));
            }
            Err(err) => return Err(err),
        };
        let keys = session_keys(&session.tenant, &session.sub, &session.sid);
        // "Changed" means the host's stored profile differs from the one this
        // session's token carries (a renewal copies it in), so an update made
        // before this poll was parked is not missed.
        let differs = |stored: Option<(String, Profile)>| {
            stored.is_some_and(|(_, profile)| profile != session.profile)
        };
        let deadline = tokio::time::Instant::now() + SESSION_WAIT;
        loop {
            if differs(stored_profile(&app, &session.tenant, &session.sub).await?) {
                return Ok::<_, WebError>((
                    Json(json!({"ended": false, "changed": true})).into_response(),
                    client,
                ));
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Ok((Json(json!({"ended": false})).into_response(), client));
            }
            app.logins
                .wait_for_session_end(&keys, session.started, left)
                .await?;
            if app.logins.session_ended(&keys, session.started).await?
                || session.ends_at <= app.clock.now()
            {
                let answer = if displaced(&app, &session).await? {
                    json!({"ended": true, "reason": "replaced"})
                } else {
                    json!({"ended": true})
                };
                return Ok((Json(answer).into_response(), client));
            }
        }
    }
    .await;
    with_cors(&app, &headers, answer)
}

/// `POST /api/embed/logout {client_id, session_token}`: ends this session.
pub async fn logout(
    State(app): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    client: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut audit = audit_entry(&app, "embed.logout", &request_id, client);
    let answer = async {
        let asked = session_request(&app, &headers, &body)?;
        let client = asked.client;
        let session = open_session(&app, &client, &asked.token, true).await?;
        audit.actor = format!("tenant:{}", session.tenant);
        audit.subject = Some(format!("{}/{}", session.tenant, session.sub));
        let keys = session_keys(&session.tenant, &session.sub, &session.sid);
        app.logins
            .end_sessions(&keys.session, &keys.user, app.clock.now(), session.ends_at)
            .await?;
        if let Some(slot) = &session.slot {
            app.logins.release_slot(slot, &session.sid).await?;
        }
        if asked.keycloak_logout {
            end_keycloak_sessions(&app, &session, &mut audit).await?;
        }
        audit.outcome = "granted".into();
        Ok::<_, WebError>((Json(json!({"ended": true})).into_response(), client))
    }
    .await;
    if let Err(err) = app.audit.append(&audit).await {
        tracing::error!(error = %err, "could not write the audit row");
    }
    with_cors(&app, &headers, answer)
}

/// Ends the Keycloak sessions of the session's realm user (its refresh tokens
/// stop working); the embed session is over already.
pub(crate) async fn end_keycloak_sessions(
    app: &AppState,
    session: &Session,
    audit: &mut AuditEntry,
) -> Result<(), WebError> {
    let tenant = app.durable.tenant(&session.tenant).await?;
    let registry = app.registry.snapshot();
    let Some(realm) = tenant.and_then(|t| registry.realms.get(&t.realm).cloned()) else {
        return Ok(());
    };
    audit.realm = Some(realm.name.to_string());
    app.keycloak_admin
        .logout_user(&realm, &session.realm_user)
        .await
        .map_err(|err| {
            audit.outcome = "failed".into();
            audit.reason = Some(format!("keycloak logout: {err}"));
            WebError::from(err)
        })
}

/// `GET /.well-known/jwks.json`: the keys of the broker's session tokens.
pub async fn jwks(State(app): State<AppState>) -> Response {
    let mut response = Json(app.broker_keys.jwks()).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("public, max-age=300"),
    );
    response
}
