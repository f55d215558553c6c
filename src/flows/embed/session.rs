//! The embedded-session engine: a vouched user becomes a session (tenant and
//! client checked, realm user provisioned, slot taken, role on the resource,
//! tokens issued), and a session token is read back and checked while it lives.

use chrono::{DateTime, Utc};

use super::audit::Audit;
use super::provision::provision;
use super::session_token::SESSION_TOKEN_TYPE;
use super::session_token::Session;
use super::session_token::SessionClaims;
use super::slots::{SLOT_LEASE, registration_slot, session_keys, user_slot};
use super::tokens::{SessionResponse, issue};
use super::vouched::{HostUser, Profile};
use crate::app::AppState;
use crate::auth::signing::OwnTokenProblem;
use crate::crypto;
use crate::domain::{ClientId, ResourceRef, Role, SessionPolicy, TenantId};
use crate::flows::display_names::displayed;
use crate::http::code::ErrorCode;
use crate::http::error::WebError;
use crate::http::refused::Refused;
use crate::store::SlotClaim;
use crate::store::resources::ResourceStore as _;
use crate::store::tenants::TenantStore;

/// Starts a session for `user` in `client`: the tenant must use the client, the
/// user is found or created in the tenant's realm, the session takes its slot
/// (one per registration, or per user where the tenant asks), its role on the
/// resource is computed, and Keycloak tokens and a session token are issued.
/// `existing` is the id and start of a session that exists already (a link's
/// cookie); else a new one starts. A client the tenant does not use is
/// refused opaquely with `refusal` (the code of what vouched for the user).
pub(crate) async fn start_session(
    app: &AppState,
    client: &ClientId,
    user: &HostUser,
    existing: Option<(String, DateTime<Utc>)>,
    refusal: ErrorCode,
    audit: &Audit,
) -> Result<SessionResponse, Refused> {
    let registry = app.registry.snapshot();
    audit.actor(match &user.acting {
        Some(parent) => format!("tenant:{parent}"),
        None => format!("tenant:{}", user.tenant),
    });
    audit.subject(format!("{}/{}", user.tenant, user.sub));
    if let Some(parent) = &user.acting {
        audit.reason(format!("acting for sub-tenant {} as {parent}", user.tenant));
    }
    let tenant = app.durable.tenant(&user.tenant).await?;
    let Some(tenant) = tenant.filter(|t| t.clients.contains(client)) else {
        return Err(audit.refuse(refusal, "client_not_allowed"));
    };
    let Some(realm) = registry.realms.get(&tenant.realm) else {
        return Err(Refused::new(
            ErrorCode::RealmNotConfigured,
            "The tenant's realm is not configured in the broker.",
        )
        .because("the tenant's realm is not configured"));
    };
    audit.realm(realm.name.to_string());
    let realm_user = provision(app, realm, &tenant, user, audit).await?;
    let now = app.clock.now();
    let (sid, started) = match existing {
        Some(existing) => existing,
        None => (crypto::random_token()?, now),
    };
    let sub = user.sub.as_str();
    let slot = match &user.registration {
        Some(registration) => Some(registration_slot(&tenant.id, registration)),
        None if tenant.embeds.one_session_per_user => Some(user_slot(&tenant.id, sub)),
        None => None,
    };
    // Every way in shows a name under the tenant's one uniqueness rule.
    let mut profile = user.profile.clone();
    profile.name = displayed(app, &tenant.id, sub, profile.name.as_deref()).await?;
    let role = match &user.resource {
        Some(resource) => Some(role_on(app, &tenant.id, resource, sub, &profile).await?),
        None => None,
    };
    let session = Session {
        client: client.clone(),
        tenant: tenant.id.clone(),
        sub: sub.to_owned(),
        sid,
        started,
        ends_at: user.session_exp,
        realm_user: realm_user.id,
        acting: user.acting.clone(),
        profile,
        resource: user.resource.clone(),
        resource_specific: user.resource_specific,
        role,
        registration: user.registration.clone(),
        slot,
    };
    if let Some(slot) = &session.slot {
        let replace = tenant.embeds.session_policy == SessionPolicy::TerminateOldest;
        take_slot(app, &session, slot, replace, audit).await?;
    }
    let grant_idp = tenant.assertion_grant_idp.as_ref();
    let issued = issue(app, realm, &session, grant_idp, audit).await;
    if issued.is_err()
        && let Some(slot) = &session.slot
        && let Err(release) = app.logins.release_slot(slot, &session.sid).await
    {
        tracing::warn!(error = %release, "could not free the slot of a session that did not start");
    }
    Ok(issued?)
}

/// Takes the session's slot: refused (`session_active`) when another session
/// holds it and the tenant denies new ones; else the holder it displaces is
/// ended, and its frame told.
pub(crate) async fn take_slot(
    app: &AppState,
    session: &Session,
    slot: &str,
    replace: bool,
    audit: &Audit,
) -> Result<(), Refused> {
    let now = app.clock.now();
    let until = (now + SLOT_LEASE).min(session.ends_at);
    let claim = app
        .logins
        .claim_slot(slot, &session.sid, replace, until, now)
        .await?;
    match claim {
        SlotClaim::Held => Err(Refused::new(
            ErrorCode::SessionActive,
            "This registration (or user) has an active session elsewhere, and the tenant lets the first one keep it: end that session first.",
        )
        .because("session_active")),
        SlotClaim::Claimed { displaced: None } => Ok(()),
        SlotClaim::Claimed {
            displaced: Some(old),
        } => {
            let keys = session_keys(&session.tenant, &session.sub, &old);
            app.logins
                .end_sessions(&keys.session, &keys.user, now, session.ends_at)
                .await?;
            audit.reason("terminated the older session");
            Ok(())
        }
    }
}

/// The user's role on `resource` of `tenant`, from its ACL as it is now.
pub(crate) async fn role_on(
    app: &AppState,
    tenant: &TenantId,
    resource: &ResourceRef,
    sub: &str,
    profile: &Profile,
) -> Result<Role, WebError> {
    let found = app
        .durable
        .resource(tenant, &resource.id)
        .await?
        .filter(|r| r.kind == resource.kind)
        .ok_or_else(|| {
            WebError::new(
                ErrorCode::ResourceNotFound,
                format!("The tenant has no resource {resource}."),
            )
        })?;
    // An email grants a role only when it is trusted (docs/src/embedded/host-tokens.md, "Who vouches for an email").
    Ok(found.acl.role_of(sub, profile.trusted_email()))
}

/// Why an embed session is over: the `reason` of the frame's `onEnded`
/// (docs/src/embedded/embed-urls-registrations-links.md, "When a session ends").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EndReason {
    /// Its time is up (`session_exp`, or a token left to expire).
    Expired,
    /// The host, the frame or an administrator logged it out.
    LoggedOut,
    /// Its registration was revoked.
    Revoked,
    /// A newer session of its registration (or user) took its place.
    Replaced,
}

impl EndReason {
    /// As the wait answers it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Expired => "expired",
            Self::LoggedOut => "logged_out",
            Self::Revoked => "revoked",
            Self::Replaced => "replaced",
        }
    }

    /// The refusal of a call made with the session's token.
    fn refusal(self) -> WebError {
        match self {
            Self::Expired => ended("The session is over: log in again."),
            Self::LoggedOut => ended("The session was ended (logged out): log in again."),
            Self::Revoked => ended("The registration was revoked: register again."),
            Self::Replaced => WebError::new(
                ErrorCode::SessionReplaced,
                "A newer session of this registration (or user) replaced this one: it was signed in elsewhere.",
            ),
        }
    }
}

/// Why `session`, which the login store marks as ended (or whose time is up),
/// is over.
pub(crate) async fn why_over(app: &AppState, session: &Session) -> Result<EndReason, WebError> {
    if session.ends_at <= app.clock.now() {
        return Ok(EndReason::Expired);
    }
    if let Some(slot) = &session.slot
        && app
            .logins
            .slot_holder(slot, app.clock.now())
            .await?
            .is_some_and(|holder| holder != session.sid)
    {
        return Ok(EndReason::Replaced);
    }
    if registration_gone(app, session).await? {
        return Ok(EndReason::Revoked);
    }
    Ok(EndReason::LoggedOut)
}

/// Whether `session` belongs to a registration that no longer exists.
async fn registration_gone(app: &AppState, session: &Session) -> Result<bool, WebError> {
    match &session.registration {
        Some(registration) => Ok(app.durable.registration(registration).await?.is_none()),
        None => Ok(false),
    }
}

pub(crate) fn ended(message: &str) -> WebError {
    WebError::new(ErrorCode::SessionEnded, message.to_owned())
}

/// Reads a session token of `client`: the signature (reloading the keys once
/// for a `kid` another replica made), the claims, and that it is still live.
pub(crate) async fn open_session(
    app: &AppState,
    client: &ClientId,
    token: &str,
    allow_expired_token: bool,
) -> Result<Session, WebError> {
    session_state(app, client, token, allow_expired_token)
        .await?
        .map_err(EndReason::refusal)
}

/// As [`open_session`], telling a session that is over (and why) from a token
/// that does not verify (the error).
pub(crate) async fn session_state(
    app: &AppState,
    client: &ClientId,
    token: &str,
    allow_expired_token: bool,
) -> Result<Result<Session, EndReason>, WebError> {
    let keys = &app.broker_keys;
    let claims = match keys.verify(token, SESSION_TOKEN_TYPE) {
        Err(OwnTokenProblem::UnknownKey) => {
            keys.reload().await.map_err(WebError::internal)?;
            keys.verify(token, SESSION_TOKEN_TYPE)
        }
        other => other,
    }
    .map_err(|_| ended("The session token does not verify: log in again."))?;
    let claims = SessionClaims::from_map(claims)
        .filter(|c| c.iss == keys.issuer() && c.aud == *client)
        .ok_or_else(|| ended("The session token does not verify: log in again."))?;
    let now = app.clock.now();
    if (!allow_expired_token && claims.exp <= now) || claims.session_exp <= now {
        return Ok(Err(EndReason::Expired));
    }
    let session = Session {
        client: claims.aud,
        tenant: claims.tenant,
        sub: claims.sub,
        sid: claims.sid,
        started: claims.session_iat,
        ends_at: claims.session_exp,
        realm_user: claims.realm_user,
        acting: claims.act.map(|a| a.sub),
        profile: claims.profile,
        resource: claims.resource,
        resource_specific: claims.resource_specific == Some(true),
        role: claims.role,
        registration: claims.registration,
        slot: claims.slot,
    };
    let keys = session_keys(&session.tenant, &session.sub, &session.sid);
    if app.logins.session_ended(&keys, session.started).await? {
        return Ok(Err(why_over(app, &session).await?));
    }
    // A registrant's session lasts no longer than the registration, whatever
    // the login store remembers (docs/src/operate/replicas.md, "What is durable where").
    if registration_gone(app, &session).await? {
        return Ok(Err(EndReason::Revoked));
    }
    if let Some(slot) = &session.slot {
        // A sign of life keeps the place; a session another took it from is over.
        let until = (now + SLOT_LEASE).min(session.ends_at);
        let claim = app
            .logins
            .claim_slot(slot, &session.sid, false, until, now)
            .await?;
        if claim == SlotClaim::Held {
            return Ok(Err(EndReason::Replaced));
        }
    }
    Ok(Ok(session))
}

/// The tenant and user of a live session token of `client`.
pub(crate) async fn session_user(
    app: &AppState,
    client: &ClientId,
    token: &str,
) -> Result<(TenantId, String), WebError> {
    let session = open_session(app, client, token, false).await?;
    Ok((session.tenant, session.sub))
}
