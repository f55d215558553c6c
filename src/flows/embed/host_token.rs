//! Seed 000's way in: a host token (`#token=`) verified against the tenant's
//! keys, used once, and turned into the user it vouches for; and the host API
//! around it: `POST /api/v1/embed/tokens` mints one for hosts that do not sign
//! their own (the seed's TokenBuilder), `POST /api/v1/embed/debug` explains in
//! the sandbox why one is refused.

use axum::Json;
use axum::extract::State;
use chrono::TimeDelta;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::audit::Audit;
use super::host_api::{Admitted, session_end};
use super::vouched::{Claimed, HostUser};
use crate::app::AppState;
use crate::auth::host_token::{HOST_TOKEN_TYPE, HostTokenVerifier, MAX_LIFETIME, audience};
use crate::crypto;
use crate::domain::{Environment, HostUserId, TenantId};
use crate::http::code::ErrorCode;
use crate::http::error::WebError;
use crate::http::json::{JsonBody, shapes};
use crate::http::refused::Refused;
use crate::store::tenants::TenantStore as _;

/// How long a minted token lives: long enough to reach the browser, short
/// enough to be useless later.
const MINTED_LIFETIME: TimeDelta = TimeDelta::seconds(120);

/// The user a host token vouches for, once the one strict verifier passed it.
pub(crate) async fn from_host_token(
    app: &AppState,
    token: &str,
    audit: &Audit,
) -> Result<HostUser, Refused> {
    let verified = match app
        .host_token_verifier()
        .verify(token, app.clock.now())
        .await
    {
        Ok(Ok(token)) => token,
        Ok(Err(rejection)) => {
            let refused = audit.refuse(ErrorCode::InvalidToken, rejection.reason());
            return Err(if for_a_sandbox_tenant(app, token).await {
                refused.because(rejection.reason()).explained()
            } else {
                refused
            });
        }
        Err(err) => {
            audit.failed(err.to_string());
            return Err(WebError::from(err).into());
        }
    };
    audit.jti(&verified.jti);
    Ok(HostUser::vouched_by(verified))
}

/// Whether `token` is meant (its claims, unverified) for a sandbox tenant that
/// exists: only then does its refusal tell the browser why
/// (docs/src/embedded/host-tokens.md, "In the sandbox"). A token aimed at
/// production costs no store lookup here.
async fn for_a_sandbox_tenant(app: &AppState, token: &str) -> bool {
    let Some(claims) = crate::auth::jwt::unverified_claims(token) else {
        return false;
    };
    let aimed_at_sandbox = claims
        .get("aud")
        .and_then(Value::as_str)
        .is_some_and(|aud| aud.ends_with("/embed/sandbox"));
    let named = claims
        .get("tenant")
        .or_else(|| claims.get("iss"))
        .and_then(Value::as_str)
        .and_then(|id| TenantId::parse(id).ok());
    match (aimed_at_sandbox, named) {
        (true, Some(id)) => matches!(
            app.durable.tenant(&id).await,
            Ok(Some(tenant)) if tenant.environment == Environment::Sandbox
        ),
        _ => false,
    }
}

/// What the host asks a minted host token for.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MintRequest {
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

/// The token to explain.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DebugRequest {
    token: String,
}

shapes! {
    MintRequest => r#"{"sub": "host user id", "name", "email", "picture", "tenant", "session_secs"}"#,
    DebugRequest => r#"{"token": "..."}"#,
}

/// `POST /api/v1/embed/tokens`: a host token minted by the broker for the
/// host's user; append it to the embedded app's URL as `#token=...`.
pub async fn mint(
    State(app): State<AppState>,
    call: Admitted,
    JsonBody(request): JsonBody<MintRequest>,
) -> Result<Json<Value>, Refused> {
    let (tenant, acting) = call.tenant(&app, request.tenant.as_deref()).await?;
    let sub = HostUserId::parse(&request.sub).map_err(|e| Refused::field("sub", e))?;
    let claimed = Claimed::parse(request.name, request.email.as_deref(), request.picture)
        .map_err(|p| Refused::field(p.field(), p))?;
    let session_exp = session_end(&tenant, request.session_secs, app.clock.now())?;
    call.audit.subject(format!("{}/{sub}", tenant.id));
    let now = app.clock.now();
    let jti = crypto::random_token()?;
    let mut claims = Map::new();
    claims.insert(
        "aud".into(),
        audience(app.broker_keys.issuer(), tenant.environment).into(),
    );
    claims.insert("sub".into(), sub.as_str().into());
    claims.insert("tenant".into(), tenant.id.as_str().into());
    claims.insert("iat".into(), now.timestamp().into());
    claims.insert(
        "exp".into(),
        (now + MINTED_LIFETIME.min(MAX_LIFETIME)).timestamp().into(),
    );
    claims.insert("jti".into(), jti.clone().into());
    claims.insert("session_exp".into(), session_exp.timestamp().into());
    let email = claimed.email.as_ref().map(|e| e.as_str().to_owned());
    for (name, value) in [
        ("name", claimed.name),
        ("email", email),
        ("picture", claimed.picture),
    ] {
        if let Some(value) = value {
            claims.insert(name.into(), value.into());
        }
    }
    // What the host said, as it said it: `false` keeps its email from ever
    // counting (docs/src/embedded/host-tokens.md, "Who vouches for an email").
    if let Some(verified) = request.email_verified {
        claims.insert("email_verified".into(), verified.into());
    }
    if acting {
        claims.insert("act".into(), json!({"sub": call.key.tenant.as_str()}));
    }
    let token = app
        .broker_keys
        .sign(HOST_TOKEN_TYPE, claims)
        .map_err(WebError::internal)?;
    call.audit.issued(Some(jti), now + MINTED_LIFETIME);
    Ok(Json(json!({
        "token": token,
        "expires_in": MINTED_LIFETIME.num_seconds(),
        "fragment": format!("#token={token}"),
    })))
}

fn other_tenant() -> Value {
    json!({"valid": false, "reason": "other_tenant", "explanation": "the token is for a tenant this key does not belong to"})
}

/// `POST /api/v1/embed/debug {token}` (sandbox only): which check a token fails,
/// without using it up.
pub async fn debug(
    State(app): State<AppState>,
    call: Admitted,
    JsonBody(request): JsonBody<DebugRequest>,
) -> Result<Json<Value>, Refused> {
    let (tenant, _) = call.tenant(&app, None).await?;
    if tenant.environment != Environment::Sandbox {
        return Err(
            Refused::not_allowed("Tokens are explained in the sandbox only.")
                .because("not a sandbox tenant"),
        );
    }
    // Only the key's own tokens are explained: nothing is checked (so nothing
    // is learnt: genuine, forged or unknown) of a token that names another
    // tenant, a production one say.
    let named = crate::auth::jwt::parse(&request.token, HOST_TOKEN_TYPE)
        .ok()
        .and_then(|parsed| {
            parsed
                .claims
                .get("tenant")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
    if let Some(named) = named.filter(|named| named != tenant.id.as_str()) {
        let own_sub_tenant = match TenantId::parse(&named) {
            Ok(id) => app
                .durable
                .tenant(&id)
                .await?
                .is_some_and(|t| t.parent.as_ref() == Some(&tenant.id)),
            Err(_) => false,
        };
        if !own_sub_tenant {
            return Ok(Json(other_tenant()));
        }
    }
    // The same verifier, without using the token up.
    let verifier = HostTokenVerifier {
        dry_run: true,
        ..app.host_token_verifier()
    };
    let answer = match verifier.verify(&request.token, app.clock.now()).await? {
        Ok(token)
            if token.tenant.id != tenant.id && token.tenant.parent.as_ref() != Some(&tenant.id) =>
        {
            other_tenant()
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
    Ok(Json(answer))
}
