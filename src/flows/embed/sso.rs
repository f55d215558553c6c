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
//!
//! Any other platform goes through the standard handshake ([`super::handshake`]).
//! Display names are unique per tenant: a name another user holds gets a stable
//! suffix of this user's own (`Ada #3f2a`), never the other's identity.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Value, json};

use super::audit::Audit;
use super::frame::{FrameResult, no_provider, tenant_of};
use super::host_api::session_end;
use super::session::{session_user, start_session};
use super::tokens::SessionResponse;
use super::users::apply_profile;
use super::vouched::{Claimed, HostUser, Profile};
use crate::app::AppState;
use crate::auth::third_party::{Checked, ExternalIdentity, PlatformVerifier, namespace};
use crate::crypto;
use crate::domain::{
    Email, EmailSource, HostUserId, Provisioning, ResourceRef, SsoProvider, Tenant,
};
use crate::http::code::ErrorCode;
use crate::http::cors;
use crate::http::frame::{FrameCall, Framed, frame_requests};
use crate::http::refused::Refused;
use crate::store::tenants::{ProviderSecrets, TenantStore as _};

/// The frame asks for the tenant's host origin and providers.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigRequest {
    client_id: String,
    tenant: String,
}

/// A platform's token for a session.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    client_id: String,
    tenant: String,
    provider: String,
    token: String,
    #[serde(default)]
    resource: Option<ResourceRef>,
}

/// The profile again, for a live session.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateRequest {
    client_id: String,
    session_token: String,
    #[serde(default)]
    token: Option<String>,
}

frame_requests! {
    ConfigRequest => r#"{"client_id", "tenant"}"#,
    StartRequest => r#"{"client_id", "tenant", "provider", "token", "resource"?}"#,
    UpdateRequest => r#"{"client_id", "session_token", "token"?}"#,
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

fn unavailable(message: impl std::fmt::Display) -> Refused {
    Refused::new(
        ErrorCode::ProviderUnavailable,
        format!("The identity platform could not be used: {message}"),
    )
}

/// The profile a verified identity vouches for (its name is made unique where
/// it is stored and where the session starts). A platform's email that breaks
/// the one email rule is not kept.
fn profile_of(tenant: &Tenant, sub: &HostUserId, identity: &ExternalIdentity) -> Profile {
    let claimed = Claimed {
        name: identity.name.clone(),
        email: identity.email.as_deref().and_then(|e| Email::parse(e).ok()),
        picture: identity.picture.clone(),
    };
    let source = EmailSource::Platform {
        verified: identity.email_verified,
    };
    Profile::vouched(tenant, sub, claimed, source)
}

/// The provider's secrets, for a kind that needs them (`provider_not_configured`
/// while an administrator has not set them).
async fn secrets_of(
    app: &AppState,
    tenant: &Tenant,
    provider: &SsoProvider,
) -> Result<Option<ProviderSecrets>, Refused> {
    if !provider.kind.needs_secrets() {
        return Ok(None);
    }
    match app
        .durable
        .provider_secrets(&tenant.id, provider.name.as_str())
        .await?
    {
        Some(secrets) => Ok(Some(secrets)),
        None => Err(Refused::new(
            ErrorCode::ProviderNotConfigured,
            "The provider's secrets are not set: an administrator sets them (PUT /admin/api/tenants/{id}/providers/{name}/secrets).",
        )),
    }
}

/// Verifies `token` of `provider`: the identity, or the opaque refusal
/// (`invalid_token`, the reason audited).
async fn verified(
    app: &AppState,
    tenant: &Tenant,
    provider: &SsoProvider,
    token: &str,
    audit: &Audit,
) -> Result<ExternalIdentity, Refused> {
    let secrets = secrets_of(app, tenant, provider).await.map_err(|e| {
        let reason = format!("{}: {}", provider.name, e.code().as_str());
        e.because(reason)
    })?;
    let verifier = PlatformVerifier {
        keys: &app.host_jwks,
        environment: tenant.environment,
        secrets: secrets.as_ref(),
    };
    match verifier.verify(provider, token, app.clock.now()).await {
        Ok(Ok(identity)) => Ok(identity),
        Ok(Err(refusal)) => {
            let reason = format!("{}: {}", provider.name, refusal.reason());
            Err(audit.refuse(ErrorCode::InvalidToken, reason))
        }
        Err(err) => {
            audit.failed(format!("{}: {err}", provider.name));
            Err(unavailable(err))
        }
    }
}

/// `POST /api/embed/sso/config {client_id, tenant}`.
pub async fn config(
    State(app): State<AppState>,
    headers: HeaderMap,
    FrameCall { client, body }: FrameCall<ConfigRequest>,
) -> FrameResult<Value> {
    // Asked by the embedded app's page only: a call without the browser's
    // `Origin` learns nothing of the tenant (a server can still claim an
    // origin, so nothing secret is here either).
    if cors::request_origin(&headers).is_none() {
        return Err(Refused::new(
            ErrorCode::OriginNotAllowed,
            "This call is made by the embedded app's page, with its Origin.",
        ));
    }
    let tenant = tenant_of(&app, &body.tenant, &client).await?;
    let Some(host_origin) = &tenant.sso.host_origin else {
        return Err(no_provider().into());
    };
    let providers: Vec<_> = tenant
        .sso
        .providers
        .iter()
        .map(|p| json!({"name": p.name.as_str(), "kind": p.kind.as_str()}))
        .collect();
    let body = json!({"tenant": tenant.id.as_str(), "host_origin": host_origin.as_str(), "providers": providers});
    Ok(Framed(client, Json(body)))
}

/// `POST /api/embed/sso {client_id, tenant, provider, token, resource?}`.
pub async fn start(
    State(app): State<AppState>,
    audit: Audit,
    FrameCall { client, body }: FrameCall<StartRequest>,
) -> FrameResult<SessionResponse> {
    let tenant = tenant_of(&app, &body.tenant, &client)
        .await
        .map_err(|e| e.because("unknown tenant, or not of this client"))?;
    let Some(provider) = tenant.sso.provider(&body.provider) else {
        return Err(
            Refused::from(no_provider()).because(format!("unknown provider {:?}", body.provider))
        );
    };
    let identity = verified(&app, &tenant, provider, &body.token, &audit).await?;
    // An existing user is found by email: only one the platform verified.
    if tenant.provisioning == Provisioning::ExistingOnly && !identity.email_verified {
        return Err(Refused::new(
            ErrorCode::UnknownUser,
            "This tenant logs in existing users only, found by an email the platform verified: the token has none.",
        )
        .because(format!("{}: existing_only needs a verified email", provider.name)));
    }
    let sub = HostUserId::broker_made(external_user_id(
        provider.name.as_str(),
        &identity.issuer,
        &identity.subject,
    ));
    let profile = profile_of(&tenant, &sub, &identity);
    let profile = apply_profile(&app, &tenant, sub.as_str(), &profile).await?;
    let session_exp = session_end(&tenant, None, app.clock.now())?;
    let user =
        HostUser::of(&tenant, None, sub, profile, session_exp).for_resource(body.resource, false);
    let session =
        start_session(&app, &client, &user, None, ErrorCode::InvalidToken, &audit).await?;
    Ok(Framed(client, Json(session)))
}

/// `POST /api/embed/sso/update {client_id, session_token, token?}`: the
/// session's profile again, from a fresh token of the same user (or, for
/// Piano, its user API); open frames see it at once.
pub async fn update(
    State(app): State<AppState>,
    audit: Audit,
    FrameCall { client, body }: FrameCall<UpdateRequest>,
) -> FrameResult<Value> {
    let (tenant_id, sub) = session_user(&app, &client, &body.session_token).await?;
    audit.actor(format!("tenant:{tenant_id}"));
    audit.subject(format!("{tenant_id}/{sub}"));
    let tenant = app
        .durable
        .tenant(&tenant_id)
        .await?
        .ok_or_else(no_provider)?;
    let Some(provider) = provider_of(&sub).and_then(|name| tenant.sso.provider(name)) else {
        return Err(Refused::from(no_provider()).because("not a session of a tenant's provider"));
    };
    let identity = match &body.token {
        Some(token) => verified(&app, &tenant, provider, token, &audit).await?,
        None => piano_again(&app, &tenant, provider, &sub, &audit).await?,
    };
    if external_user_id(provider.name.as_str(), &identity.issuer, &identity.subject) != sub {
        return Err(audit.refuse(
            ErrorCode::InvalidToken,
            format!("{}: another_user", provider.name),
        ));
    }
    let id = HostUserId::broker_made(sub);
    let profile = apply_profile(
        &app,
        &tenant,
        id.as_str(),
        &profile_of(&tenant, &id, &identity),
    )
    .await?;
    Ok(Framed(client, Json(json!({"sub": id, "user": profile}))))
}

/// The user's profile read again from Piano's user API (the providers whose
/// profile lives in their token need a fresh token).
async fn piano_again(
    app: &AppState,
    tenant: &Tenant,
    provider: &SsoProvider,
    sub: &str,
    audit: &Audit,
) -> Result<ExternalIdentity, Refused> {
    if !provider.kind.needs_secrets() {
        return Err(Refused::new(
            ErrorCode::MissingParameter,
            "This provider's profile is in its token: send a fresh `token`.",
        ));
    }
    let subject = sub.splitn(4, ':').nth(3).unwrap_or_default().to_owned();
    let secrets = secrets_of(app, tenant, provider).await?;
    let verifier = PlatformVerifier {
        keys: &app.host_jwks,
        environment: tenant.environment,
        secrets: secrets.as_ref(),
    };
    let mut identity = ExternalIdentity {
        issuer: namespace(&provider.kind),
        subject,
        name: None,
        email: None,
        email_verified: false,
        picture: None,
        exp: app.clock.now(),
    };
    match verifier.piano_profile(provider, &mut identity).await {
        Ok(()) => Ok(identity),
        Err(Checked::Refused(refusal)) => {
            let reason = format!("{}: {}", provider.name, refusal.reason());
            Err(audit.refuse(ErrorCode::InvalidToken, reason))
        }
        Err(Checked::Failed(err)) => {
            audit.failed(format!("{}: {err}", provider.name));
            Err(unavailable(err))
        }
    }
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
    }
}
