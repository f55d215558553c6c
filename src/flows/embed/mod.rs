//! Embedded SSO from the host's backend (seed 000): the host vouches for its
//! logged-in user with a short-lived host token (`#token=` in the embedded app's
//! URL), and the embedded app trades it here for an embed session.
//!
//! - `POST /api/embed/redeem {client_id, token}` (CORS: the client's registered
//!   origins): verifies the token ([`crate::auth::host_token`]), checks the
//!   client is the tenant's, finds or creates the user in the tenant's realm
//!   (only after every check passed, so a refused token never creates a user),
//!   gets Keycloak tokens for that user through the realm's impersonation
//!   exchange, and answers a broker session token (ES256, `typ:
//!   authproxy-session+jwt`, keys at `/.well-known/jwks.json`).
//! - `POST /api/embed/session` renews the session while `session_exp` lasts;
//!   `POST /api/embed/session/wait` long-polls until it ends or the user's
//!   profile changes; `POST /api/embed/logout` ends it from the frame.
//! - A refused token answers `400 {"error": "invalid_token", "debug_id"}` and
//!   nothing more; the reason is in the audit row of that request id.

use std::time::Duration;

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, json};

pub mod session_token;
pub mod tickets;
pub mod vouched;

pub use session_token::SESSION_TOKEN_TYPE;
use session_token::{Actor, SessionClaims};
pub use vouched::{HostUser, Profile};

use super::display_names::displayed;
use super::impersonation::{Expected, check_issued};
use super::{LoginTarget, resolve};
use crate::app::AppState;
use crate::auth::host_token::HostTokenVerifier;
use crate::auth::signing::OwnTokenProblem;
use crate::crypto;
use crate::domain::tenant::user_key;
use crate::domain::{
    ClientId, IdpAlias, Provisioning, Realm, ResourceRef, Role, SessionPolicy, Tenant, TenantId,
    Username,
};
use crate::http::client_addr::ClientAddr;
use crate::http::code::ErrorCode;
use crate::http::cors;
use crate::http::error::{ApiError, WebError, opaque_refusal};
use crate::http::frame::{check_origin, finish_response, parse_client};
use crate::http::json;
use crate::http::request_id::RequestId;
use crate::idp::{RealmUser, UserLookup};
use crate::store::resources::ResourceStore as _;
use crate::store::tenants::TenantStore;
use crate::store::{AuditEntry, Document, SessionKeys, SlotClaim};

/// The `typ` of the assertions the broker signs for RFC 7523's grant.
pub const ASSERTION_TYPE: &str = "JWT";
/// How long one session token lives (the SDK renews it before).
pub const SESSION_TOKEN_LIFETIME: TimeDelta = TimeDelta::minutes(10);
/// The longest `/api/embed/session/wait` holds a request.
const SESSION_WAIT: Duration = Duration::from_secs(25);
/// Where updated profiles are kept (`tenant/sub`).
pub use crate::store::tenants::PROFILE;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RedeemRequest {
    client_id: String,
    /// A host token (`#token=`).
    #[serde(default)]
    token: Option<String>,
    /// A one-time ticket (`#authproxy_ticket=`) of an embed URL, a join URL or
    /// a link.
    #[serde(default)]
    ticket: Option<String>,
    /// The resource whose frame redeems it.
    #[serde(default)]
    resource: Option<ResourceRef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionRequest {
    client_id: String,
    session_token: String,
    /// The resource the frame shows.
    #[serde(default)]
    resource: Option<ResourceRef>,
    /// On logout: end the user's Keycloak sessions too.
    #[serde(default)]
    keycloak_logout: bool,
}

/// What a frame's session call names.
struct Asked {
    client: ClientId,
    token: String,
    resource: Option<ResourceRef>,
    keycloak_logout: bool,
}

#[derive(Serialize)]
struct SessionResponse {
    session_token: String,
    expires_in: i64,
    session_exp: i64,
    tenant: String,
    sub: String,
    user: Profile,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<ResourceRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<Role>,
    keycloak: KeycloakTokens,
}

#[derive(Serialize)]
struct KeycloakTokens {
    access_token: String,
    expires_in: u64,
    authority: String,
}

/// An embed session as its token carries it.
struct Session {
    client: ClientId,
    tenant: TenantId,
    sub: String,
    sid: String,
    started: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    realm_user: String,
    acting: Option<TenantId>,
    profile: Profile,
    resource: Option<ResourceRef>,
    resource_specific: bool,
    role: Option<Role>,
    registration: Option<String>,
    /// The slot it holds (one session per registration, or per user).
    slot: Option<String>,
}

/// How long a session holds its slot without a sign of life (a renewal, or the
/// frame's wait): a closed frame frees its place within this.
pub const SLOT_LEASE: TimeDelta = TimeDelta::minutes(2);

/// The slot of a registration's one session.
fn registration_slot(tenant: &TenantId, registration: &str) -> String {
    format!("registration:{tenant}:{registration}")
}

/// The slot of a user's one session.
fn user_slot(tenant: &TenantId, sub: &str) -> String {
    format!("user:{tenant}:{}", URL_SAFE_NO_PAD.encode(sub))
}

/// The end marks of a user's sessions, and of one of them.
#[must_use]
pub fn session_keys(tenant: &TenantId, sub: &str, sid: &str) -> SessionKeys {
    SessionKeys {
        session: format!("embed-session\0{tenant}\0{sub}\0{sid}"),
        user: user_key(tenant, sub),
    }
}

/// The realm username of a user authproxy creates: namespaced by tenant, from a
/// hash of the host's id (any characters) so it is valid and never collides with
/// a user who signs up.
#[must_use]
pub fn managed_username(tenant: &TenantId, sub: &str) -> String {
    let hash = crypto::sha256(&format!("{tenant}\0{sub}"));
    format!(
        "authproxy.{tenant}.{}",
        crypto::hex(hash.get(..12).unwrap_or_default())
    )
}

/// An audit row of `action`, denied until the flow says otherwise.
pub(super) fn audit_entry(
    app: &AppState,
    action: &str,
    request_id: &str,
    client: Option<Extension<ClientAddr>>,
) -> AuditEntry {
    AuditEntry {
        at: app.clock.now(),
        actor: "anonymous".into(),
        action: action.into(),
        outcome: "denied".into(),
        source: client.map(|Extension(ClientAddr(ip))| ip.to_string()),
        request_id: Some(request_id.to_owned()),
        ..AuditEntry::default()
    }
}

fn invalid_token(request_id: &str) -> Response {
    opaque_refusal(ErrorCode::InvalidToken, request_id)
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

async fn redeem_inner(
    app: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    request_id: &str,
    audit: &mut AuditEntry,
) -> Result<(Response, ClientId), Response> {
    let registry = app.registry.snapshot();
    let request: RedeemRequest = json::object(body).map_err(|e| {
        audit.reason = Some("invalid request".into());
        ApiError(WebError::new(
            ErrorCode::InvalidRequest,
            format!("The body must be JSON {{\"client_id\": \"...\", \"token\": \"...\"}} or {{\"client_id\", \"ticket\", \"resource\"}} ({e})."),
        ))
        .into_response()
    })?;
    let client = parse_client(&request.client_id).map_err(|e| ApiError(e).into_response())?;
    check_origin(&registry, &client, cors::request_origin(headers))
        .map_err(|e| ApiError(e).into_response())?;
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

/// The one strict verifier of host tokens, using tokens up.
pub(super) fn verifier(app: &AppState) -> HostTokenVerifier<'_> {
    HostTokenVerifier {
        tenants: app.durable.as_ref(),
        marks: app.logins.as_ref(),
        broker: &app.broker_keys,
        remote: &app.host_jwks,
        dry_run: false,
    }
}

/// The user a host token vouches for, once the one strict verifier passed it.
async fn from_host_token(
    app: &AppState,
    token: &str,
    request_id: &str,
    audit: &mut AuditEntry,
) -> Result<HostUser, Response> {
    let verified = match verifier(app).verify(token, app.clock.now()).await {
        Ok(Ok(token)) => token,
        Ok(Err(rejection)) => {
            audit.reason = Some(rejection.reason());
            return Err(invalid_token(request_id));
        }
        Err(err) => {
            audit.outcome = "failed".into();
            audit.reason = Some(err.to_string());
            return Err(ApiError(WebError::from(err)).into_response());
        }
    };
    audit.token_jti = Some(verified.jti.clone());
    Ok(HostUser::vouched_by(verified))
}

/// Starts a session for `user` in `client`: the tenant must use the client, the
/// user is found or created in the tenant's realm, the session takes its slot
/// (one per registration, or per user where the tenant asks), its role on the
/// resource is computed, and Keycloak tokens and a session token are issued.
/// `existing` is the id and start of a session that exists already (a link's
/// cookie); else a new one starts. A client the tenant does not use is
/// refused with `refusal` (the code of what vouched for the user) and the
/// request id.
pub(super) async fn start_session(
    app: &AppState,
    client: &ClientId,
    user: &HostUser,
    existing: Option<(String, DateTime<Utc>)>,
    (refusal, request_id): (ErrorCode, &str),
    audit: &mut AuditEntry,
) -> Result<Response, Response> {
    let registry = app.registry.snapshot();
    let web = |e: WebError| ApiError(e).into_response();
    audit.actor = match &user.acting {
        Some(parent) => format!("tenant:{parent}"),
        None => format!("tenant:{}", user.tenant),
    };
    audit.subject = Some(format!("{}/{}", user.tenant, user.sub));
    if let Some(parent) = &user.acting {
        audit.reason = Some(format!("acting for sub-tenant {} as {parent}", user.tenant));
    }
    let tenant = app
        .durable
        .tenant(&user.tenant)
        .await
        .map_err(|e| web(e.into()))?;
    let Some(tenant) = tenant.filter(|t| t.clients.contains(client)) else {
        audit.reason = Some("client_not_allowed".into());
        return Err(opaque_refusal(refusal, request_id));
    };
    let Some(realm) = registry.realms.get(&tenant.realm) else {
        audit.reason = Some("the tenant's realm is not configured".into());
        return Err(web(WebError::new(
            ErrorCode::RealmNotConfigured,
            "The tenant's realm is not configured in the broker.",
        )));
    };
    audit.realm = Some(realm.name.to_string());
    let realm_user = provision(app, realm, &tenant, user, audit)
        .await
        .map_err(web)?;
    let now = app.clock.now();
    let (sid, started) = match existing {
        Some(existing) => existing,
        None => (crypto::random_token().map_err(|e| web(e.into()))?, now),
    };
    let slot = match &user.registration {
        Some(registration) => Some(registration_slot(&tenant.id, registration)),
        None if tenant.embeds.one_session_per_user => Some(user_slot(&tenant.id, &user.sub)),
        None => None,
    };
    // Every way in shows a name under the tenant's one uniqueness rule.
    let mut profile = user.profile.clone();
    profile.name = displayed(app, &tenant.id, &user.sub, profile.name.as_deref())
        .await
        .map_err(web)?;
    let role = match &user.resource {
        Some(resource) => Some(
            role_on(app, &tenant.id, resource, &user.sub, &profile)
                .await
                .map_err(web)?,
        ),
        None => None,
    };
    let session = Session {
        client: client.clone(),
        tenant: tenant.id.clone(),
        sub: user.sub.clone(),
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
    let issued = issue(
        app,
        realm,
        &session,
        tenant.assertion_grant_idp.as_ref(),
        audit,
    )
    .await;
    match issued {
        Ok(response) => {
            audit.outcome = "granted".into();
            Ok(response)
        }
        Err(err) => {
            if let Some(slot) = &session.slot
                && let Err(release) = app.logins.release_slot(slot, &session.sid).await
            {
                tracing::warn!(error = %release, "could not free the slot of a session that did not start");
            }
            Err(web(err))
        }
    }
}

/// Takes the session's slot: refused (`session_active`) when another session
/// holds it and the tenant denies new ones; else the holder it displaces is
/// ended, and its frame told.
async fn take_slot(
    app: &AppState,
    session: &Session,
    slot: &str,
    replace: bool,
    audit: &mut AuditEntry,
) -> Result<(), Response> {
    let now = app.clock.now();
    let until = (now + SLOT_LEASE).min(session.ends_at);
    let claim = app
        .logins
        .claim_slot(slot, &session.sid, replace, until, now)
        .await
        .map_err(|e| ApiError(e.into()).into_response())?;
    match claim {
        SlotClaim::Held => {
            audit.reason = Some("session_active".into());
            Err(ApiError(WebError::new(
                ErrorCode::SessionActive,
                "This registration (or user) has an active session elsewhere, and the tenant lets the first one keep it: end that session first.",
            ))
            .into_response())
        }
        SlotClaim::Claimed { displaced: None } => Ok(()),
        SlotClaim::Claimed {
            displaced: Some(old),
        } => {
            let keys = session_keys(&session.tenant, &session.sub, &old);
            app.logins
                .end_sessions(&keys.session, &keys.user, now, session.ends_at)
                .await
                .map_err(|e| ApiError(e.into()).into_response())?;
            audit.reason = Some("terminated the older session".into());
            Ok(())
        }
    }
}

/// The user's role on `resource` of `tenant`, from its ACL as it is now.
async fn role_on(
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

/// The realm's user for a verified token: found, or created where the tenant
/// provisions users. Runs only after every check of the token passed.
async fn provision(
    app: &AppState,
    realm: &Realm,
    tenant: &Tenant,
    user: &HostUser,
    audit: &mut AuditEntry,
) -> Result<RealmUser, WebError> {
    let admin = &app.keycloak_admin;
    let fail = |audit: &mut AuditEntry, err: crate::idp::IdpError| {
        audit.outcome = "failed".into();
        audit.reason = Some(format!("user lookup: {err}"));
        WebError::from(err)
    };
    match tenant.provisioning {
        Provisioning::ExistingOnly => {
            // An email selects an existing user only when a party the tenant
            // trusts for it vouched (docs/src/embedded/host-tokens.md, "Who vouches for an email").
            if user.profile.email.is_some() && !user.profile.email_verified {
                audit.reason = Some(
                    "existing_only: the email is not vouched for by a party the tenant trusts"
                        .into(),
                );
                return Err(WebError::new(
                    ErrorCode::EmailNotVerified,
                    "This tenant logs in existing users only, found by an email a party it trusts verified; this email is not.",
                ));
            }
            let email = user
                .profile
                .trusted_email()
                .and_then(|e| Username::parse(e).ok());
            let Some(email) = &email else {
                audit.reason = Some("existing_only needs the email claim".into());
                return Err(WebError::new(
                    ErrorCode::UnknownUser,
                    "This tenant logs in existing users only: the token must carry their email.",
                ));
            };
            let registry = app.registry.snapshot();
            let in_realm = matches!(
                resolve(app, &registry, email).await,
                Ok(LoginTarget::Sso { realm: r, .. }) if r.name == realm.name
            );
            if !in_realm {
                audit.reason =
                    Some("the directory does not place the user in the tenant's realm".into());
                return Err(WebError::new(
                    ErrorCode::UnknownUser,
                    "No user of the tenant's realm has this email.",
                ));
            }
            match admin.find_user(realm, email.as_str()).await {
                Ok(UserLookup::Found(user)) => Ok(user),
                Ok(UserLookup::NotFound) => {
                    audit.reason = Some("the realm has no such user".into());
                    Err(WebError::new(
                        ErrorCode::UnknownUser,
                        "No user of the tenant's realm has this email.",
                    ))
                }
                Ok(UserLookup::Ambiguous) => {
                    audit.reason = Some("several realm users have this email".into());
                    Err(WebError::new(
                        ErrorCode::AmbiguousUser,
                        "Several users of the realm have this email address.",
                    ))
                }
                Err(err) => Err(fail(audit, err)),
            }
        }
        Provisioning::Create => create_user(app, realm, user, audit).await,
    }
}

#[derive(Serialize, Deserialize)]
struct CreatedUser {
    realm: String,
    id: String,
    username: String,
}

/// Where the broker remembers the realm users it created (`tenant/sub`).
use crate::store::tenants::CREATED_USER;

/// The realm user the broker created for `sub` of `tenant` in `realm`, if it did.
pub async fn created_user(
    app: &AppState,
    realm: &Realm,
    tenant: &TenantId,
    sub: &str,
) -> Result<Option<RealmUser>, WebError> {
    let doc = app
        .durable
        .document(CREATED_USER, &profile_id(tenant, sub))
        .await?;
    Ok(doc
        .and_then(|d| serde_json::from_str::<CreatedUser>(&d.body).ok())
        .filter(|u| u.realm == realm.name.as_str())
        .map(|u| RealmUser {
            id: u.id,
            username: u.username,
        }))
}

/// The realm user authproxy created for this host user, or a new one. Only a
/// user the broker created itself is ever used: a realm user that merely has
/// the same name (someone who registered it) is refused, never taken over.
async fn create_user(
    app: &AppState,
    realm: &Realm,
    user: &HostUser,
    audit: &mut AuditEntry,
) -> Result<RealmUser, WebError> {
    let remembered = || created_user(app, realm, &user.tenant, &user.sub);
    if let Some(found) = remembered().await? {
        return Ok(found);
    }
    // One creator at a time per host user, across replicas: the others wait
    // for the user it records (many first logins at once create one user).
    let lock = format!(
        "create-user:{}:{}",
        user.tenant,
        URL_SAFE_NO_PAD.encode(&user.sub)
    );
    let holder = crypto::random_token()?;
    let deadline = tokio::time::Instant::now() + CREATION_WAIT;
    loop {
        let now = app.clock.now();
        let claim = app
            .logins
            .claim_slot(&lock, &holder, false, now + TimeDelta::seconds(30), now)
            .await?;
        if claim != SlotClaim::Held {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            audit.outcome = "failed".into();
            audit.reason = Some("another request is still creating this user".into());
            return Err(WebError::new(
                ErrorCode::RealmTimeout,
                "The realm is still creating this user for another request: try again shortly.",
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Some(found) = remembered().await? {
            return Ok(found);
        }
    }
    let created = create_user_holding_the_lock(app, realm, user, audit).await;
    if let Err(err) = app.logins.release_slot(&lock, &holder).await {
        tracing::warn!(error = %err, "could not free a user creation lock (it lapses in 30 s)");
    }
    created
}

/// How long a first login waits for a concurrent one creating the same user.
const CREATION_WAIT: Duration = Duration::from_secs(20);

/// Creates the realm user, with the creation lock held.
async fn create_user_holding_the_lock(
    app: &AppState,
    realm: &Realm,
    user: &HostUser,
    audit: &mut AuditEntry,
) -> Result<RealmUser, WebError> {
    let tenant = &user.tenant;
    let key = profile_id(tenant, &user.sub);
    // The holder before us may have just finished.
    if let Some(found) = created_user(app, realm, tenant, &user.sub).await? {
        return Ok(found);
    }
    let admin = &app.keycloak_admin;
    let fail = |audit: &mut AuditEntry, err: crate::idp::IdpError| {
        audit.outcome = "failed".into();
        audit.reason = Some(format!("user creation: {err}"));
        WebError::from(err)
    };
    let username = managed_username(tenant, &user.sub);
    // No email and no credentials: nobody can set a password for this user (a
    // reset needs an email); it logs in only through authproxy. The attributes
    // are kept where the realm's user profile allows unmanaged attributes.
    let representation = json!({
        "username": username,
        "enabled": true,
        "firstName": user.profile.name.clone().unwrap_or_default(),
        "attributes": {
            "authproxy_tenant": [tenant.as_str()],
            "authproxy_sub": [user.sub],
        },
        "requiredActions": [],
    });
    match admin.create_user(realm, &representation).await {
        Ok(()) => {}
        Err(crate::idp::IdpError::Rejected { status: 409, .. }) => {
            // Under the lock nobody of ours creates it: someone else did.
            audit.reason =
                Some("the realm has a user of this name that authproxy did not create".into());
            return Err(WebError::new(
                ErrorCode::RealmUserConflict,
                "The realm already has a user of the name authproxy gives this host user, and authproxy did not create it.",
            ));
        }
        Err(err) => return Err(fail(audit, err)),
    }
    let found = match admin.find_user(realm, &username).await {
        Ok(UserLookup::Found(found)) => found,
        Ok(_) => {
            audit.outcome = "failed".into();
            audit.reason = Some("the created user is not found".into());
            return Err(WebError::new(
                ErrorCode::RealmInvalidResponse,
                "The realm did not keep the user it created.",
            ));
        }
        Err(err) => return Err(fail(audit, err)),
    };
    let body = serde_json::to_string(&CreatedUser {
        realm: realm.name.to_string(),
        id: found.id.clone(),
        username: found.username.clone(),
    })
    .map_err(WebError::internal)?;
    app.durable
        .put_document(
            CREATED_USER,
            &Document {
                id: key,
                owner: tenant.to_string(),
                body,
                secret: None,
            },
        )
        .await?;
    audit.reason.get_or_insert_with(|| "user created".into());
    Ok(found)
}

/// Keycloak tokens for the session's user and a new session token.
/// Keycloak's access token for the session's user: RFC 7523's grant with an
/// assertion the broker signs, where the tenant names the realm's identity
/// provider that trusts the broker (the user is linked to it on first use), else
/// the impersonation exchange.
async fn keycloak_token(
    app: &AppState,
    realm: &Realm,
    session: &Session,
    grant_idp: Option<&IdpAlias>,
) -> Result<crate::idp::ExchangedToken, crate::idp::IdpError> {
    let Some(alias) = grant_idp else {
        return app.idp.impersonate(realm, &session.realm_user, None).await;
    };
    let assertion = || {
        let now = app.clock.now();
        let mut claims = Map::new();
        claims.insert("sub".into(), session.realm_user.clone().into());
        claims.insert("aud".into(), realm.authority.as_str().into());
        claims.insert("iat".into(), now.timestamp().into());
        claims.insert(
            "exp".into(),
            (now + TimeDelta::seconds(60)).timestamp().into(),
        );
        claims.insert(
            "jti".into(),
            crypto::random_token()
                .map_err(|e| crate::idp::IdpError::InvalidResponse(e.to_string()))?
                .into(),
        );
        app.broker_keys
            .sign(ASSERTION_TYPE, claims)
            .map_err(|e| crate::idp::IdpError::InvalidResponse(e.to_string()))
    };
    match app.idp.assertion_grant(realm, &assertion()?).await {
        // Not linked yet (a user found or created before the realm trusted us):
        // link the user to the broker's identity provider and ask once more.
        Err(crate::idp::IdpError::Rejected { status: 400, .. }) => {
            app.keycloak_admin
                .link_user(
                    realm,
                    &session.realm_user,
                    alias.as_str(),
                    &session.realm_user,
                    &session.sub,
                )
                .await?;
            app.idp.assertion_grant(realm, &assertion()?).await
        }
        other => other,
    }
}

async fn issue(
    app: &AppState,
    realm: &Realm,
    session: &Session,
    grant_idp: Option<&IdpAlias>,
    audit: &mut AuditEntry,
) -> Result<Response, WebError> {
    let token = keycloak_token(app, realm, session, grant_idp)
        .await
        .map_err(|err| {
            audit.outcome = "failed".into();
            audit.reason = Some(err.to_string());
            WebError::from(err)
        })?;
    let expected = Expected {
        subject: &session.realm_user,
        broker_client: realm
            .broker_client
            .as_ref()
            .map_or("", |b| b.client_id.as_str()),
        audience: None,
    };
    if let Err(problem) = check_issued(&token, &expected, app.clock.now()) {
        audit.outcome = "failed".into();
        audit.reason = Some(format!("issued token refused: {problem}"));
        return Err(WebError::new(
            ErrorCode::RealmTokenMismatch,
            "The realm issued a token that does not match the user; it was not handed out.",
        ));
    }
    let now = app.clock.now();
    let exp = (now + SESSION_TOKEN_LIFETIME).min(session.ends_at);
    let claims = SessionClaims {
        iss: app.broker_keys.issuer().to_owned(),
        aud: session.client.clone(),
        sub: session.sub.clone(),
        tenant: session.tenant.clone(),
        sid: session.sid.clone(),
        iat: now,
        exp,
        session_iat: session.started,
        session_exp: session.ends_at,
        realm_user: session.realm_user.clone(),
        act: session.acting.clone().map(|sub| Actor { sub }),
        resource: session.resource.clone(),
        resource_specific: session.resource.is_some() && session.resource_specific,
        role: session.role,
        registration: session.registration.clone(),
        slot: session.slot.clone(),
        profile: session.profile.clone(),
    };
    let session_token = app
        .broker_keys
        .sign(SESSION_TOKEN_TYPE, claims.to_map())
        .map_err(WebError::internal)?;
    Ok(Json(SessionResponse {
        session_token,
        expires_in: (exp - now).num_seconds(),
        session_exp: session.ends_at.timestamp(),
        tenant: session.tenant.to_string(),
        sub: session.sub.clone(),
        user: session.profile.clone(),
        resource: session.resource.clone(),
        role: session.role,
        keycloak: KeycloakTokens {
            access_token: token.access_token,
            expires_in: token.expires_in,
            authority: realm.authority.as_str().to_owned(),
        },
    })
    .into_response())
}

/// Whether another session holds the slot of `session` now (a newer one of
/// its registration or user replaced it).
async fn displaced(app: &AppState, session: &Session) -> Result<bool, WebError> {
    let Some(slot) = &session.slot else {
        return Ok(false);
    };
    Ok(app
        .logins
        .slot_holder(slot, app.clock.now())
        .await?
        .is_some_and(|holder| holder != session.sid))
}

fn replaced() -> WebError {
    WebError::new(
        ErrorCode::SessionReplaced,
        "A newer session of this registration (or user) replaced this one: it was signed in elsewhere.",
    )
}

fn ended(message: &str) -> WebError {
    WebError::new(ErrorCode::SessionEnded, message.to_owned())
}

/// Reads a session token of `client`: the signature (reloading the keys once
/// for a `kid` another replica made), the claims, and that it is still live.
async fn open_session(
    app: &AppState,
    client: &ClientId,
    token: &str,
    allow_expired_token: bool,
) -> Result<Session, WebError> {
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
        return Err(ended("The session is over: log in again."));
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
        resource_specific: claims.resource_specific,
        role: claims.role,
        registration: claims.registration,
        slot: claims.slot,
    };
    let keys = session_keys(&session.tenant, &session.sub, &session.sid);
    if app.logins.session_ended(&keys, session.started).await? {
        if displaced(app, &session).await? {
            return Err(replaced());
        }
        return Err(ended("The session was ended (logged out): log in again."));
    }
    // A registrant's session lasts no longer than the registration, whatever
    // the login store remembers (docs/src/operate/replicas.md, "What is durable where").
    if let Some(registration) = &session.registration
        && app.durable.registration(registration).await?.is_none()
    {
        return Err(ended("The registration was revoked: register again."));
    }
    if let Some(slot) = &session.slot {
        // A sign of life keeps the place; a session another took it from is over.
        let until = (now + SLOT_LEASE).min(session.ends_at);
        let claim = app
            .logins
            .claim_slot(slot, &session.sid, false, until, now)
            .await?;
        if claim == SlotClaim::Held {
            return Err(replaced());
        }
    }
    Ok(session)
}

/// The profile the host last set through `PATCH`, if any.
pub(super) async fn stored_profile(
    app: &AppState,
    tenant: &TenantId,
    sub: &str,
) -> Result<Option<(String, Profile)>, WebError> {
    let doc = app
        .durable
        .document(PROFILE, &profile_id(tenant, sub))
        .await?;
    Ok(doc.and_then(|d| {
        serde_json::from_str(&d.body)
            .ok()
            .map(|profile| (d.body, profile))
    }))
}

/// The document id of a user's profile.
#[must_use]
pub fn profile_id(tenant: &TenantId, sub: &str) -> String {
    format!("{tenant}/{}", URL_SAFE_NO_PAD.encode(sub))
}

/// Writes a user's profile and wakes their open frames.
pub async fn store_profile(
    app: &AppState,
    tenant: &TenantId,
    sub: &str,
    profile: &Profile,
) -> Result<(), WebError> {
    let body = serde_json::to_string(profile).map_err(WebError::internal)?;
    app.durable
        .put_document(
            PROFILE,
            &Document {
                id: profile_id(tenant, sub),
                owner: tenant.to_string(),
                body,
                secret: None,
            },
        )
        .await?;
    app.logins.ring_sessions(&user_key(tenant, sub)).await?;
    Ok(())
}

fn session_request(app: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<Asked, WebError> {
    let request: SessionRequest = json::object(body).map_err(|e| {
        WebError::new(
            ErrorCode::InvalidRequest,
            format!("The body must be JSON {{\"client_id\": \"...\", \"session_token\": \"...\"}} ({e})."),
        )
    })?;
    let client = parse_client(&request.client_id)?;
    check_origin(
        &app.registry.snapshot(),
        &client,
        cors::request_origin(headers),
    )?;
    Ok(Asked {
        client,
        token: request.session_token,
        resource: request.resource,
        keycloak_logout: request.keycloak_logout,
    })
}

/// The tenant and user of a live session token of `client`.
pub(super) async fn session_user(
    app: &AppState,
    client: &ClientId,
    token: &str,
) -> Result<(TenantId, String), WebError> {
    let session = open_session(app, client, token, false).await?;
    Ok((session.tenant, session.sub))
}

pub(super) fn with_cors(
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
async fn end_keycloak_sessions(
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
