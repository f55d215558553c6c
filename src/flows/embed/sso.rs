//! Third-party SSO hand-off (seed 001): the host page's identity platform
//! (Auth0, Gigya, Piano, any OpenID provider) logs the embedded app in.
//!
//! - `POST /api/embed/sso/config {client_id, tenant}`: the host page's one
//!   origin and the provider names, for the frame (it takes messages from that
//!   origin only).
//! - `POST /api/embed/sso {client_id, tenant, provider, token}`: the platform's
//!   token, verified ([`crate::auth::third_party`]), for an embed session; the
//!   user is keyed by (tenant, provider, issuer, subject), never by email.
//! - `POST /api/embed/sso/update {client_id, session_token, token?}`: the
//!   profile again (a fresh token, or Piano's user API); open frames see it.
//! - The standard handshake, for any other platform: the frame asks for a
//!   `code_a` bound to the SHA-256 of a verifier it keeps (`POST
//!   /api/embed/sso/code`), the host's backend trades it with its API key and
//!   the user for a `code_b` (`POST /api/v1/sso/codes`), and the frame completes
//!   with `code_b` and the verifier (`POST /api/embed/sso/complete`). Codes live
//!   120 s and 60 s, work once, and no personal data travels in a URL.
//!
//! Display names are unique per tenant: a name another user holds gets a stable
//! suffix of this user's own (`Ada #3f2a`), never the other's identity.

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse as _, Response};
use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::audit::audit_entry;
use super::frame::with_cors;
use super::session::{session_user, start_session};
use super::tickets::{Taken, keep_sealed, take_sealed};
use super::vouched::{HostUser, Profile};
use crate::app::AppState;
use crate::auth::third_party::{ExternalIdentity, PlatformVerifier};
use crate::crypto;
use crate::domain::{
    ClientId, EmailSource, Operation, Provisioning, ResourceRef, SsoProvider, Tenant, TenantId,
};
use crate::flows::embed_hosts::{
    apply_profile, audited, bad, call, is_host_user_id, profile_problem, session_end,
};
use crate::http::client_addr::ClientAddr;
use crate::http::code::ErrorCode;
use crate::http::cors;
use crate::http::error::{ApiError, WebError, opaque_refusal};
use crate::http::frame::{frame_request, frame_requests};
use crate::http::json;
use crate::http::request_id::RequestId;
use crate::store::AuditEntry;
use crate::store::tenants::TenantStore as _;

/// How long a `code_a` waits for the host's backend.
pub const CODE_A_LIFETIME: TimeDelta = TimeDelta::seconds(120);
/// How long a `code_b` waits for the frame.
pub const CODE_B_LIFETIME: TimeDelta = TimeDelta::seconds(60);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigRequest {
    client_id: String,
    tenant: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartRequest {
    client_id: String,
    tenant: String,
    provider: String,
    token: String,
    #[serde(default)]
    resource: Option<ResourceRef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateRequest {
    client_id: String,
    session_token: String,
    #[serde(default)]
    token: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeRequest {
    client_id: String,
    tenant: String,
    /// `BASE64URL(SHA-256(verifier))`, 43 characters.
    code_challenge: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExchangeRequest {
    code_a: String,
    user: HandshakeUser,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HandshakeUser {
    primary_key: String,
    #[serde(default)]
    user_name: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    email_verified: Option<bool>,
    #[serde(default)]
    image_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CompleteRequest {
    client_id: String,
    code_b: String,
    code_verifier: String,
    #[serde(default)]
    resource: Option<ResourceRef>,
}

frame_requests! {
    ConfigRequest => r#"{"client_id", "tenant"}"#,
    StartRequest => r#"{"client_id", "tenant", "provider", "token", "resource"?}"#,
    UpdateRequest => r#"{"client_id", "session_token", "token"?}"#,
    CodeRequest => r#"{"client_id", "tenant", "code_challenge"}"#,
    CompleteRequest => r#"{"client_id", "code_b", "code_verifier", "resource"?}"#,
}

/// What a `code_a` is bound to.
#[derive(Serialize, Deserialize)]
struct CodeA {
    tenant: TenantId,
    client: ClientId,
    challenge: String,
}

/// What a `code_b` carries to the frame.
#[derive(Serialize, Deserialize)]
struct CodeB {
    client: ClientId,
    challenge: String,
    user: HostUser,
}

fn code_a_key(code: &str) -> String {
    format!("sso-code-a\0{code}")
}

fn code_b_key(code: &str) -> String {
    format!("sso-code-b\0{code}")
}

/// The embed user id of an external identity: the provider's name, a short
/// hash of its issuer and the platform's subject (never the email), so one
/// subject at two issuers is two users.
#[must_use]
pub fn external_user_id(provider: &str, issuer: &str, subject: &str) -> String {
    let hash = crypto::sha256(issuer);
    format!(
        "ext:{provider}:{}:{subject}",
        crypto::hex(hash.get(..4).unwrap_or_default())
    )
}

/// The provider of an external user id, when it is one.
fn provider_of(sub: &str) -> Option<&str> {
    sub.strip_prefix("ext:")?.split(':').next()
}

fn web(err: WebError) -> Response {
    ApiError(err).into_response()
}

fn unavailable(message: impl std::fmt::Display) -> WebError {
    WebError::new(
        ErrorCode::ProviderUnavailable,
        format!("The identity platform could not be used: {message}"),
    )
}

fn no_provider() -> WebError {
    WebError::new(
        ErrorCode::UnknownProvider,
        "The tenant has no identity provider of this name for this client.",
    )
}

/// The tenant named by a frame of `client`, when it uses the client.
async fn tenant_of(app: &AppState, raw: &str, client: &ClientId) -> Result<Tenant, WebError> {
    let id = TenantId::parse(raw)
        .map_err(|e| WebError::new(ErrorCode::InvalidRequest, e.to_string()))?;
    app.durable
        .tenant(&id)
        .await?
        .filter(|t| t.clients.contains(client))
        .ok_or_else(no_provider)
}

/// The profile a verified identity vouches for (its name is made unique where
/// it is stored and where the session starts).
fn profile_of(tenant: &Tenant, sub: &str, identity: &ExternalIdentity) -> Profile {
    Profile::vouched(
        tenant,
        sub,
        identity.name.clone(),
        identity.email.clone(),
        identity.picture.clone(),
        EmailSource::Platform {
            verified: identity.email_verified,
        },
    )
}

/// The provider's secrets, for a kind that needs them (`provider_not_configured`
/// while an administrator has not set them).
async fn secrets_of(
    app: &AppState,
    tenant: &Tenant,
    provider: &SsoProvider,
) -> Result<Option<crate::store::tenants::ProviderSecrets>, WebError> {
    if !provider.kind.needs_secrets() {
        return Ok(None);
    }
    match app
        .durable
        .provider_secrets(&tenant.id, provider.name.as_str())
        .await?
    {
        Some(secrets) => Ok(Some(secrets)),
        None => Err(WebError::new(
            ErrorCode::ProviderNotConfigured,
            "The provider's secrets are not set: an administrator sets them (PUT /admin/api/tenants/{id}/providers/{name}/secrets).",
        )),
    }
}

/// Verifies `token` of `provider`: the identity, or the response refusing it
/// (`invalid_token`, the reason audited).
async fn verified(
    app: &AppState,
    tenant: &Tenant,
    provider: &SsoProvider,
    token: &str,
    (request_id, audit): (&str, &mut AuditEntry),
) -> Result<ExternalIdentity, Response> {
    let secrets = secrets_of(app, tenant, provider).await.map_err(|e| {
        audit.reason = Some(format!("{}: {}", provider.name, e.code()));
        web(e)
    })?;
    let verifier = PlatformVerifier {
        keys: &app.host_jwks,
        environment: tenant.environment,
        secrets: secrets.as_ref(),
    };
    match verifier.verify(provider, token, app.clock.now()).await {
        Ok(Ok(identity)) => Ok(identity),
        Ok(Err(refusal)) => {
            audit.reason = Some(format!("{}: {}", provider.name, refusal.reason()));
            Err(opaque_refusal(ErrorCode::InvalidToken, request_id))
        }
        Err(err) => {
            audit.outcome = "failed".into();
            audit.reason = Some(format!("{}: {err}", provider.name));
            Err(web(unavailable(err)))
        }
    }
}

/// `POST /api/embed/sso/config {client_id, tenant}`.
pub async fn config(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let answer = async {
        // Asked by the embedded app's page only: a call without the browser's
        // `Origin` learns nothing of the tenant (a server can still claim an
        // origin, so nothing secret is here either).
        if cors::request_origin(&headers).is_none() {
            return Err(WebError::new(
                ErrorCode::OriginNotAllowed,
                "This call is made by the embedded app's page, with its Origin.",
            ));
        }
        let (request, client) = frame_request::<ConfigRequest>(&app.registry.snapshot(), &headers, &body)?;
        let tenant = tenant_of(&app, &request.tenant, &client).await?;
        let Some(host_origin) = &tenant.sso.host_origin else {
            return Err(no_provider());
        };
        let providers: Vec<_> = tenant
            .sso
            .providers
            .iter()
            .map(|p| json!({"name": p.name.as_str(), "kind": p.kind.as_str()}))
            .collect();
        let body = json!({"tenant": tenant.id.as_str(), "host_origin": host_origin.as_str(), "providers": providers});
        Ok((Json(body).into_response(), client))
    }
    .await;
    with_cors(&app, &headers, answer)
}

/// `POST /api/embed/sso {client_id, tenant, provider, token, resource?}`.
pub async fn start(
    State(app): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    client: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut audit = audit_entry(&app, "embed.sso", &request_id, client);
    let answer = start_inner(&app, &headers, &body, &request_id, &mut audit).await;
    finish(&app, &headers, &audit, answer, true).await
}

/// Writes the audit row and answers with CORS; a login (`counted`) is also
/// counted by outcome and code.
async fn finish(
    app: &AppState,
    headers: &HeaderMap,
    audit: &AuditEntry,
    answer: Result<(Response, ClientId), Response>,
    counted: bool,
) -> Response {
    if counted {
        let (outcome, code) = match &answer {
            Ok(_) => ("granted", ""),
            Err(response) => (
                "refused",
                response
                    .extensions()
                    .get::<ErrorCode>()
                    .map_or("", |c| c.as_str()),
            ),
        };
        crate::observe::metrics::Metrics::outcome(&app.metrics.sso_logins, outcome, code);
    }
    if let Err(err) = app.audit.append(audit).await {
        tracing::error!(error = %err, "could not write the audit row");
        return with_cors(app, headers, Err(WebError::from(err)));
    }
    match answer {
        Ok((response, client)) => with_cors(app, headers, Ok((response, client))),
        Err(response) => {
            let mut response = response;
            crate::http::frame::finish_response(
                &app.registry.snapshot(),
                &mut response,
                cors::request_origin(headers),
                None,
            );
            response
        }
    }
}

async fn start_inner(
    app: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    request_id: &str,
    audit: &mut AuditEntry,
) -> Result<(Response, ClientId), Response> {
    let (request, client) = frame_request::<StartRequest>(&app.registry.snapshot(), headers, body)
        .map_err(|e| {
            audit.reason = Some("invalid request".into());
            web(e)
        })?;
    let tenant = tenant_of(app, &request.tenant, &client)
        .await
        .map_err(|e| {
            audit.reason = Some("unknown tenant, or not of this client".into());
            web(e)
        })?;
    let Some(provider) = tenant.sso.provider(&request.provider) else {
        audit.reason = Some(format!("unknown provider {:?}", request.provider));
        return Err(web(no_provider()));
    };
    let identity = verified(app, &tenant, provider, &request.token, (request_id, audit)).await?;
    // An existing user is found by email: only one the platform verified.
    if tenant.provisioning == Provisioning::ExistingOnly && !identity.email_verified {
        audit.reason = Some(format!(
            "{}: existing_only needs a verified email",
            provider.name
        ));
        return Err(web(WebError::new(
            ErrorCode::UnknownUser,
            "This tenant logs in existing users only, found by an email the platform verified: the token has none.",
        )));
    }
    let sub = external_user_id(provider.name.as_str(), &identity.issuer, &identity.subject);
    let profile = apply_profile(app, &tenant, &sub, &profile_of(&tenant, &sub, &identity))
        .await
        .map_err(web)?;
    let session_exp = session_end(&tenant, None, app.clock.now()).map_err(web)?;
    let user = HostUser::of(&tenant, None, sub, profile, session_exp)
        .for_resource(request.resource, false);
    let response = start_session(
        app,
        &client,
        &user,
        None,
        (ErrorCode::InvalidToken, request_id),
        audit,
    )
    .await?;
    Ok((response, client))
}

/// `POST /api/embed/sso/update {client_id, session_token, token?}`: the
/// session's profile again, from a fresh token of the same user (or, for
/// Piano, its user API); open frames see it at once.
pub async fn update(
    State(app): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    client: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut audit = audit_entry(&app, "embed.sso_update", &request_id, client);
    let answer = update_inner(&app, &headers, &body, &request_id, &mut audit).await;
    finish(&app, &headers, &audit, answer, false).await
}

async fn update_inner(
    app: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    request_id: &str,
    audit: &mut AuditEntry,
) -> Result<(Response, ClientId), Response> {
    let (request, client) =
        frame_request::<UpdateRequest>(&app.registry.snapshot(), headers, body).map_err(web)?;
    let (tenant_id, sub) = session_user(app, &client, &request.session_token)
        .await
        .map_err(web)?;
    audit.actor = format!("tenant:{tenant_id}");
    audit.subject = Some(format!("{tenant_id}/{sub}"));
    let tenant = app
        .durable
        .tenant(&tenant_id)
        .await
        .map_err(|e| web(e.into()))?
        .ok_or_else(|| web(no_provider()))?;
    let provider = provider_of(&sub)
        .and_then(|name| tenant.sso.provider(name))
        .ok_or_else(|| {
            audit.reason = Some("not a session of a tenant's provider".into());
            web(no_provider())
        })?;
    let identity = match &request.token {
        Some(token) => verified(app, &tenant, provider, token, (request_id, audit)).await?,
        None => piano_again(app, &tenant, provider, &sub, (request_id, audit)).await?,
    };
    if external_user_id(provider.name.as_str(), &identity.issuer, &identity.subject) != sub {
        audit.reason = Some(format!("{}: another_user", provider.name));
        return Err(opaque_refusal(ErrorCode::InvalidToken, request_id));
    }
    let profile = apply_profile(app, &tenant, &sub, &profile_of(&tenant, &sub, &identity))
        .await
        .map_err(web)?;
    audit.outcome = "granted".into();
    Ok((
        Json(json!({"sub": sub, "user": profile})).into_response(),
        client,
    ))
}

/// The user's profile read again from Piano's user API (the providers whose
/// profile lives in their token need a fresh token).
async fn piano_again(
    app: &AppState,
    tenant: &Tenant,
    provider: &SsoProvider,
    sub: &str,
    (request_id, audit): (&str, &mut AuditEntry),
) -> Result<ExternalIdentity, Response> {
    if !provider.kind.needs_secrets() {
        return Err(web(WebError::new(
            ErrorCode::MissingParameter,
            "This provider's profile is in its token: send a fresh `token`.",
        )));
    }
    let subject = sub.splitn(4, ':').nth(3).unwrap_or_default().to_owned();
    let secrets = secrets_of(app, tenant, provider).await.map_err(web)?;
    let verifier = PlatformVerifier {
        keys: &app.host_jwks,
        environment: tenant.environment,
        secrets: secrets.as_ref(),
    };
    let mut identity = ExternalIdentity {
        issuer: crate::auth::third_party::namespace(&provider.kind),
        subject,
        name: None,
        email: None,
        email_verified: false,
        picture: None,
        exp: app.clock.now(),
    };
    match verifier.piano_profile(provider, &mut identity).await {
        Ok(()) => Ok(identity),
        Err(crate::auth::third_party::Checked::Refused(refusal)) => {
            audit.reason = Some(format!("{}: {}", provider.name, refusal.reason()));
            Err(opaque_refusal(ErrorCode::InvalidToken, request_id))
        }
        Err(crate::auth::third_party::Checked::Failed(err)) => {
            audit.outcome = "failed".into();
            Err(web(unavailable(err)))
        }
    }
}

/// Whether `challenge` is an S256 challenge: 43 base64url characters.
fn is_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `POST /api/embed/sso/code {client_id, tenant, code_challenge}`: a `code_a`
/// for the host page to pass to its backend.
pub async fn code(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let answer = async {
        let (request, client) =
            frame_request::<CodeRequest>(&app.registry.snapshot(), &headers, &body)?;
        if !is_challenge(&request.code_challenge) {
            return Err(WebError::new(
                ErrorCode::InvalidRequest,
                "code_challenge: BASE64URL(SHA-256(verifier)), 43 characters",
            ));
        }
        let tenant = tenant_of(&app, &request.tenant, &client).await?;
        let code = crypto::random_token()?;
        let until = app.clock.now() + CODE_A_LIFETIME;
        let bound = CodeA {
            tenant: tenant.id,
            client: client.clone(),
            challenge: request.code_challenge,
        };
        keep_sealed(&app, &code_a_key(&code), &bound, until).await?;
        let body = json!({"code_a": code, "expires_in": CODE_A_LIFETIME.num_seconds()});
        Ok((Json(body).into_response(), client))
    }
    .await;
    with_cors(&app, &headers, answer)
}

fn invalid_code(call: &mut crate::flows::embed_hosts::HostCall, reason: &str) -> Response {
    call.deny(reason);
    web(WebError::new(
        ErrorCode::InvalidSsoCode,
        "code_a is unknown, used, expired or of another tenant: the frame asks for a new one.",
    ))
}

/// `POST /api/v1/sso/codes {code_a, user}` (API key, `exchange_sso_codes`):
/// the host's backend vouches for its user; the answer is a `code_b` for the
/// frame.
pub async fn exchange(
    State(app): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    client: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut call = call(&app, "sso.exchange", request_id, client);
    let response = async {
        let key = call.admit(&app, &headers, Operation::ExchangeSsoCodes).await?;
        let request: ExchangeRequest = json::object(&body).map_err(|e| {
            bad(format!("The body must be JSON {{\"code_a\", \"user\": {{\"primary_key\", \"user_name\", \"display_name\", \"email\", \"email_verified\", \"image_url\"}}}} ({e})."))
        })?;
        let user = &request.user;
        if !is_host_user_id(&user.primary_key) {
            call.deny("invalid primary_key");
            return Err(bad(crate::flows::embed_hosts::USER_ID_RULE.replace("{}", "user.primary_key")));
        }
        let name = user.display_name.as_deref().or(user.user_name.as_deref());
        if let Some(problem) =
            profile_problem(name, user.email.as_deref(), user.image_url.as_deref())
        {
            call.deny("invalid user");
            return Err(bad(format!("user.{problem}")));
        }
        if !super::tickets::is_one_time_value(&request.code_a) {
            return Err(invalid_code(&mut call, "malformed code_a"));
        }
        let bound: CodeA = match take_sealed(&app, &code_a_key(&request.code_a))
            .await
            .map_err(web)?
        {
            Taken::Value(bound) => bound,
            Taken::Used => return Err(invalid_code(&mut call, "code_a used")),
            Taken::Expired => return Err(invalid_code(&mut call, "code_a expired")),
            Taken::Unknown => return Err(invalid_code(&mut call, "code_a unknown")),
        };
        let (tenant, acting) = call.tenant(&app, &key, Some(bound.tenant.as_str())).await?;
        let sub = user.primary_key.clone();
        let name = name.map(str::to_owned);
        // The handshake's user is the host backend's word (docs/src/embedded/host-tokens.md, "Who vouches for an email").
        let profile = Profile::vouched(
            &tenant,
            &sub,
            name,
            user.email.clone(),
            user.image_url.clone(),
            EmailSource::Host {
                says_verified: user.email_verified,
            },
        );
        call.audit.subject = Some(format!("{}/{sub}", tenant.id));
        let now = app.clock.now();
        // A parent's key acting for its sub-tenant is named as the actor.
        let host_user = HostUser::of(
            &tenant,
            acting.then(|| key.tenant.clone()),
            sub,
            profile,
            session_end(&tenant, None, now).map_err(web)?,
        );
        let code = crypto::random_token().map_err(|e| web(e.into()))?;
        let carried = CodeB {
            client: bound.client,
            challenge: bound.challenge,
            user: host_user,
        };
        keep_sealed(&app, &code_b_key(&code), &carried, now + CODE_B_LIFETIME)
            .await
            .map_err(web)?;
        Ok(Json(json!({"code_b": code, "expires_in": CODE_B_LIFETIME.num_seconds()})).into_response())
    }
    .await;
    audited(&app, call, response).await
}

/// `POST /api/embed/sso/complete {client_id, code_b, code_verifier}`: the
/// frame that asked for the `code_a` (its client, its verifier) starts the
/// session.
pub async fn complete(
    State(app): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    client: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut audit = audit_entry(&app, "embed.sso_complete", &request_id, client);
    let answer = complete_inner(&app, &headers, &body, &request_id, &mut audit).await;
    finish(&app, &headers, &audit, answer, true).await
}

async fn complete_inner(
    app: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    request_id: &str,
    audit: &mut AuditEntry,
) -> Result<(Response, ClientId), Response> {
    let (request, client) =
        frame_request::<CompleteRequest>(&app.registry.snapshot(), headers, body).map_err(|e| {
            audit.reason = Some("invalid request".into());
            web(e)
        })?;
    let mut deny = |reason: &str| {
        audit.reason = Some(reason.to_owned());
        opaque_refusal(ErrorCode::InvalidSsoCode, request_id)
    };
    if !super::tickets::is_one_time_value(&request.code_b) {
        return Err(deny("malformed code_b"));
    }
    // Taken first: a wrong verifier uses the code up, so it cannot be guessed at.
    let carried: CodeB = match take_sealed(app, &code_b_key(&request.code_b))
        .await
        .map_err(web)?
    {
        Taken::Value(carried) => carried,
        Taken::Used => return Err(deny("code_b used")),
        Taken::Expired => return Err(deny("code_b expired")),
        Taken::Unknown => return Err(deny("code_b unknown")),
    };
    if carried.client != client {
        return Err(deny("code_b of another client"));
    }
    let challenge = crypto::sha256_b64url(&request.code_verifier);
    if request.code_verifier.len() > 128
        || !crypto::constant_time_eq(&challenge, &carried.challenge)
    {
        return Err(deny("wrong code_verifier"));
    }
    let mut user = carried.user;
    user.resource = request.resource;
    let tenant = app
        .durable
        .tenant(&user.tenant)
        .await
        .map_err(|e| web(e.into()))?
        .ok_or_else(|| web(no_provider()))?;
    apply_profile(app, &tenant, &user.sub, &user.profile)
        .await
        .map_err(web)?;
    let response = start_session(
        app,
        &client,
        &user,
        None,
        (ErrorCode::InvalidSsoCode, request_id),
        audit,
    )
    .await?;
    Ok((response, client))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_ids_name_the_provider_and_the_issuer_but_never_the_email() {
        let a = external_user_id("auth0", "https://a.auth0.com/", "auth0|1");
        let b = external_user_id("auth0", "https://b.auth0.com/", "auth0|1");
        assert_ne!(a, b, "one subject at two issuers is two users");
        assert!(a.starts_with("ext:auth0:") && a.ends_with(":auth0|1"));
        assert_eq!(provider_of(&a), Some("auth0"));
        assert_eq!(provider_of("ada"), None);
        assert!(is_challenge(&crypto::sha256_b64url("v")));
        assert!(!is_challenge("short"));
    }
}
