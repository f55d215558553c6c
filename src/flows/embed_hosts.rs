//! The host backend's API (`/api/v1/embed/...`, `Authorization: Bearer
//! <key_id>:<secret>`): mint a host token for hosts that do not sign their own
//! (the seed's TokenBuilder), end a user's sessions, update a user's profile, and
//! in the sandbox explain why a token is refused. An API key acts for its tenant,
//! and for a sub-tenant only when the key may and the sub-tenant grants it; the
//! audit row then names the parent acting.

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::TimeDelta;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::display_names::displayed;
use super::embed::{Profile, created_user, session_keys, store_profile};
use crate::app::AppState;
use crate::auth::host_token::{HOST_TOKEN_TYPE, HostTokenVerifier, MAX_LIFETIME, audience};
use crate::auth::{self, Outcome};
use crate::crypto;
use crate::domain::tenant::user_key;
use crate::domain::tenant::{DEFAULT_SESSION_SECS, MAX_SESSION_SECS};
use crate::domain::{ApiKey, EmailSource, Environment, Operation, Tenant, TenantId};
use crate::http::client_addr::ClientAddr;
use crate::http::code::ErrorCode;
use crate::http::error::{ApiError, WebError};
use crate::http::json;
use crate::http::limits::set_retry_after;
use crate::http::request_id::RequestId;
use crate::store::AuditEntry;
use crate::store::tenants::TenantStore;

/// How long a minted token lives: long enough to reach the browser, short
/// enough to be useless later.
const MINTED_LIFETIME: TimeDelta = TimeDelta::seconds(120);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MintRequest {
    #[serde(default)]
    tenant: Option<String>,
    sub: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<bool>,
    #[serde(default)]
    picture: Option<String>,
    #[serde(default)]
    session_secs: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LogoutRequest {
    #[serde(default)]
    sid: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfilePatch {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    picture: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DebugRequest {
    token: String,
}

/// A request of the host API being answered, with its audit row.
pub(super) struct HostCall {
    pub(super) audit: AuditEntry,
}

fn unauthenticated() -> Response {
    let mut response = ApiError(WebError::new(
        ErrorCode::InvalidApiKey,
        "Authenticate with `Authorization: Bearer <key_id>:<secret>`, an API key of the tenant.",
    ))
    .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"authproxy\""),
    );
    response
}

fn not_allowed(message: &str) -> Response {
    ApiError(WebError::new(
        ErrorCode::OperationNotAllowed,
        message.to_owned(),
    ))
    .into_response()
}

impl HostCall {
    pub(super) fn deny(&mut self, reason: impl Into<String>) {
        self.audit.reason = Some(reason.into());
    }

    /// Authenticates the API key, checks the operation and takes from its bucket.
    pub(super) async fn admit(
        &mut self,
        app: &AppState,
        headers: &HeaderMap,
        op: Operation,
    ) -> Result<ApiKey, Response> {
        let header = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let now = app.clock.now();
        let key = match auth::api_key::authenticate(app.durable.as_ref(), header, now).await {
            Ok(Outcome::Authenticated(key)) => key,
            Ok(Outcome::NotRequested) => {
                self.deny("no credentials");
                return Err(unauthenticated());
            }
            Ok(Outcome::Failed(reason)) => {
                self.deny(reason);
                return Err(unauthenticated());
            }
            Err(err) => return Err(ApiError(WebError::from(err)).into_response()),
        };
        self.audit.actor = format!("api_key:{}", key.id);
        if !key.operations.contains(&op) {
            self.deny("operation not allowed");
            return Err(not_allowed("This API key may not call this operation."));
        }
        if let Err(wait) = app
            .limiter
            .check(
                &format!("apikey:{}", key.id),
                key.rate_per_minute,
                key.rate_per_minute.clamp(1, 100),
                now,
            )
            .await
        {
            self.deny("rate limited");
            app.metrics.refused_by("api_key");
            let mut response = ApiError(WebError::new(
                ErrorCode::RateLimited,
                "Too many requests with this API key: wait and retry.",
            ))
            .into_response();
            set_retry_after(&mut response, wait);
            return Err(response);
        }
        // Last use, to the minute: not a write per request.
        if key
            .last_used_at
            .is_none_or(|at| now - at > TimeDelta::minutes(1))
        {
            let mut touched = key.clone();
            touched.last_used_at = Some(now);
            if let Err(err) = app.durable.put_api_key(&touched).await {
                tracing::warn!(error = %err, "could not record an API key's last use");
            }
        }
        Ok(key)
    }

    /// The tenant the key acts for: its own, or a sub-tenant that grants it.
    pub(super) async fn tenant(
        &mut self,
        app: &AppState,
        key: &ApiKey,
        wanted: Option<&str>,
    ) -> Result<(Tenant, bool), Response> {
        let id = match wanted {
            None => key.tenant.clone(),
            Some(raw) => TenantId::parse(raw).map_err(|e| {
                ApiError(WebError::new(ErrorCode::InvalidRequest, e.to_string())).into_response()
            })?,
        };
        let tenant = match app.durable.tenant(&id).await {
            Ok(Some(tenant)) => tenant,
            Ok(None) => {
                self.deny("unknown tenant");
                return Err(not_allowed("This API key may not act for this tenant."));
            }
            Err(err) => return Err(ApiError(WebError::from(err)).into_response()),
        };
        self.audit.subject = Some(tenant.id.to_string());
        if tenant.id == key.tenant {
            return Ok((tenant, false));
        }
        let granted = tenant.parent.as_ref() == Some(&key.tenant)
            && tenant.parent_may_act
            && key.for_subtenants;
        if !granted {
            self.deny(if tenant.parent.as_ref() == Some(&key.tenant) {
                "parent_not_granted"
            } else {
                "other_tenant"
            });
            return Err(not_allowed("This API key may not act for this tenant."));
        }
        self.audit.reason = Some(format!(
            "acting for sub-tenant {} as {}",
            tenant.id, key.tenant
        ));
        Ok((tenant, true))
    }
}

/// The host-API actions that change something. Once such a change took effect,
/// a failure to write its audit row is logged, never answered as a failure (the
/// host would retry a change that was made). Every other action hands something
/// out (a token, a URL that logs a user in, personal data), and nothing is handed
/// out unless its audit row is written.
const CHANGES: &[&str] = &[
    "embed.logout",
    "embed.update_user",
    "resource.put",
    "resource.acl",
    "registration.revoke",
];

/// Finishes a host-API call: writes its audit row, by the policy of [`CHANGES`].
pub(super) async fn audited(
    app: &AppState,
    mut call: HostCall,
    response: Result<Response, Response>,
) -> Response {
    let succeeded = response.is_ok();
    let mut response = match response {
        Ok(response) => {
            call.audit.outcome = "granted".into();
            response
        }
        Err(response) => response,
    };
    if let Err(err) = app.audit.append(&call.audit).await {
        if succeeded && CHANGES.contains(&call.audit.action.as_str()) {
            tracing::error!(
                error = %err,
                action = %call.audit.action,
                "the change took effect, but its audit row could not be written"
            );
        } else {
            tracing::error!(error = %err, action = %call.audit.action, "could not write the audit row: nothing handed out");
            response = ApiError(WebError::from(err)).into_response();
        }
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub(super) fn call(
    app: &AppState,
    action: &str,
    request_id: String,
    client: Option<Extension<ClientAddr>>,
) -> HostCall {
    HostCall {
        audit: AuditEntry {
            at: app.clock.now(),
            actor: "anonymous".into(),
            action: action.into(),
            outcome: "denied".into(),
            source: client.map(|Extension(ClientAddr(ip))| ip.to_string()),
            request_id: Some(request_id),
            ..AuditEntry::default()
        },
    }
}

pub(super) fn bad(message: impl Into<String>) -> Response {
    ApiError(WebError::new(ErrorCode::InvalidRequest, message)).into_response()
}

/// Whether `id` may be a host's user id: 1 to 255 characters, no control
/// characters, and not in the broker's own namespaces (`registration:`,
/// `ext:`).
pub(super) fn is_host_user_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 255
        && !id.chars().any(char::is_control)
        && !crate::domain::tenant::is_reserved_user_id(id)
}

/// What a host's user id must be, for the field `{}`.
pub(super) const USER_ID_RULE: &str = "{}: the host's user id, 1 to 255 characters, no control characters, not starting with registration: or ext:";

pub(super) fn profile_problem(
    name: Option<&str>,
    email: Option<&str>,
    picture: Option<&str>,
) -> Option<&'static str> {
    if name.is_some_and(|n| n.is_empty() || n.len() > 256 || n.chars().any(char::is_control)) {
        return Some("name: 1 to 256 characters, no control characters");
    }
    // One email rule for every way in: the registrations' (look-alikes refused).
    match email.map(crate::domain::RegistrationEmail::parse) {
        Some(Err(crate::domain::EmailProblem::LookAlike)) => {
            return Some(
                "email: holds look-alike characters (fullwidth or compatibility forms, invisible characters, or letters of several scripts in one word); write the address in its plain form",
            );
        }
        Some(Err(_)) => return Some("email: an email address"),
        _ => {}
    }
    let https = |p: &str| {
        p.len() <= 2048
            && url::Url::parse(p).is_ok_and(|u| u.scheme() == "https" && u.host_str().is_some())
    };
    if picture.is_some_and(|p| !https(p)) {
        return Some("picture: an https: URL of at most 2048 characters");
    }
    None
}

/// When a session asked for `requested` seconds (else the default, within the
/// tenant's maximum) ends, counted from `now`.
pub(super) fn session_end(
    tenant: &Tenant,
    requested: Option<u64>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<chrono::DateTime<chrono::Utc>, WebError> {
    let secs = requested.unwrap_or(DEFAULT_SESSION_SECS.min(tenant.max_session_secs));
    if !(60..=tenant.max_session_secs.min(MAX_SESSION_SECS)).contains(&secs) {
        return Err(WebError::new(
            ErrorCode::InvalidRequest,
            format!(
                "session_secs: between 60 and the tenant's maximum, {} s",
                tenant.max_session_secs
            ),
        ));
    }
    Ok(now + TimeDelta::seconds(i64::try_from(secs).unwrap_or(0)))
}

/// `POST /api/v1/embed/tokens`: a host token minted by the broker for the
/// host's user; append it to the embedded app's URL as `#token=...`.
pub async fn mint(
    State(app): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    client: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut call = call(&app, "embed.mint", request_id, client);
    let response = async {
        let key = call.admit(&app, &headers, Operation::MintTokens).await?;
        let request: MintRequest = json::object(&body).map_err(|e| {
            bad(format!("The body must be JSON {{\"sub\": \"host user id\", \"name\", \"email\", \"picture\", \"tenant\", \"session_secs\"}} ({e})."))
        })?;
        let (tenant, acting) = call.tenant(&app, &key, request.tenant.as_deref()).await?;
        if !is_host_user_id(&request.sub) {
            return Err(bad(USER_ID_RULE.replace("{}", "sub")));
        }
        if let Some(problem) = profile_problem(request.name.as_deref(), request.email.as_deref(), request.picture.as_deref()) {
            return Err(bad(problem));
        }
        let session_exp = session_end(&tenant, request.session_secs, app.clock.now())
            .map_err(|e| ApiError(e).into_response())?;
        call.audit.subject = Some(format!("{}/{}", tenant.id, request.sub));
        let now = app.clock.now();
        let jti = crypto::random_token().map_err(|e| ApiError(WebError::from(e)).into_response())?;
        let mut claims = Map::new();
        claims.insert("aud".into(), audience(app.broker_keys.issuer(), tenant.environment).into());
        claims.insert("sub".into(), request.sub.clone().into());
        claims.insert("tenant".into(), tenant.id.as_str().into());
        claims.insert("iat".into(), now.timestamp().into());
        claims.insert("exp".into(), (now + MINTED_LIFETIME.min(MAX_LIFETIME)).timestamp().into());
        claims.insert("jti".into(), jti.clone().into());
        claims.insert("session_exp".into(), session_exp.timestamp().into());
        for (name, value) in [("name", &request.name), ("email", &request.email), ("picture", &request.picture)] {
            if let Some(value) = value {
                claims.insert(name.into(), value.clone().into());
            }
        }
        // What the host said, as it said it: `false` keeps its email from ever
        // counting (docs/src/embedded/host-tokens.md, "Who vouches for an email").
        if let Some(verified) = request.email_verified {
            claims.insert("email_verified".into(), verified.into());
        }
        if acting {
            claims.insert("act".into(), json!({"sub": key.tenant.as_str()}));
        }
        let token = app
            .broker_keys
            .sign(HOST_TOKEN_TYPE, claims)
            .map_err(|e| ApiError(WebError::internal(e)).into_response())?;
        call.audit.token_jti = Some(jti);
        call.audit.token_expires_at = Some(now + MINTED_LIFETIME);
        Ok(Json(json!({
            "token": token,
            "expires_in": MINTED_LIFETIME.num_seconds(),
            "fragment": format!("#token={token}"),
        }))
        .into_response())
    }
    .await;
    audited(&app, call, response).await
}

/// `POST /api/v1/embed/users/{tenant}/{sub}/logout {sid?}`: ends the user's
/// sessions (or the one `sid`); open frames learn it within seconds.
pub async fn logout_user(
    State(app): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    client: Option<Extension<ClientAddr>>,
    Path((tenant, sub)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut call = call(&app, "embed.logout", request_id, client);
    let response = async {
        let key = call.admit(&app, &headers, Operation::Logout).await?;
        let request: LogoutRequest = if body.iter().all(u8::is_ascii_whitespace) {
            LogoutRequest { sid: None }
        } else {
            json::object(&body).map_err(|e| {
                bad(format!(
                    "The body must be empty or JSON {{\"sid\": \"...\"}} ({e})."
                ))
            })?
        };
        let (tenant, _) = call.tenant(&app, &key, Some(&tenant)).await?;
        call.audit.subject = Some(format!("{}/{sub}", tenant.id));
        let now = app.clock.now();
        let until = now + TimeDelta::seconds(i64::try_from(tenant.max_session_secs).unwrap_or(0));
        let user = user_key(&tenant.id, &sub);
        let mark = match &request.sid {
            Some(sid) => session_keys(&tenant.id, &sub, sid).session,
            None => user.clone(),
        };
        app.logins
            .end_sessions(&mark, &user, now, until)
            .await
            .map_err(|e| ApiError(WebError::from(e)).into_response())?;
        Ok(Json(json!({"ended": true})).into_response())
    }
    .await;
    audited(&app, call, response).await
}

/// `PATCH /api/v1/embed/users/{tenant}/{sub} {name?, email?, picture?}`: updates
/// the profile the embedded app sees (open frames renew to show it) and, for a
/// user authproxy created, the realm user's name.
pub async fn update_user(
    State(app): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    client: Option<Extension<ClientAddr>>,
    Path((tenant, sub)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut call = call(&app, "embed.update_user", request_id, client);
    let response = async {
        let key = call.admit(&app, &headers, Operation::UpdateUsers).await?;
        let patch: ProfilePatch = json::object(&body).map_err(|e| {
            bad(format!(
                "The body must be JSON {{\"name\", \"email\", \"picture\"}} ({e})."
            ))
        })?;
        if let Some(problem) = profile_problem(
            patch.name.as_deref(),
            patch.email.as_deref(),
            patch.picture.as_deref(),
        ) {
            return Err(bad(problem));
        }
        // The broker's own users (third-party platforms' and registrants') are
        // not the host's to rename or re-address.
        if !is_host_user_id(&sub) {
            return Err(bad(USER_ID_RULE.replace("{}", "sub")));
        }
        let (tenant, _) = call.tenant(&app, &key, Some(&tenant)).await?;
        call.audit.subject = Some(format!("{}/{sub}", tenant.id));
        let profile = Profile::vouched(
            &tenant,
            &sub,
            patch.name.clone(),
            patch.email.clone(),
            patch.picture.clone(),
            EmailSource::Host {
                says_verified: None,
            },
        );
        let profile = apply_profile(&app, &tenant, &sub, &profile)
            .await
            .map_err(|e| ApiError(e).into_response())?;
        Ok(
            Json(json!({"tenant": tenant.id.as_str(), "sub": sub, "user": profile}))
                .into_response(),
        )
    }
    .await;
    audited(&app, call, response).await
}

/// Makes `profile` the user's, its name under the tenant's uniqueness rule: open
/// frames see it at their next renewal, and a realm user the broker created
/// takes its name. The same profile again changes nothing (no write, no
/// wake-up, no call to the realm). Returns the profile as stored.
pub(super) async fn apply_profile(
    app: &AppState,
    tenant: &Tenant,
    sub: &str,
    profile: &Profile,
) -> Result<Profile, WebError> {
    let profile = &Profile {
        name: displayed(app, &tenant.id, sub, profile.name.as_deref()).await?,
        ..profile.clone()
    };
    let stored = super::embed::stored_profile(app, &tenant.id, sub).await?;
    if stored.is_some_and(|(_, current)| &current == profile) {
        return Ok(profile.clone());
    }
    store_profile(app, &tenant.id, sub, profile).await?;
    let registry = app.registry.snapshot();
    if let (Some(realm), Some(name)) = (registry.realms.get(&tenant.realm), &profile.name) {
        // Only a user the broker created, never one that merely has its name.
        if let Some(user) = created_user(app, realm, &tenant.id, sub).await? {
            app.keycloak_admin
                .update_user(realm, &user.id, &json!({"firstName": name}))
                .await?;
        }
    }
    Ok(profile.clone())
}

/// `POST /api/v1/embed/debug {token}` (sandbox only): which check a token fails,
/// without using it up.
pub async fn debug(
    State(app): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    client: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut call = call(&app, "embed.debug", request_id, client);
    let response = async {
        let key = call.admit(&app, &headers, Operation::Debug).await?;
        let (tenant, _) = call.tenant(&app, &key, None).await?;
        if tenant.environment != Environment::Sandbox {
            call.deny("not a sandbox tenant");
            return Err(not_allowed("Tokens are explained in the sandbox only."));
        }
        let request: DebugRequest =
            json::object(&body).map_err(|e| bad(format!("The body must be JSON {{\"token\": \"...\"}} ({e}).")))?;
        // Only the key's own tokens are explained: nothing is checked (so nothing
        // is learnt: genuine, forged or unknown) of a token that names another
        // tenant, a production one say.
        let named = crate::auth::jwt::parse(&request.token, crate::auth::host_token::HOST_TOKEN_TYPE)
            .ok()
            .and_then(|parsed| parsed.claims.get("tenant").and_then(Value::as_str).map(str::to_owned));
        if let Some(named) = named.filter(|named| named != tenant.id.as_str()) {
            let own_sub_tenant = match TenantId::parse(&named) {
                Ok(id) => app
                    .durable
                    .tenant(&id)
                    .await
                    .map_err(|e| ApiError(e.into()).into_response())?
                    .is_some_and(|t| t.parent.as_ref() == Some(&tenant.id)),
                Err(_) => false,
            };
            if !own_sub_tenant {
                return Ok(Json(json!({"valid": false, "reason": "other_tenant", "explanation": "the token is for a tenant this key does not belong to"})).into_response());
            }
        }
        // The same verifier, without using the token up.
        let verifier = HostTokenVerifier {
            dry_run: true,
            ..app.host_token_verifier()
        };
        let verdict = verifier
            .verify(&request.token, app.clock.now())
            .await
            .map_err(|e| ApiError(WebError::from(e)).into_response())?;
        let answer: Value = match verdict {
            Ok(token) if token.tenant.id != tenant.id && token.tenant.parent.as_ref() != Some(&tenant.id) => {
                json!({"valid": false, "reason": "other_tenant", "explanation": "the token is for a tenant this key does not belong to"})
            }
            Ok(token) => json!({
                "valid": true,
                "tenant": token.tenant.id.as_str(),
                "sub": token.sub,
                "note": "every check passed but the jti's single use, which only a redemption checks",
            }),
            Err(rejection) => json!({
                "valid": false,
                "reason": rejection.reason(),
                "explanation": rejection.explanation(),
            }),
        };
        Ok(Json(answer).into_response())
    }
    .await;
    audited(&app, call, response).await
}
