//! One-time login links (URI auth, seed 003), without the vendor's leaks: the
//! host backend (API key) asks for a link for its signed-in user
//! (`POST /api/v1/links`) and gets `<broker>/l/<opaque>`, with no personal data
//! in it (the user is sealed server-side under the link's hash). Following it,
//! `GET /l/<opaque>` serves a no-store, no-referrer page that posts the link
//! (link scanners that only GET do not use it up) and `POST /l` takes it once,
//! sets the `__Host-` session cookie and answers `303` to the registered target,
//! so no page is left in the history. A link whose target is a third-party
//! iframe lands with a one-time ticket instead (`landing: "ticket"`).
//!
//! `POST /auth/uri` takes the vendor's field names, signed by the tenant (an
//! HMAC with an HS256 key of the tenant, or a host token), each nonce once and
//! within 120 s; a `GET` carrying personal data is refused (`pii_in_url`).

use std::collections::HashMap;

use askama::Template;
use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use secrecy::ExposeSecret as _;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::audit::audit_entry;
use super::session::start_session;
use super::slots::session_keys;
use super::tickets::{self, Taken};
use super::vouched::{HostUser, Profile};
use crate::app::AppState;
use crate::crypto;
use crate::domain::{
    EmailSource, KeyAlgorithm, KeyId, LinkPath, Operation, ResourceId, ResourceRef, Tenant,
    TenantId, VerifyingKey,
};
use crate::flows::embed_hosts::{
    audited, bad, call, is_host_user_id, profile_problem, session_end,
};
use crate::http::client_addr::ClientAddr;
use crate::http::code::ErrorCode;
use crate::http::cookie::SessionCookie;
use crate::http::cors;
use crate::http::error::{ApiError, PageError, WebError};
use crate::http::frame::{check_origin, parse_client};
use crate::http::json;
use crate::http::page::{self, error_page};
use crate::http::request_id::RequestId;
use crate::store::AuditEntry;
use crate::store::resources::ResourceStore as _;
use crate::store::tenants::TenantStore as _;

/// A link's default life.
const DEFAULT_TTL_SECS: u64 = 120;
/// A link's longest life.
const MAX_TTL_SECS: u64 = 300;
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

/// How a followed link lands on its target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Landing {
    /// A first-party session cookie (the app on the broker's site).
    #[default]
    Cookie,
    /// A one-time ticket in the target's fragment (a third-party iframe).
    Ticket,
}

/// What a link holds, sealed under its hash.
#[derive(Serialize, Deserialize)]
struct LinkRecord {
    user: HostUser,
    target: String,
    landing: Landing,
}

/// The session in the cookie.
#[derive(Serialize, Deserialize)]
struct CookieSession {
    user: HostUser,
    sid: String,
    started: DateTime<Utc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkUser {
    uid: String,
    given_name: String,
    #[serde(default)]
    family_name: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkTarget {
    #[serde(default)]
    resource: Option<String>,
    #[serde(default)]
    path: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkRequest {
    #[serde(default)]
    tenant: Option<String>,
    user: LinkUser,
    target: LinkTarget,
    #[serde(default)]
    ttl_s: Option<u64>,
    #[serde(default)]
    landing: Landing,
    #[serde(default)]
    session_secs: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkSessionRequest {
    client_id: String,
}

#[derive(Template)]
#[template(path = "link.html")]
struct LinkView<'a> {
    nonce: &'a str,
    action: &'a str,
    link: &'a str,
}

fn store_key(link: &str) -> String {
    format!("link\0{link}")
}

fn not_a_link() -> Response {
    error_page(
        ErrorCode::LinkNotFound,
        "This login link is not valid: check that it was copied whole.",
        None,
    )
}

fn invalid_target(message: &str) -> Response {
    ApiError(WebError::new(ErrorCode::InvalidTarget, message.to_owned())).into_response()
}

/// The URL a link (or `/auth/uri`) lands on: a registered resource's page, or a
/// registered path on the origin of the tenant's app.
async fn target_url(
    app: &AppState,
    tenant: &Tenant,
    resource: Option<&str>,
    path: Option<&str>,
) -> Result<(String, Option<ResourceRef>), Response> {
    match (resource, path) {
        (Some(id), None) => {
            let id = ResourceId::parse(id)
                .map_err(|e| invalid_target(&format!("target.resource: {e}")))?;
            let found = app
                .durable
                .resource(&tenant.id, &id)
                .await
                .map_err(|e| ApiError(e.into()).into_response())?
                .ok_or_else(|| {
                    invalid_target("target.resource: the tenant has no resource of this id")
                })?;
            Ok((found.url.clone(), Some(found.reference())))
        }
        (None, Some(raw)) => {
            let path =
                LinkPath::parse(raw).map_err(|e| invalid_target(&format!("target.path: {e}")))?;
            let registered = tenant.embeds.link_paths.contains(&path);
            let base = tenant
                .embeds
                .app_url
                .as_deref()
                .and_then(|u| url::Url::parse(u).ok());
            let (true, Some(base)) = (registered, base) else {
                return Err(invalid_target(
                    "target.path: not one of the tenant's embeds.link_paths",
                ));
            };
            Ok((
                format!("{}{}", base.origin().ascii_serialization(), path.as_str()),
                None,
            ))
        }
        _ => Err(invalid_target(
            "target: exactly one of {\"resource\": id} and {\"path\": \"/registered/path\"}",
        )),
    }
}

/// `POST /api/v1/links {tenant?, user: {uid, given_name, family_name?, email?},
/// target: {resource} | {path}, ttl_s?, landing?, session_secs?}`: `201 {url,
/// expires_at}`.
pub async fn create(
    State(app): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    client: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut call = call(&app, "link.create", request_id, client);
    let response = async {
        let key = call.admit(&app, &headers, Operation::CreateLinks).await?;
        let request: LinkRequest = json::object(&body).map_err(|e| {
            bad(format!("The body must be JSON {{\"user\": {{\"uid\", \"given_name\", \"family_name\", \"email\"}}, \"target\": {{\"resource\"}} or {{\"path\"}}, \"ttl_s\", \"landing\", \"tenant\"}} ({e})."))
        })?;
        let (tenant, acting) = call.tenant(&app, &key, request.tenant.as_deref()).await?;
        let user = request.user;
        if !is_host_user_id(&user.uid) {
            return Err(bad(crate::flows::embed_hosts::USER_ID_RULE.replace("{}", "user.uid")));
        }
        let name = full_name(&user.given_name, user.family_name.as_deref());
        if let Some(problem) = profile_problem(Some(&name), user.email.as_deref(), None) {
            return Err(bad(format!("user.{problem}")));
        }
        let ttl = request.ttl_s.unwrap_or(DEFAULT_TTL_SECS);
        if !(1..=MAX_TTL_SECS).contains(&ttl) {
            return Err(bad(format!("ttl_s: 1 to {MAX_TTL_SECS} seconds")));
        }
        let (target, resource) = target_url(
            &app,
            &tenant,
            request.target.resource.as_deref(),
            request.target.path.as_deref(),
        )
        .await?;
        let now = app.clock.now();
        let record = LinkRecord {
            user: HostUser::of(
                &tenant,
                acting.then(|| key.tenant.clone()),
                user.uid.clone(),
                Profile::vouched(
                    &tenant,
                    &user.uid,
                    Some(name),
                    user.email,
                    None,
                    EmailSource::Host {
                        says_verified: None,
                    },
                ),
                session_end(&tenant, request.session_secs, now)
                    .map_err(|e| ApiError(e).into_response())?,
            )
            .for_resource(resource, false),
            target,
            landing: request.landing,
        };
        call.audit.subject = Some(format!("{}/{}", tenant.id, record.user.sub));
        let link = crypto::random_token().map_err(|e| ApiError(e.into()).into_response())?;
        let until = now + TimeDelta::seconds(i64::try_from(ttl).unwrap_or(0));
        tickets::keep_sealed(&app, &store_key(&link), &record, until)
            .await
            .map_err(|e| ApiError(e).into_response())?;
        call.audit.token_expires_at = Some(until);
        Ok((
            StatusCode::CREATED,
            Json(json!({
                "url": format!("{}/l/{link}", app.public_url.as_str()),
                "expires_at": until.to_rfc3339_opts(SecondsFormat::Secs, true),
            })),
        )
            .into_response())
    }
    .await;
    audited(&app, call, response).await
}

fn full_name(given: &str, family: Option<&str>) -> String {
    match family.filter(|f| !f.is_empty()) {
        Some(family) => format!("{given} {family}"),
        None => given.to_owned(),
    }
}

/// `GET /l/<opaque>`: the page that posts the link; it looks nothing up, so a
/// scanner's GET uses nothing.
pub async fn page(State(app): State<AppState>, Path(link): Path<String>) -> Response {
    if !tickets::is_one_time_value(&link) {
        return not_a_link();
    }
    let nonce = page::nonce();
    let action = format!("{}/l", app.public_url.as_str());
    let view = LinkView {
        nonce: &nonce,
        action: &action,
        link: &link,
    };
    // `form-action` also governs where the post's 303 goes: the broker, and the
    // registered origins, where every target lies.
    let registry = app.registry.snapshot();
    let mut sources = vec!["'self'"];
    sources.extend(registry.registered_origins.iter().map(String::as_str));
    page::render_with_form_to(StatusCode::OK, &view, &nonce, &sources.join(" "))
}

/// A form body's fields; a field given twice is refused.
fn form_fields(body: &[u8]) -> Result<HashMap<String, String>, WebError> {
    let mut fields = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(body) {
        if fields
            .insert(name.into_owned(), value.into_owned())
            .is_some()
        {
            return Err(WebError::new(
                ErrorCode::InvalidRequest,
                "A form field is repeated.",
            ));
        }
    }
    Ok(fields)
}

async fn append(app: &AppState, audit: &AuditEntry, response: Response) -> Response {
    if let Err(err) = app.audit.append(audit).await {
        tracing::error!(error = %err, "could not write the audit row");
        return PageError(err.into()).into_response();
    }
    response
}

/// `POST /l` (form field `link`): takes the link once, starts the session and
/// answers `303` to its target.
pub async fn follow(
    State(app): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    client: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut audit = audit_entry(&app, "link.follow", &request_id, client);
    // Login CSRF: only the broker's own link page may post a link, so another
    // site's page cannot log its visitor's browser in as the attacker's user
    // (docs/src/security/threat-model.md, "Login links"). The browser says where the post comes from:
    // `Sec-Fetch-Site` (the page's `no-referrer` policy makes its `Origin`
    // "null"), or, from a browser without it, `Origin`. A server that forges
    // them logs in only itself.
    let header_of = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let own_page = match header_of("sec-fetch-site") {
        Some(site) => site == "same-origin",
        None => header_of("origin") == Some(app.public_url.origin().as_str()),
    };
    let response = if own_page {
        follow_inner(&app, &body, &mut audit).await
    } else {
        audit.reason = Some("posted from another origin".into());
        error_page(
            ErrorCode::Forbidden,
            "Login links are followed from the broker's own page: open the link itself.",
            None,
        )
    };
    append(&app, &audit, response).await
}

async fn follow_inner(app: &AppState, body: &[u8], audit: &mut AuditEntry) -> Response {
    let fields = match form_fields(body) {
        Ok(fields) => fields,
        Err(err) => return PageError(err).into_response(),
    };
    let Some(link) = fields.get("link").filter(|l| tickets::is_one_time_value(l)) else {
        audit.reason = Some("link_malformed".into());
        return not_a_link();
    };
    let record = match tickets::take_sealed::<LinkRecord>(app, &store_key(link)).await {
        Ok(Taken::Value(record)) => record,
        Ok(Taken::Used) => {
            audit.reason = Some("link_used".into());
            return error_page(
                ErrorCode::LinkUsed,
                "This login link was used already. Ask for a new one where you found it.",
                None,
            );
        }
        Ok(Taken::Expired) => {
            audit.reason = Some("link_expired".into());
            return error_page(
                ErrorCode::LinkExpired,
                "This login link expired. Ask for a new one where you found it.",
                None,
            );
        }
        Ok(Taken::Unknown) => {
            audit.reason = Some("link_unknown".into());
            return not_a_link();
        }
        Err(err) => return PageError(err).into_response(),
    };
    audit.actor = format!(
        "tenant:{}",
        record.user.acting.as_ref().unwrap_or(&record.user.tenant)
    );
    audit.subject = Some(format!("{}/{}", record.user.tenant, record.user.sub));
    let response = land(app, record.user, &record.target, record.landing).await;
    if response.status() == StatusCode::SEE_OTHER {
        audit.outcome = "granted".into();
    }
    response
}

/// Lands `user` on `target`: with the session cookie, or with a ticket.
async fn land(app: &AppState, user: HostUser, target: &str, landing: Landing) -> Response {
    match landing {
        Landing::Ticket => match tickets::mint(app, &user).await {
            Ok((ticket, _)) => page::redirect(
                StatusCode::SEE_OTHER,
                &tickets::with_ticket(target, &ticket),
            ),
            Err(err) => PageError(err).into_response(),
        },
        Landing::Cookie => {
            let now = app.clock.now();
            let max_age = (user.session_exp - now).num_seconds().max(0);
            let session = CookieSession {
                user,
                sid: match crypto::random_token() {
                    Ok(sid) => sid,
                    Err(err) => return PageError(err.into()).into_response(),
                },
                started: now,
            };
            let cookie = SessionCookie::new(app.public_url.is_https());
            let value = match app.sealer.seal_json(&cookie.binding(), &session) {
                Ok(sealed) => sealed,
                Err(err) => return PageError(err.into()).into_response(),
            };
            let mut response = page::redirect(StatusCode::SEE_OTHER, target);
            if let Some(set) = cookie.set(&value, max_age) {
                response.headers_mut().append(header::SET_COOKIE, set);
            }
            response
        }
    }
}

fn with_credentials(
    app: &AppState,
    headers: &HeaderMap,
    client: Option<&crate::domain::ClientId>,
    response: &mut Response,
) {
    let registry = app.registry.snapshot();
    crate::http::frame::finish_response(&registry, response, cors::request_origin(headers), client);
    if response
        .headers()
        .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
    {
        response.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
}

/// `POST /api/link/session {client_id}` with the session cookie (`fetch` with
/// `credentials: "include"` from a registered origin): the embed session of the
/// followed link, as `/api/embed/redeem` answers it.
pub async fn session(
    State(app): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    client: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut audit = audit_entry(&app, "link.session", &request_id, client);
    let cookie = SessionCookie::new(app.public_url.is_https());
    let answer = async {
        let request: LinkSessionRequest = json::object(&body).map_err(|e| {
            ApiError(WebError::new(
                ErrorCode::InvalidRequest,
                format!("The body must be JSON {{\"client_id\": \"...\"}} ({e})."),
            ))
            .into_response()
        })?;
        let client = parse_client(&request.client_id).map_err(|e| ApiError(e).into_response())?;
        // The cookie is sent by the browser only; the answer goes only to a
        // page of one of the client's registered origins.
        let Some(origin) = cors::request_origin(&headers) else {
            return Err(ApiError(WebError::new(
                ErrorCode::OriginNotAllowed,
                "Call this from a page of one of the client's registered origins.",
            ))
            .into_response());
        };
        check_origin(&app.registry.snapshot(), &client, Some(origin))
            .map_err(|e| ApiError(e).into_response())?;
        let none = || {
            ApiError(WebError::new(
                ErrorCode::SessionEnded,
                "No login link session in this browser (or it ended): follow a new link.",
            ))
            .into_response()
        };
        let ended = || {
            let mut response = none();
            if let Some(clear) = cookie.clear() {
                response.headers_mut().append(header::SET_COOKIE, clear);
            }
            response
        };
        let Some(session) = cookie
            .read(&headers)
            .and_then(|v| app.sealer.open_json::<CookieSession>(&cookie.binding(), v))
        else {
            audit.reason = Some("no session cookie".into());
            return Err(ended());
        };
        let keys = session_keys(&session.user.tenant, &session.user.sub, &session.sid);
        let over = app
            .logins
            .session_ended(&keys, session.started)
            .await
            .map_err(|e| ApiError(e.into()).into_response())?;
        if over || session.user.session_exp <= app.clock.now() {
            audit.reason = Some("session ended".into());
            return Err(ended());
        }
        // A page of another client (whose errors any registered origin may read)
        // learns no more than from a browser without a session, and ends nothing.
        let uses_client = app
            .durable
            .tenant(&session.user.tenant)
            .await
            .map_err(|e| ApiError(e.into()).into_response())?
            .is_some_and(|t| t.clients.contains(&client));
        if !uses_client {
            audit.reason = Some("client_not_allowed".into());
            return Err(none());
        }
        let response = start_session(
            &app,
            &client,
            &session.user,
            Some((session.sid, session.started)),
            (ErrorCode::Forbidden, &request_id),
            &mut audit,
        )
        .await?;
        Ok((response, client))
    }
    .await;
    let (mut response, client) = match answer {
        Ok((response, client)) => (response, Some(client)),
        Err(response) => (response, None),
    };
    if let Err(err) = app.audit.append(&audit).await {
        tracing::error!(error = %err, "could not write the audit row");
        response = ApiError(err.into()).into_response();
    }
    with_credentials(&app, &headers, client.as_ref(), &mut response);
    response
}

/// The preflight of `/api/link/session`: credentials allowed, for registered
/// origins only.
pub async fn preflight(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let mut response = crate::http::frame::preflight(State(app.clone()), headers.clone()).await;
    if response.status().is_success() {
        response.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    response
}

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

fn unsigned(message: &str) -> Response {
    error_page(ErrorCode::InvalidSignature, message, None)
}

/// `POST /auth/uri` (the vendor's fields `account`, `givenName`, `familyName`,
/// `email`, `uid`, `eventid`, signed): logs the user in like a followed link.
pub async fn uri_post(
    State(app): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    client: Option<Extension<ClientAddr>>,
    body: Bytes,
) -> Response {
    let mut audit = audit_entry(&app, "link.uri", &request_id, client);
    let response = match uri_inner(&app, &body, &mut audit).await {
        Ok(response) => {
            audit.outcome = "granted".into();
            response
        }
        Err(response) => response,
    };
    append(&app, &audit, response).await
}

async fn uri_inner(
    app: &AppState,
    body: &[u8],
    audit: &mut AuditEntry,
) -> Result<Response, Response> {
    let fields = form_fields(body).map_err(|e| PageError(e).into_response())?;
    let field = |name: &str| fields.get(name).map(String::as_str);
    let account = field("account").unwrap_or_default();
    let tenant_id = TenantId::parse(account).map_err(|_| {
        audit.reason = Some("account".into());
        error_page(ErrorCode::InvalidRequest, "account: the tenant id.", None)
    })?;
    let Some(tenant) = app
        .durable
        .tenant(&tenant_id)
        .await
        .map_err(|e| PageError(e.into()).into_response())?
    else {
        audit.reason = Some("unknown tenant".into());
        return Err(unsigned(
            "The request is not signed by a key of this account.",
        ));
    };
    audit.actor = format!("tenant:{}", tenant.id);
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
            None => Err(invalid_target(
                "The account has no embeds.app_url: send an eventid.",
            )),
        },
    }
    .map_err(|_| {
        audit.reason = Some("invalid target".into());
        error_page(
            ErrorCode::InvalidTarget,
            "eventid: not a resource of this account (and the account has no app URL).",
            None,
        )
    })?;
    let specific = user.resource_specific;
    let user = user.for_resource(resource, specific);
    audit.subject = Some(format!("{}/{}", user.tenant, user.sub));
    Ok(land(app, user, &target, Landing::Cookie).await)
}

/// The user of a form signed with an HMAC-SHA-256 by an HS256 key of the tenant.
async fn from_hmac(
    app: &AppState,
    tenant: &Tenant,
    fields: &HashMap<String, String>,
    now: DateTime<Utc>,
    audit: &mut AuditEntry,
) -> Result<HostUser, Response> {
    let field = |name: &str| fields.get(name).map_or("", String::as_str);
    let mut refuse = |reason: &str| {
        audit.reason = Some(reason.to_owned());
        unsigned("The request's signature does not verify (key, signature, time or nonce).")
    };
    let key = match KeyId::parse(field("kid")) {
        Ok(kid) => app
            .durable
            .host_key(&tenant.id, &kid)
            .await
            .map_err(|e| PageError(e.into()).into_response())?,
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
        .await
        .map_err(|e| PageError(e.into()).into_response())?;
    if !fresh {
        return Err(refuse("replayed_nonce"));
    }
    let uid = field("uid");
    let name = full_name(field("givenName"), Some(field("familyName")));
    let email = Some(field("email")).filter(|e| !e.is_empty());
    if !is_host_user_id(uid) {
        audit.reason = Some("uid".into());
        return Err(error_page(
            ErrorCode::InvalidRequest,
            &crate::flows::embed_hosts::USER_ID_RULE.replace("{}", "uid"),
            None,
        ));
    }
    if let Some(problem) =
        profile_problem(Some(name.as_str()).filter(|n| !n.is_empty()), email, None)
    {
        audit.reason = Some("profile".into());
        return Err(error_page(ErrorCode::InvalidRequest, problem, None));
    }
    let profile = Profile::vouched(
        tenant,
        uid,
        Some(name).filter(|n| !n.is_empty()),
        email.map(str::to_owned),
        None,
        EmailSource::Host {
            says_verified: None,
        },
    );
    let session_exp = session_end(tenant, None, now).map_err(|e| PageError(e).into_response())?;
    Ok(HostUser::of(
        tenant,
        None,
        uid.to_owned(),
        profile,
        session_exp,
    ))
}

/// The user of a form carrying a host token of the tenant (the one strict
/// verifier; its `jti` is the nonce), living at most 120 s.
async fn from_signed_token(
    app: &AppState,
    tenant: &Tenant,
    token: &str,
    fields: &HashMap<String, String>,
    now: DateTime<Utc>,
    audit: &mut AuditEntry,
) -> Result<HostUser, Response> {
    if PERSONAL_FIELDS.iter().any(|f| fields.contains_key(*f)) {
        audit.reason = Some("fields beside the token".into());
        return Err(error_page(
            ErrorCode::InvalidRequest,
            "With `jwt`, the user comes from the token: send no givenName, familyName, email or uid.",
            None,
        ));
    }
    let verified = match app.host_token_verifier().verify(token, now).await {
        Ok(Ok(verified)) => verified,
        Ok(Err(rejection)) => {
            audit.reason = Some(rejection.reason());
            return Err(unsigned("The token does not verify."));
        }
        Err(err) => return Err(PageError(err.into()).into_response()),
    };
    if verified.tenant.id != tenant.id || verified.exp > now + SIGNED_WINDOW {
        audit.reason = Some("token of another account, or living over 120 s".into());
        return Err(unsigned(
            "The token does not verify for this account (or lives over 120 s).",
        ));
    }
    Ok(HostUser::vouched_by(verified))
}
