//! The standard handshake of a third-party login (seed 001), for any platform
//! the broker does not verify itself: the frame asks for a `code_a` bound to
//! the SHA-256 of a verifier it keeps (`POST /api/embed/sso/code`), the host's
//! backend trades it with its API key and the user for a `code_b` (`POST
//! /api/v1/sso/codes`), and the frame completes with `code_b` and the verifier
//! (`POST /api/embed/sso/complete`). Codes live 120 s and 60 s, work once, and
//! no personal data travels in a URL.

use axum::Json;
use axum::extract::State;
use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::audit::Audit;
use super::frame::{FrameResult, no_provider, tenant_of};
use super::host_api::{Admitted, session_end};
use super::session::start_session;
use super::tickets::{Taken, is_one_time_value, keep_sealed, take_sealed};
use super::tokens::SessionResponse;
use super::users::apply_profile;
use super::vouched::{Claimed, HostUser, Profile};
use crate::app::AppState;
use crate::crypto;
use crate::domain::{ClientId, EmailSource, HostUserId, ResourceRef, TenantId};
use crate::http::code::ErrorCode;
use crate::http::frame::{FrameCall, Framed, frame_requests};
use crate::http::json::{JsonBody, shapes};
use crate::http::refused::Refused;
use crate::store::tenants::TenantStore as _;

/// How long a `code_a` waits for the host's backend.
pub const CODE_A_LIFETIME: TimeDelta = TimeDelta::seconds(120);
/// How long a `code_b` waits for the frame.
pub const CODE_B_LIFETIME: TimeDelta = TimeDelta::seconds(60);

/// The frame asks for a `code_a`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    client_id: String,
    tenant: String,
    /// `BASE64URL(SHA-256(verifier))`, 43 characters.
    code_challenge: String,
}

/// The host backend's trade of a `code_a` for a `code_b`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeRequest {
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

/// The frame completes with `code_b` and its verifier.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompleteRequest {
    client_id: String,
    code_b: String,
    code_verifier: String,
    #[serde(default)]
    resource: Option<ResourceRef>,
}

frame_requests! {
    CodeRequest => r#"{"client_id", "tenant", "code_challenge"}"#,
    CompleteRequest => r#"{"client_id", "code_b", "code_verifier", "resource"?}"#,
}

shapes! {
    ExchangeRequest => r#"{"code_a", "user": {"primary_key", "user_name", "display_name", "email", "email_verified", "image_url"}}"#,
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

/// Whether `challenge` is an S256 challenge: 43 base64url characters.
fn is_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `POST /api/embed/sso/code {client_id, tenant, code_challenge}`: a `code_a`
/// for the host page to pass to its backend.
pub async fn code(
    State(app): State<AppState>,
    FrameCall { client, body }: FrameCall<CodeRequest>,
) -> FrameResult<Value> {
    if !is_challenge(&body.code_challenge) {
        return Err(Refused::field(
            "code_challenge",
            "BASE64URL(SHA-256(verifier)), 43 characters",
        ));
    }
    let tenant = tenant_of(&app, &body.tenant, &client).await?;
    let code = crypto::random_token()?;
    let until = app.clock.now() + CODE_A_LIFETIME;
    let bound = CodeA {
        tenant: tenant.id,
        client: client.clone(),
        challenge: body.code_challenge,
    };
    keep_sealed(&app, &code_a_key(&code), &bound, until).await?;
    let body = json!({"code_a": code, "expires_in": CODE_A_LIFETIME.num_seconds()});
    Ok(Framed(client, Json(body)))
}

fn invalid_code(reason: &'static str) -> Refused {
    Refused::new(
        ErrorCode::InvalidSsoCode,
        "code_a is unknown, used, expired or of another tenant: the frame asks for a new one.",
    )
    .because(reason)
}

/// `POST /api/v1/sso/codes {code_a, user}` (API key, `exchange_sso_codes`):
/// the host's backend vouches for its user; the answer is a `code_b` for the
/// frame.
pub async fn exchange(
    State(app): State<AppState>,
    call: Admitted,
    JsonBody(request): JsonBody<ExchangeRequest>,
) -> Result<Json<Value>, Refused> {
    let user = request.user;
    let sub = HostUserId::parse(&user.primary_key)
        .map_err(|e| Refused::field("user.primary_key", e).because("invalid primary_key"))?;
    let name = user.display_name.or(user.user_name);
    let claimed = Claimed::parse(name, user.email.as_deref(), user.image_url)
        .map_err(|p| Refused::field(&format!("user.{}", p.field()), p).because("invalid user"))?;
    if !is_one_time_value(&request.code_a) {
        return Err(invalid_code("malformed code_a"));
    }
    let bound: CodeA = match take_sealed(&app, &code_a_key(&request.code_a)).await? {
        Taken::Value(bound) => bound,
        Taken::Used => return Err(invalid_code("code_a used")),
        Taken::Expired => return Err(invalid_code("code_a expired")),
        Taken::Unknown => return Err(invalid_code("code_a unknown")),
    };
    let (tenant, acting) = call.tenant(&app, Some(bound.tenant.as_str())).await?;
    // The handshake's user is the host backend's word (docs/src/embedded/host-tokens.md, "Who vouches for an email").
    let source = EmailSource::Host {
        says_verified: user.email_verified,
    };
    let profile = Profile::vouched(&tenant, &sub, claimed, source);
    call.audit.subject(format!("{}/{sub}", tenant.id));
    let now = app.clock.now();
    // A parent's key acting for its sub-tenant is named as the actor.
    let acting = acting.then(|| call.key.tenant.clone());
    let host_user = HostUser::of(
        &tenant,
        acting,
        sub,
        profile,
        session_end(&tenant, None, now)?,
    );
    let code = crypto::random_token()?;
    let carried = CodeB {
        client: bound.client,
        challenge: bound.challenge,
        user: host_user,
    };
    keep_sealed(&app, &code_b_key(&code), &carried, now + CODE_B_LIFETIME).await?;
    Ok(Json(
        json!({"code_b": code, "expires_in": CODE_B_LIFETIME.num_seconds()}),
    ))
}

/// `POST /api/embed/sso/complete {client_id, code_b, code_verifier}`: the
/// frame that asked for the `code_a` (its client, its verifier) starts the
/// session.
pub async fn complete(
    State(app): State<AppState>,
    audit: Audit,
    FrameCall { client, body }: FrameCall<CompleteRequest>,
) -> FrameResult<SessionResponse> {
    let deny = |reason: &str| audit.refuse(ErrorCode::InvalidSsoCode, reason);
    if !is_one_time_value(&body.code_b) {
        return Err(deny("malformed code_b"));
    }
    // Taken first: a wrong verifier uses the code up, so it cannot be guessed at.
    let carried: CodeB = match take_sealed(&app, &code_b_key(&body.code_b)).await? {
        Taken::Value(carried) => carried,
        Taken::Used => return Err(deny("code_b used")),
        Taken::Expired => return Err(deny("code_b expired")),
        Taken::Unknown => return Err(deny("code_b unknown")),
    };
    if carried.client != client {
        return Err(deny("code_b of another client"));
    }
    let challenge = crypto::sha256_b64url(&body.code_verifier);
    if body.code_verifier.len() > 128 || !crypto::constant_time_eq(&challenge, &carried.challenge) {
        return Err(deny("wrong code_verifier"));
    }
    let mut user = carried.user;
    user.resource = body.resource;
    let tenant = app
        .durable
        .tenant(&user.tenant)
        .await?
        .ok_or_else(no_provider)?;
    apply_profile(&app, &tenant, user.sub.as_str(), &user.profile).await?;
    let session = start_session(
        &app,
        &client,
        &user,
        None,
        ErrorCode::InvalidSsoCode,
        &audit,
    )
    .await?;
    Ok(Framed(client, Json(session)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_challenge_is_an_s256_one() {
        assert!(is_challenge(&crypto::sha256_b64url("v")));
        assert!(!is_challenge("short"));
    }
}
