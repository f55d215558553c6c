//! One-time login links (URI auth, seed 003), without the vendor's leaks: the
//! host backend (API key) asks for a link for its signed-in user
//! (`POST /api/v1/links`) and gets `<broker>/l/<opaque>`, with no personal data
//! in it (the user is sealed server-side under the link's hash). Following it,
//! `GET /l/<opaque>` serves a no-store, no-referrer page that posts the link
//! (link scanners that only GET do not use it up) and `POST /l` takes it once,
//! sets the `__Host-` session cookie and answers `303` to the registered target,
//! so no page is left in the history. A link whose target is a third-party
//! iframe lands with a one-time ticket instead (`landing: "ticket"`); see
//! [`super::landing`].

use askama::Template;
use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{SecondsFormat, TimeDelta};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::audit::Audit;
use super::host_api::{Admitted, session_end};
use super::landing::{Landing, form_fields, full_name, land, target_url};
use super::tickets::{self, Taken};
use super::vouched::{Claimed, HostUser, Profile};
use crate::app::AppState;
use crate::crypto;
use crate::domain::{EmailSource, HostUserId};
use crate::http::client_addr::ClientAddr;
use crate::http::code::ErrorCode;
use crate::http::error::PageError;
use crate::http::json::{JsonBody, shapes};
use crate::http::page::{self, error_page};
use crate::http::refused::Refused;
use crate::http::request_id::RequestId;

/// A link's default life.
const DEFAULT_TTL_SECS: u64 = 120;
/// A link's longest life.
const MAX_TTL_SECS: u64 = 300;

/// What a link holds, sealed under its hash.
#[derive(Serialize, Deserialize)]
struct LinkRecord {
    user: HostUser,
    target: String,
    landing: Landing,
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

/// What the host asks a login link for.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    #[serde(default)]
    tenant: Option<String>,
    user: LinkUser,
    target: LinkTarget,
    #[serde(default)]
    ttl_s: Option<u64>,
    #[serde(default)]
    landing: Option<Landing>,
    #[serde(default)]
    session_secs: Option<u64>,
}

shapes! {
    LinkRequest => r#"{"user": {"uid", "given_name", "family_name", "email"}, "target": {"resource"} or {"path"}, "ttl_s", "landing", "tenant"}"#,
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

/// `POST /api/v1/links {tenant?, user: {uid, given_name, family_name?, email?},
/// target: {resource} | {path}, ttl_s?, landing?, session_secs?}`: `201 {url,
/// expires_at}`.
pub async fn create(
    State(app): State<AppState>,
    call: Admitted,
    JsonBody(request): JsonBody<LinkRequest>,
) -> Result<(StatusCode, Json<Value>), Refused> {
    let (tenant, acting) = call.tenant(&app, request.tenant.as_deref()).await?;
    let user = request.user;
    let sub = HostUserId::parse(&user.uid).map_err(|e| Refused::field("user.uid", e))?;
    let name = full_name(&user.given_name, user.family_name.as_deref());
    let claimed = Claimed::parse(Some(name), user.email.as_deref(), None)
        .map_err(|p| Refused::field(&format!("user.{}", p.field()), p))?;
    let ttl = request.ttl_s.unwrap_or(DEFAULT_TTL_SECS);
    if !(1..=MAX_TTL_SECS).contains(&ttl) {
        return Err(Refused::field(
            "ttl_s",
            format!("1 to {MAX_TTL_SECS} seconds"),
        ));
    }
    let target = &request.target;
    let (target, resource) = target_url(
        &app,
        &tenant,
        target.resource.as_deref(),
        target.path.as_deref(),
    )
    .await?;
    let now = app.clock.now();
    let source = EmailSource::Host {
        says_verified: None,
    };
    let profile = Profile::vouched(&tenant, &sub, claimed, source);
    let acting = acting.then(|| call.key.tenant.clone());
    let session_exp = session_end(&tenant, request.session_secs, now)?;
    let record = LinkRecord {
        user: HostUser::of(&tenant, acting, sub, profile, session_exp)
            .for_resource(resource, false),
        landing: request
            .landing
            .unwrap_or_else(|| Landing::default_for(&target, app.public_url.as_str())),
        target,
    };
    call.audit
        .subject(format!("{}/{}", tenant.id, record.user.sub));
    let link = crypto::random_token()?;
    let until = now + TimeDelta::seconds(i64::try_from(ttl).unwrap_or(0));
    tickets::keep_sealed(&app, &store_key(&link), &record, until).await?;
    call.audit.issued(None, until);
    let body = json!({
        "url": format!("{}/l/{link}", app.public_url.as_str()),
        "expires_at": until.to_rfc3339_opts(SecondsFormat::Secs, true),
    });
    Ok((StatusCode::CREATED, Json(body)))
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

/// `POST /l` (form field `link`): takes the link once, starts the session and
/// answers `303` to its target.
pub async fn follow(
    State(app): State<AppState>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    client: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let address = client.map(|Extension(address)| address);
    let audit = Audit::open(&app, "link.follow", &request_id, address.as_ref());
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
        follow_inner(&app, &body, &audit).await
    } else {
        audit.reason("posted from another origin");
        error_page(
            ErrorCode::Forbidden,
            "Login links are followed from the broker's own page: open the link itself.",
            None,
        )
    };
    audit.write_page(&app, response).await
}

async fn follow_inner(app: &AppState, body: &[u8], audit: &Audit) -> Response {
    let fields = match form_fields(body) {
        Ok(fields) => fields,
        Err(err) => return PageError(err).into_response(),
    };
    let Some(link) = fields.get("link").filter(|l| tickets::is_one_time_value(l)) else {
        audit.reason("link_malformed");
        return not_a_link();
    };
    let record = match tickets::take_sealed::<LinkRecord>(app, &store_key(link)).await {
        Ok(Taken::Value(record)) => record,
        Ok(Taken::Used) => {
            audit.reason("link_used");
            return error_page(
                ErrorCode::LinkUsed,
                "This login link was used already. Ask for a new one where you found it.",
                None,
            );
        }
        Ok(Taken::Expired) => {
            audit.reason("link_expired");
            return error_page(
                ErrorCode::LinkExpired,
                "This login link expired. Ask for a new one where you found it.",
                None,
            );
        }
        Ok(Taken::Unknown) => {
            audit.reason("link_unknown");
            return not_a_link();
        }
        Err(err) => return PageError(err).into_response(),
    };
    audit.actor(format!(
        "tenant:{}",
        record.user.acting.as_ref().unwrap_or(&record.user.tenant)
    ));
    audit.subject(format!("{}/{}", record.user.tenant, record.user.sub));
    let response = land(app, record.user, &record.target, record.landing).await;
    if response.status() == StatusCode::SEE_OTHER {
        audit.granted();
    }
    response
}
