//! `/auth/uri` (seed 003's URI auth, without its leaks): `POST` takes the
//! vendor's field names (`account`, `givenName`, `familyName`, `email`, `uid`,
//! `eventid`), signed by the tenant (an HMAC with an HS256 key of the tenant,
//! or a host token), each nonce once and within 120 s, and lands the user like
//! a followed link ([`super::landing`]); a `GET` carrying personal data is
//! refused (`pii_in_url`).

use std::collections::HashMap;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use secrecy::ExposeSecret as _;

use super::audit::Audit;
use super::host_api::session_end;
use super::landing::{Landing, form_fields, full_name, land, target_url};
use super::vouched::{Claimed, HostUser, Profile};
use crate::app::AppState;
use crate::crypto;
use crate::domain::{EmailSource, HostUserId, KeyAlgorithm, KeyId, Tenant, TenantId, VerifyingKey};
use crate::http::client_addr::ClientAddr;
use crate::http::code::ErrorCode;
use crate::http::error::{PageError, WebError};
use crate::http::page::error_page;
use crate::http::request_id::RequestId;
use crate::store::tenants::TenantStore as _;

/// How far a signed `/auth/uri` request's time may lie from the broker's.
const SIGNED_WINDOW: TimeDelta = TimeDelta::seconds(120);
/// The fields of `/auth/uri` that carry personal data.
const PERSONAL_FIELDS: [&str; 4] = ["givenName", "familyName", "email", "uid"];
/// The fields an `/auth/uri` HMAC covers, in this order.
const SIGNED_FIELDS: [&str; 8] = [
    "account",
    "givenName",
    "familyName",
    "email",
    "uid",
    "eventid",
    "ts",
    "nonce",
];

/// `GET /auth/uri`: personal data never travels in a URL.
pub async fn uri_get(RawQuery(query): RawQuery) -> Response {
    let carries_personal_data = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .any(|(name, _)| PERSONAL_FIELDS.contains(&name.as_ref()));
    if carries_personal_data {
        return error_page(
            ErrorCode::PiiInUrl,
            "Personal data (name, email, user id) must not be sent in a URL: POST the signed fields instead.",
            None,
        );
    }
    let mut response = error_page(
        ErrorCode::MethodNotAllowed,
        "POST the signed fields to this address.",
        None,
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    response
}

/// The page a refused form gets: its code and what to do.
fn refused(code: ErrorCode, message: &str) -> PageError {
    PageError(WebError::new(code, message))
}

fn unsigned(message: &str) -> PageError {
    refused(ErrorCode::InvalidSignature, message)
}

/// `POST /auth/uri` (the vendor's fields `account`, `givenName`, `familyName`,
/// `email`, `uid`, `eventid`, signed): logs the user in like a followed link.
pub async fn uri_post(
    State(app): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    client: Option<Extension<ClientAddr>>,
    body: Bytes,
) -> Response {
    let address = client.map(|Extension(address)| address);
    let audit = Audit::open(&app, "link.uri", &request_id, address.as_ref());
    let response = match uri_inner(&app, &body, &audit).await {
        Ok(response) => {
            audit.granted();
            response
        }
        Err(refusal) => refusal.into_response(),
    };
    audit.write_page(&app, response).await
}

async fn uri_inner(app: &AppState, body: &[u8], audit: &Audit) -> Result<Response, PageError> {
    let fields = form_fields(body)?;
    let field = |name: &str| fields.get(name).map(String::as_str);
    let account = field("account").unwrap_or_default();
    let tenant_id = TenantId::parse(account).map_err(|_| {
        audit.reason("account");
        refused(ErrorCode::InvalidRequest, "account: the tenant id.")
    })?;
    let Some(tenant) = app.durable.tenant(&tenant_id).await? else {
        audit.reason("unknown tenant");
        return Err(unsigned(
            "The request is not signed by a key of this account.",
        ));
    };
    audit.actor(format!("tenant:{}", tenant.id));
    let now = app.clock.now();
    let user = if let Some(token) = field("jwt") {
        from_signed_token(app, &tenant, token, &fields, now, audit).await?
    } else {
        from_hmac(app, &tenant, &fields, now, audit).await?
    };
    let (target, resource) = match field("eventid").filter(|e| !e.is_empty()) {
        Some(event) => target_url(app, &tenant, Some(event), None).await,
        None => match &tenant.embeds.app_url {
            Some(url) => Ok((url.clone(), None)),
            None => Err(crate::http::refused::Refused::invalid(
                "The account has no embeds.app_url: send an eventid.",
            )),
        },
    }
    .map_err(|e| {
        if e.code() == ErrorCode::StoreUnavailable {
            return e.into();
        }
        audit.reason("invalid target");
        refused(
            ErrorCode::InvalidTarget,
            "eventid: not a resource of this account (and the account has no app URL).",
        )
    })?;
    let specific = user.resource_specific;
    let user = user.for_resource(resource, specific);
    audit.subject(format!("{}/{}", user.tenant, user.sub));
    Ok(land(app, user, &target, Landing::Cookie).await)
}

/// The user of a form signed with an HMAC-SHA-256 by an HS256 key of the tenant.
async fn from_hmac(
    app: &AppState,
    tenant: &Tenant,
    fields: &HashMap<String, String>,
    now: DateTime<Utc>,
    audit: &Audit,
) -> Result<HostUser, PageError> {
    let field = |name: &str| fields.get(name).map_or("", String::as_str);
    let refuse = |reason: &str| {
        audit.reason(reason.to_owned());
        unsigned("The request's signature does not verify (key, signature, time or nonce).")
    };
    let key = match KeyId::parse(field("kid")) {
        Ok(kid) => app.durable.host_key(&tenant.id, &kid).await?,
        Err(_) => None,
    };
    // The tenant's switch is read at use, as the host-token verifier does: an
    // HS256 key left over from before `allow_hs256` was turned off signs nothing.
    if !tenant.allow_hs256 {
        return Err(refuse("the tenant does not allow HS256"));
    }
    let Some(key) = key.filter(|k| k.revoked_at.is_none() && k.alg == KeyAlgorithm::Hs256) else {
        return Err(refuse("no live HS256 key of this kid"));
    };
    let VerifyingKey::Shared(secret) = &key.key else {
        return Err(refuse("no live HS256 key of this kid"));
    };
    let mut input = String::from("authproxy-uri-v1\n");
    for name in SIGNED_FIELDS {
        input.push_str(name);
        input.push('=');
        input.push_str(field(name));
        input.push('\n');
    }
    let tag = URL_SAFE_NO_PAD.decode(field("sig")).unwrap_or_default();
    if !crypto::jws::verify_hs256(secret.expose_secret(), input.as_bytes(), &tag) {
        return Err(refuse("bad_signature"));
    }
    let Some(at) = field("ts")
        .parse::<i64>()
        .ok()
        .and_then(|t| DateTime::from_timestamp(t, 0))
    else {
        return Err(refuse("ts"));
    };
    if at > now + TimeDelta::seconds(60) || now - at > SIGNED_WINDOW {
        return Err(refuse("stale"));
    }
    let nonce = field("nonce");
    let nonce_ok = (16..=128).contains(&nonce.len())
        && nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !nonce_ok {
        return Err(refuse("nonce"));
    }
    let mark = format!("uri-nonce\0{}\0{nonce}", tenant.id);
    let fresh = app
        .logins
        .use_state(&mark, at + SIGNED_WINDOW + TimeDelta::seconds(60))
        .await?;
    if !fresh {
        return Err(refuse("replayed_nonce"));
    }
    let invalid = |reason: &str, message: String| {
        audit.reason(reason);
        refused(ErrorCode::InvalidRequest, &message)
    };
    let uid = HostUserId::parse(field("uid")).map_err(|e| invalid("uid", format!("uid: {e}")))?;
    let name =
        Some(full_name(field("givenName"), Some(field("familyName")))).filter(|n| !n.is_empty());
    let email = Some(field("email")).filter(|e| !e.is_empty());
    let claimed = Claimed::parse(name, email, None)
        .map_err(|p| invalid("profile", format!("{}: {p}", p.field())))?;
    let source = EmailSource::Host {
        says_verified: None,
    };
    let profile = Profile::vouched(tenant, &uid, claimed, source);
    let session_exp = session_end(tenant, None, now)
        .map_err(|e| refused(e.code(), "The tenant's session length is out of range."))?;
    Ok(HostUser::of(tenant, None, uid, profile, session_exp))
}

/// The user of a form carrying a host token of the tenant (the one strict
/// verifier; its `jti` is the nonce), living at most 120 s.
async fn from_signed_token(
    app: &AppState,
    tenant: &Tenant,
    token: &str,
    fields: &HashMap<String, String>,
    now: DateTime<Utc>,
    audit: &Audit,
) -> Result<HostUser, PageError> {
    if PERSONAL_FIELDS.iter().any(|f| fields.contains_key(*f)) {
        audit.reason("fields beside the token");
        return Err(refused(
            ErrorCode::InvalidRequest,
            "With `jwt`, the user comes from the token: send no givenName, familyName, email or uid.",
        ));
    }
    let verified = match app.host_token_verifier().verify(token, now).await {
        Ok(Ok(verified)) => verified,
        Ok(Err(rejection)) => {
            audit.reason(rejection.reason());
            return Err(unsigned("The token does not verify."));
        }
        Err(err) => return Err(err.into()),
    };
    if verified.tenant.id != tenant.id || verified.exp > now + SIGNED_WINDOW {
        audit.reason("token of another account, or living over 120 s");
        return Err(unsigned(
            "The token does not verify for this account (or lives over 120 s).",
        ));
    }
    Ok(HostUser::vouched_by(verified))
}
