//! `POST /api/impersonation {user, audience?}`: a backend caller obtains a token
//! to act as a user. Order: authenticate the caller (Basic), rate-limit it, resolve
//! the user through the directory, apply the caller's deny-by-default policy, then
//! the realm's user through Admin REST (Keycloak's exchange takes a username or an
//! id, never an email), Keycloak's legacy token exchange as the broker's service
//! account, and a check of the issued token against the request (subject, acting
//! party, audience, lifetime) before it is handed out. Every request leaves an
//! audit row, granted or not; the token itself is never stored or logged, only its
//! `jti` and expiry.

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chrono::DateTime;
use serde::{Deserialize, Serialize};

use super::{LoginTarget, resolve};
use crate::app::AppState;
use crate::auth::{self, Outcome};
use crate::domain::{Denial, Username};
use crate::http::client_addr::ClientAddr;
use crate::http::code::ErrorCode;
use crate::http::error::{ApiError, WebError};
use crate::http::json;
use crate::http::limits::retry_after;
use crate::http::refused::Refused;
use crate::http::request_id::RequestId;
use crate::idp::issued::{Expected, check_issued, claims_of};
use crate::idp::{RealmUser, UserLookup};
use crate::store::{AuditEntry, AuditOutcome, StoredCaller};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImpersonationRequest {
    user: String,
    #[serde(default)]
    audience: Option<String>,
}

#[derive(Serialize)]
struct ImpersonationResponse {
    access_token: String,
    expires_in: u64,
    token_type: String,
    issued_token_type: String,
}

/// The audit row being built for this request.
struct Audit {
    entry: AuditEntry,
}

impl Audit {
    fn deny(&mut self, outcome: AuditOutcome, reason: impl Into<String>) {
        self.entry.outcome = outcome;
        self.entry.reason = Some(reason.into());
    }
}

/// `POST /api/impersonation`: a token for a user, under the caller's policy.
pub async fn impersonate(
    State(app): State<AppState>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut audit = Audit {
        entry: AuditEntry {
            at: app.clock.now(),
            actor: "anonymous".into(),
            action: "impersonate".into(),
            outcome: AuditOutcome::Denied,
            source: Some(client.to_string()),
            request_id: Some(request_id.clone()),
            ..AuditEntry::default()
        },
    };
    let mut response = match handle(&app, &headers, &body, &mut audit).await {
        Ok(response) => response,
        Err(err) => err.into_response(),
    };
    if let Err(err) = app.audit.append(&audit.entry).await {
        // An impersonation that cannot be audited is not handed out.
        tracing::error!(error = %err, "could not write the audit row");
        response = ApiError(WebError::from(err)).into_response();
    }
    let granted = audit.entry.outcome == AuditOutcome::Granted && response.status().is_success();
    let code = response
        .extensions()
        .get::<ErrorCode>()
        .map_or("", |c| c.as_str());
    if code == ErrorCode::RateLimited.as_str() {
        app.metrics.refused_by("caller");
    }
    crate::observe::metrics::Metrics::outcome(
        &app.metrics.impersonations,
        if granted { "granted" } else { "denied" },
        code,
    );
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

fn unauthenticated() -> Refused {
    Refused::new(
        ErrorCode::InvalidClient,
        "Authenticate with HTTP Basic: the caller ID and secret given when the caller was created.",
    )
    .with_header(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"authproxy\", charset=\"UTF-8\""),
    )
}

/// Authenticates the caller and takes a token from its bucket (401 or 429
/// otherwise).
async fn admit(
    app: &AppState,
    headers: &HeaderMap,
    audit: &mut Audit,
) -> Result<StoredCaller, Refused> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let (outcome, claimed) = auth::caller::authenticate(app.access.as_ref(), authorization).await?;
    if let Some(claimed) = claimed {
        audit.entry.actor = format!("caller:{claimed}");
    }
    let caller = match outcome {
        Outcome::Authenticated(caller) => caller,
        Outcome::NotRequested => {
            audit.deny(AuditOutcome::Denied, "no credentials");
            return Err(unauthenticated());
        }
        Outcome::Failed(reason) => {
            audit.deny(AuditOutcome::Denied, reason);
            return Err(unauthenticated());
        }
    };
    let policy = &caller.policy;
    if let Err(wait) = app
        .limiter
        .check(
            caller.id.as_str(),
            policy.rate_per_minute,
            policy.burst,
            app.clock.now(),
        )
        .await
    {
        audit.deny(AuditOutcome::Denied, "rate limited");
        return Err(Refused::new(
            ErrorCode::RateLimited,
            "Too many impersonation requests from this caller: wait and retry.",
        )
        .with_header(header::RETRY_AFTER, retry_after(wait)));
    }
    Ok(caller)
}

async fn handle(
    app: &AppState,
    headers: &HeaderMap,
    body: &[u8],
    audit: &mut Audit,
) -> Result<Response, Refused> {
    let caller = admit(app, headers, audit).await?;
    let policy = &caller.policy;
    let request: ImpersonationRequest = json::object(body).map_err(|e| {
        audit.deny(AuditOutcome::Denied, "invalid request");
        let why = match e {
            json::JsonBodyError::NotAnObject => {
                "the body is not a JSON object (a form or a list is not taken; send Content-Type: application/json)".to_owned()
            }
            json::JsonBodyError::Invalid(problem) => problem,
        };
        WebError::new(
            ErrorCode::InvalidRequest,
            format!("The body must be JSON {{\"user\": \"name@domain\", \"audience\": \"optional\"}}: {why}."),
        )
    })?;
    audit.entry.audience.clone_from(&request.audience);
    let user = Username::parse(&request.user).map_err(|e| {
        audit.deny(AuditOutcome::Denied, "invalid user");
        WebError::new(ErrorCode::InvalidUser, e.to_string())
    })?;
    audit.entry.subject = Some(user.as_str().to_owned());
    let registry = app.registry.snapshot();
    let realm = match resolve(app, &registry, &user).await {
        Ok(LoginTarget::Sso { realm, .. }) => realm,
        Ok(LoginTarget::NotMigrated) => {
            audit.deny(AuditOutcome::Denied, "user not enabled for SSO");
            return Err(WebError::new(
                ErrorCode::SsoNotEnabled,
                "This user is not enabled for single sign-on.",
            )
            .into());
        }
        Err(err) => {
            audit.deny(AuditOutcome::Denied, err.code());
            return Err(err.into());
        }
    };
    audit.entry.realm = Some(realm.name.to_string());
    if let Err(denial) = policy.allows(&user, &realm.name, request.audience.as_deref()) {
        audit.deny(AuditOutcome::Denied, denial.to_string());
        return Err(WebError::new(ErrorCode::PolicyDenied, denial.to_string()).into());
    }

    let realm_user = realm_user(app, realm, &user, audit).await?;

    let token = app
        .idp
        .impersonate(realm, &realm_user.id, request.audience.as_deref())
        .await
        .map_err(|err| {
            audit.deny(AuditOutcome::Failed, err.to_string());
            WebError::from(err)
        })?;
    let expected = Expected {
        subject: &realm_user.id,
        // `impersonate` succeeded, so the realm has a broker client.
        broker_client: realm
            .broker_client
            .as_ref()
            .map_or("", |b| b.client_id.as_str()),
        audience: request.audience.as_deref(),
    };
    if let Err(problem) = check_issued(&token, &expected, app.clock.now()) {
        audit.deny(
            AuditOutcome::Failed,
            format!("issued token refused: {problem}"),
        );
        return Err(WebError::new(
            ErrorCode::RealmTokenMismatch,
            "The realm issued a token that does not match the request; it was not handed out.",
        )
        .into());
    }
    if let Err(denial @ Denial::Lifetime { .. }) = policy.allows_lifetime(token.expires_in) {
        audit.deny(AuditOutcome::Denied, denial.to_string());
        return Err(WebError::new(ErrorCode::LifetimeExceedsPolicy, denial.to_string()).into());
    }
    let (jti, exp) = jti_and_expiry(&token.access_token);
    audit.entry.outcome = AuditOutcome::Granted;
    audit.entry.token_jti = jti;
    audit.entry.token_expires_at = exp;
    Ok(Json(ImpersonationResponse {
        access_token: token.access_token,
        expires_in: token.expires_in,
        token_type: token.token_type,
        issued_token_type: token.issued_token_type,
    })
    .into_response())
}

/// The realm's user for the directory name, through Admin REST; refusals audited.
async fn realm_user(
    app: &AppState,
    realm: &crate::domain::Realm,
    user: &Username,
    audit: &mut Audit,
) -> Result<RealmUser, Refused> {
    match app.keycloak_admin.find_user(realm, user.as_str()).await {
        Ok(UserLookup::Found(found)) => Ok(found),
        Ok(UserLookup::NotFound) => {
            audit.deny(AuditOutcome::Denied, "the realm has no such user");
            Err(WebError::new(
                ErrorCode::UnknownUser,
                "The realm has no user with this email address or username.",
            )
            .into())
        }
        Ok(UserLookup::Ambiguous) => {
            audit.deny(
                AuditOutcome::Denied,
                "several realm users have this email address",
            );
            Err(WebError::new(ErrorCode::AmbiguousUser,
                "Several users of the realm have this email address: the broker will not guess which one.",
            )
            .into())
        }
        Err(err) => {
            audit.deny(AuditOutcome::Failed, format!("user lookup: {err}"));
            Err(WebError::from(err).into())
        }
    }
}

/// The `jti` and `exp` of a JWT, for the audit trail (read, not verified: the
/// realm just issued it to us).
fn jti_and_expiry(jwt: &str) -> (Option<String>, Option<DateTime<chrono::Utc>>) {
    let Some(claims) = claims_of(jwt) else {
        return (None, None);
    };
    (
        claims
            .get("jti")
            .and_then(|v| v.as_str())
            .map(str::to_owned),
        claims
            .get("exp")
            .and_then(serde_json::Value::as_i64)
            .and_then(|e| DateTime::from_timestamp(e, 0)),
    )
}
