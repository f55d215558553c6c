//! The embedded frame's calls (CORS: the client's registered origins):
//! `POST /api/embed/redeem` (a host token or a one-time ticket for a session),
//! `/api/embed/session` (renew), `/api/embed/session/wait` (until it ends or
//! the profile changes), `/api/embed/logout`, and the broker's key set at
//! `/.well-known/jwks.json`. A refused token answers its code and a debug id
//! only; the reason is in the audit row of that request id.

use std::time::Duration;

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::audit::Audit;
use super::host_token::from_host_token;
use super::profiles::stored_profile;
use super::session::{
    EndReason, ended, open_session, role_on, session_state, start_session, why_over,
};
use super::session_token::Session;
use super::slots::session_keys;
use super::tickets;
use super::tokens::{SessionResponse, issue};
use super::vouched::Profile;
use crate::app::AppState;
use crate::domain::{ClientId, ResourceRef, Tenant, TenantId};
use crate::http::client_addr::ClientAddr;
use crate::http::code::ErrorCode;
use crate::http::error::WebError;
use crate::http::frame::{FrameCall, Framed, frame_requests};
use crate::http::refused::Refused;
use crate::store::tenants::TenantStore;

/// The longest `/api/embed/session/wait` holds a request.
pub(crate) const SESSION_WAIT: Duration = Duration::from_secs(25);

/// What a frame redeems: a host token or a ticket.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedeemRequest {
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

/// A frame's call about its session.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionRequest {
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

/// No provider of this name in a tenant of this client.
pub(crate) fn no_provider() -> WebError {
    WebError::new(
        ErrorCode::UnknownProvider,
        "The tenant has no identity provider of this name: check the provider's name in the tenant's settings.",
    )
}

/// No tenant of this id uses this client: one answer whether it does not exist
/// or belongs to another app, so a frame learns nothing of tenants that are
/// not its own.
fn no_tenant() -> WebError {
    WebError::new(
        ErrorCode::UnknownTenant,
        "No tenant of this id uses this app (client): check the tenant id, and that the tenant lists this client.",
    )
}

/// The tenant named by a frame of `client`, when it uses the client.
pub(crate) async fn tenant_of(
    app: &AppState,
    raw: &str,
    client: &ClientId,
) -> Result<Tenant, Refused> {
    let id = TenantId::parse(raw).map_err(|e| Refused::invalid(e.to_string()))?;
    Ok(app
        .durable
        .tenant(&id)
        .await?
        .filter(|t| t.clients.contains(client))
        .ok_or_else(no_tenant)?)
}

/// A frame's answer: for its client, or a refusal.
pub(crate) type FrameResult<T> = Result<Framed<Json<T>>, Refused>;

/// `POST /api/embed/redeem`: a host token or a one-time ticket for an embed
/// session.
pub async fn redeem(
    State(app): State<AppState>,
    audit: Audit,
    FrameCall { client, body }: FrameCall<RedeemRequest>,
) -> FrameResult<SessionResponse> {
    let (user, refusal) = match (body.token, body.ticket) {
        (Some(token), None) => (
            from_host_token(&app, &token, &audit).await?,
            ErrorCode::InvalidToken,
        ),
        (None, Some(ticket)) => {
            audit.action("embed.ticket");
            let user =
                tickets::redeem(&app, &ticket, (&client, body.resource.as_ref()), &audit).await?;
            (user, ErrorCode::InvalidTicket)
        }
        _ => {
            return Err(Refused::invalid(
                "Send exactly one of `token` (a host token) and `ticket` (a one-time ticket).",
            )
            .because("invalid request"));
        }
    };
    let session = start_session(&app, &client, &user, None, refusal, &audit).await?;
    Ok(Framed(client, Json(session)))
}

/// `POST /api/embed/session {client_id, session_token}`: a new session token and
/// Keycloak token, while the session lasts.
pub async fn renew(
    State(app): State<AppState>,
    audit: Audit,
    FrameCall { client, body }: FrameCall<SessionRequest>,
) -> FrameResult<SessionResponse> {
    // Only a live token renews: a copy stolen and kept does not outlive its
    // 10 minutes.
    let mut session = open_session(&app, &client, &body.session_token, false).await?;
    if let Some(wanted) = body.resource {
        if session.resource_specific && session.resource.as_ref() != Some(&wanted) {
            return Err(Refused::new(
                ErrorCode::ResourceNotAllowed,
                "This session is valid for another resource only.",
            )
            .because(format!("resource_not_allowed: {wanted}")));
        }
        session.resource = Some(wanted);
    }
    audit.actor(format!(
        "tenant:{}",
        session.acting.as_ref().unwrap_or(&session.tenant)
    ));
    audit.subject(format!("{}/{}", session.tenant, session.sub));
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
        let role = role_on(
            &app,
            &session.tenant,
            resource,
            &session.sub,
            &session.profile,
        )
        .await?;
        session.role = Some(role);
    }
    let registry = app.registry.snapshot();
    let realm = registry.realms.get(&tenant.realm).ok_or_else(|| {
        Refused::new(
            ErrorCode::RealmNotConfigured,
            "The tenant's realm is not configured.",
        )
    })?;
    audit.realm(realm.name.to_string());
    let grant_idp = tenant.assertion_grant_idp.as_ref();
    let answer = issue(&app, realm, &session, grant_idp, &audit).await?;
    Ok(Framed(client, Json(answer)))
}

/// `POST /api/embed/session/wait {client_id, session_token}`: answers
/// `{"ended": true, "reason": "expired" | "logged_out" | "revoked" | "replaced"}`
/// the moment the session ends (no reason for a token that does not verify),
/// `{"changed": true}` when the host updated the user's profile (renew to see
/// it), `{"ended": false}` after 25 s, or at once `{"ended": false, "busy":
/// true}` when too many polls are parked (ask again later).
pub async fn wait(
    State(app): State<AppState>,
    address: Option<Extension<ClientAddr>>,
    FrameCall { client, body }: FrameCall<SessionRequest>,
) -> FrameResult<Value> {
    let answer = |value: Value| Ok(Framed(client.clone(), Json(value)));
    // Parked polls share the relay's places (per address and overall); with
    // none free the poll answers at once and says so.
    let Some(_slot) = app
        .wait_slots
        .try_park(address.map(|Extension(ClientAddr(ip))| ip))
    else {
        app.metrics.refused_by("waits");
        return answer(json!({"ended": false, "busy": true}));
    };
    let ended = |reason: EndReason| answer(json!({"ended": true, "reason": reason.as_str()}));
    let session = match session_state(&app, &client, &body.session_token, false).await {
        Ok(Ok(session)) => session,
        Ok(Err(reason)) => return ended(reason),
        // A token that does not verify: over, for no reason a frame can name.
        Err(err) if err.error_code() == ErrorCode::SessionEnded => {
            return answer(json!({"ended": true}));
        }
        Err(err) => return Err(err.into()),
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
            return answer(json!({"ended": false, "changed": true}));
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return answer(json!({"ended": false}));
        }
        app.logins
            .wait_for_session_end(&keys, session.started, left)
            .await?;
        if app.logins.session_ended(&keys, session.started).await?
            || session.ends_at <= app.clock.now()
        {
            return ended(why_over(&app, &session).await?);
        }
    }
}

/// `POST /api/embed/logout {client_id, session_token}`: ends this session.
pub async fn logout(
    State(app): State<AppState>,
    audit: Audit,
    FrameCall { client, body }: FrameCall<SessionRequest>,
) -> FrameResult<Value> {
    let session = open_session(&app, &client, &body.session_token, true).await?;
    audit.actor(format!("tenant:{}", session.tenant));
    audit.subject(format!("{}/{}", session.tenant, session.sub));
    let keys = session_keys(&session.tenant, &session.sub, &session.sid);
    app.logins
        .end_sessions(&keys.session, &keys.user, app.clock.now(), session.ends_at)
        .await?;
    if let Some(slot) = &session.slot {
        app.logins.release_slot(slot, &session.sid).await?;
    }
    if body.keycloak_logout {
        end_keycloak_sessions(&app, &session, &audit).await?;
    }
    Ok(Framed(client, Json(json!({"ended": true}))))
}

/// Ends the Keycloak sessions of the session's realm user (its refresh tokens
/// stop working); the embed session is over already.
pub(crate) async fn end_keycloak_sessions(
    app: &AppState,
    session: &Session,
    audit: &Audit,
) -> Result<(), WebError> {
    let tenant = app.durable.tenant(&session.tenant).await?;
    let registry = app.registry.snapshot();
    let Some(realm) = tenant.and_then(|t| registry.realms.get(&t.realm).cloned()) else {
        return Ok(());
    };
    audit.realm(realm.name.to_string());
    app.keycloak_admin
        .logout_user(&realm, &session.realm_user)
        .await
        .map_err(|err| {
            audit.failed(format!("keycloak logout: {err}"));
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
