//! The host backend's API (`Authorization: Bearer <key_id>:<secret>`), as one
//! layer the route table puts on each URL with the API-key operation it needs
//! and its audit action ([`HostRoute`]): the key is authenticated, checked
//! and rate-limited, the audit row opened, the handler run with an
//! [`Admitted`] call, and the row closed under the action's [`AuditPolicy`]. An
//! API key acts for its tenant, and for a sub-tenant only when the key may and
//! the sub-tenant grants it; the audit row then names the parent acting.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, TimeDelta, Utc};

use super::audit::{Audit, AuditPolicy};
use crate::app::AppState;
use crate::auth::{self, Outcome};
use crate::domain::tenant::{DEFAULT_SESSION_SECS, MAX_SESSION_SECS};
use crate::domain::{ApiKey, Operation, Tenant, TenantId};
use crate::http::code::ErrorCode;
use crate::http::error::WebError;
use crate::http::limits::retry_after;
use crate::http::refused::Refused;
use crate::store::tenants::TenantStore as _;

/// What a host-API URL needs and records: set in the route table.
#[derive(Debug, Clone, Copy)]
pub struct HostRoute {
    op: Operation,
    action: &'static str,
    policy: AuditPolicy,
}

/// A URL that hands something out (a token, a URL that logs a user in,
/// personal data): not audited, not handed out.
#[must_use]
pub fn hands_out(op: Operation, action: &'static str) -> HostRoute {
    HostRoute {
        op,
        action,
        policy: AuditPolicy::HandsOut,
    }
}

/// A URL that changes something: a change that took effect is never answered
/// as failed.
#[must_use]
pub fn changes(op: Operation, action: &'static str) -> HostRoute {
    HostRoute {
        op,
        action,
        policy: AuditPolicy::Changes,
    }
}

/// A host-API call past its key's checks: the key and the audit row.
#[derive(Clone)]
pub struct Admitted {
    /// The API key.
    pub key: ApiKey,
    /// The call's audit row.
    pub audit: Audit,
}

/// The layer of every host-API URL.
pub async fn admit(
    State((app, route)): State<(AppState, HostRoute)>,
    mut request: Request,
    next: Next,
) -> Response {
    let audit = Audit::of_request(&app, route.action, &request);
    let response = match authenticate(&app, request.headers(), route.op, &audit).await {
        Ok(key) => {
            request.extensions_mut().insert(Admitted {
                key,
                audit: audit.clone(),
            });
            next.run(request).await
        }
        Err(refused) => refused.into_response(),
    };
    audit.close(&app, response, route.policy).await
}

impl<S: Send + Sync> FromRequestParts<S> for Admitted {
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Refused> {
        parts.extensions.get::<Self>().cloned().ok_or_else(|| {
            WebError::internal("a host-API handler's route has no admit layer").into()
        })
    }
}

fn unauthenticated(reason: &str) -> Refused {
    Refused::new(
        ErrorCode::InvalidApiKey,
        "Authenticate with `Authorization: Bearer <key_id>:<secret>`, an API key of the tenant.",
    )
    .because(reason.to_owned())
    .with_header(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"authproxy\""),
    )
}

/// Authenticates the API key, checks the operation and takes from its bucket.
async fn authenticate(
    app: &AppState,
    headers: &HeaderMap,
    op: Operation,
    audit: &Audit,
) -> Result<ApiKey, Refused> {
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let now = app.clock.now();
    let key = match auth::api_key::authenticate(app.durable.as_ref(), header, now).await? {
        Outcome::Authenticated(key) => key,
        Outcome::NotRequested => return Err(unauthenticated("no credentials")),
        Outcome::Failed(reason) => return Err(unauthenticated(reason)),
    };
    audit.actor(format!("api_key:{}", key.id));
    if !key.operations.contains(&op) {
        return Err(
            Refused::not_allowed("This API key may not call this operation.")
                .because("operation not allowed"),
        );
    }
    let burst = key.rate_per_minute.clamp(1, 100);
    let bucket = format!("apikey:{}", key.id);
    if let Err(wait) = app
        .limiter
        .check(&bucket, key.rate_per_minute, burst, now)
        .await
    {
        app.metrics.refused_by("api_key");
        return Err(Refused::new(
            ErrorCode::RateLimited,
            "Too many requests with this API key: wait and retry.",
        )
        .because("rate limited")
        .with_header(header::RETRY_AFTER, retry_after(wait)));
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

impl Admitted {
    /// The tenant the key acts for (its own, or a sub-tenant that grants it),
    /// and whether the key's tenant acts for a sub-tenant.
    pub async fn tenant(
        &self,
        app: &AppState,
        wanted: Option<&str>,
    ) -> Result<(Tenant, bool), Refused> {
        let id = match wanted {
            None => self.key.tenant.clone(),
            Some(raw) => TenantId::parse(raw).map_err(|e| Refused::invalid(e.to_string()))?,
        };
        let refused = || Refused::not_allowed("This API key may not act for this tenant.");
        let Some(tenant) = app.durable.tenant(&id).await? else {
            return Err(refused().because("unknown tenant"));
        };
        self.audit.subject(tenant.id.to_string());
        if tenant.id == self.key.tenant {
            return Ok((tenant, false));
        }
        let child = tenant.parent.as_ref() == Some(&self.key.tenant);
        if !(child && tenant.parent_may_act && self.key.for_subtenants) {
            return Err(refused().because(if child {
                "parent_not_granted"
            } else {
                "other_tenant"
            }));
        }
        self.audit.reason(format!(
            "acting for sub-tenant {} as {}",
            tenant.id, self.key.tenant
        ));
        Ok((tenant, true))
    }
}

/// When a session asked for `requested` seconds (else the default, within the
/// tenant's maximum) ends, counted from `now`.
pub fn session_end(
    tenant: &Tenant,
    requested: Option<u64>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, Refused> {
    let secs = requested.unwrap_or(DEFAULT_SESSION_SECS.min(tenant.max_session_secs));
    if !(60..=tenant.max_session_secs.min(MAX_SESSION_SECS)).contains(&secs) {
        return Err(Refused::invalid(format!(
            "session_secs: between 60 and the tenant's maximum, {} s",
            tenant.max_session_secs
        )));
    }
    Ok(now + TimeDelta::seconds(i64::try_from(secs).unwrap_or(0)))
}
