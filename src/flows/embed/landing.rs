//! Where a followed login link or a signed `/auth/uri` form lands its user: the
//! target (a registered resource's page, or a registered path on the tenant's
//! app), reached with a `__Host-` session cookie or a one-time ticket; and
//! `POST /api/link/session`, where a page of the client trades that cookie for
//! the embed session (credentialed CORS, registered origins only).

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::audit::Audit;
use super::session::start_session;
use super::slots::session_keys;
use super::tickets;
use super::vouched::HostUser;
use crate::app::AppState;
use crate::crypto;
use crate::domain::{ClientId, LinkPath, ResourceId, ResourceRef, Tenant};
use crate::http::code::ErrorCode;
use crate::http::cookie::SessionCookie;
use crate::http::cors;
use crate::http::error::{PageError, WebError};
use crate::http::frame::{Framed, check_origin, frame_headers, parse_client};
use crate::http::json::{shaped, shapes};
use crate::http::page;
use crate::http::refused::Refused;
use crate::store::resources::ResourceStore as _;
use crate::store::tenants::TenantStore as _;

/// How a followed link lands on its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Landing {
    /// A first-party session cookie (the app on the broker's site).
    Cookie,
    /// A one-time ticket in the target's fragment (a third-party iframe).
    Ticket,
}

impl Landing {
    /// The landing of a link that names none: the cookie only where it surely
    /// reaches the app (a target on the broker's own scheme and host, which is
    /// its site), else the ticket, which works in a third-party iframe too
    /// (docs/src/embedded/embed-urls-registrations-links.md, "Which landing where").
    pub(crate) fn default_for(target: &str, broker: &str) -> Self {
        match (url::Url::parse(target), url::Url::parse(broker)) {
            (Ok(t), Ok(b)) if t.scheme() == b.scheme() && t.host_str() == b.host_str() => {
                Self::Cookie
            }
            _ => Self::Ticket,
        }
    }
}

/// The session in the cookie.
#[derive(Serialize, Deserialize)]
pub(crate) struct CookieSession {
    user: HostUser,
    sid: String,
    started: DateTime<Utc>,
}

/// The client whose page asks for the cookie's session.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSessionRequest {
    client_id: String,
}

shapes! {
    LinkSessionRequest => r#"{"client_id": "..."}"#,
}

fn invalid_target(message: &str) -> Refused {
    Refused::new(ErrorCode::InvalidTarget, message)
}

/// The URL a link (or `/auth/uri`) lands on: a registered resource's page, or a
/// registered path on the origin of the tenant's app.
pub(crate) async fn target_url(
    app: &AppState,
    tenant: &Tenant,
    resource: Option<&str>,
    path: Option<&str>,
) -> Result<(String, Option<ResourceRef>), Refused> {
    match (resource, path) {
        (Some(id), None) => {
            let id = ResourceId::parse(id)
                .map_err(|e| invalid_target(&format!("target.resource: {e}")))?;
            let found = app
                .durable
                .resource(&tenant.id, &id)
                .await?
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

pub(crate) fn full_name(given: &str, family: Option<&str>) -> String {
    match family.filter(|f| !f.is_empty()) {
        Some(family) => format!("{given} {family}"),
        None => given.to_owned(),
    }
}

/// A form body's fields; a field given twice is refused.
pub(crate) fn form_fields(body: &[u8]) -> Result<HashMap<String, String>, WebError> {
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

/// Lands `user` on `target`: with the session cookie, or with a ticket.
pub(crate) async fn land(
    app: &AppState,
    user: HostUser,
    target: &str,
    landing: Landing,
) -> Response {
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

/// The layer of `/api/link/session`, outside its audit: every answer (a 503
/// for an audit row not written too) gets the frame's headers, with
/// credentials allowed where an origin is.
pub async fn credentialed(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = frame_headers(State(app), request, next).await;
    if response
        .headers()
        .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
    {
        response.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    response
}

/// `POST /api/link/session {client_id}` with the session cookie (`fetch` with
/// `credentials: "include"` from a registered origin): the embed session of the
/// followed link, as `/api/embed/redeem` answers it.
pub async fn session(
    State(app): State<AppState>,
    audit: Audit,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let cookie = SessionCookie::new(app.public_url.is_https());
    match cookie_session(&app, &audit, &headers, &body, &cookie).await {
        Ok((answer, client)) => Framed(client, Json(answer)).into_response(),
        Err((refused, clear)) => {
            let mut response = refused.into_response();
            if let Some(clear) = clear.then(|| cookie.clear()).flatten() {
                response.headers_mut().append(header::SET_COOKIE, clear);
            }
            response
        }
    }
}

/// The session of the cookie, for `client`; a refusal says whether the
/// cookie is to be cleared.
async fn cookie_session(
    app: &AppState,
    audit: &Audit,
    headers: &HeaderMap,
    body: &[u8],
    cookie: &SessionCookie,
) -> Result<(super::tokens::SessionResponse, ClientId), (Refused, bool)> {
    let keep = |r: Refused| (r, false);
    let request: LinkSessionRequest = shaped(body).map_err(keep)?;
    let client = parse_client(&request.client_id).map_err(|e| keep(e.into()))?;
    // The cookie is sent by the browser only; the answer goes only to a page of
    // one of the client's registered origins.
    let Some(origin) = cors::request_origin(headers) else {
        return Err(keep(Refused::new(
            ErrorCode::OriginNotAllowed,
            "Call this from a page of one of the client's registered origins.",
        )));
    };
    check_origin(&app.registry.snapshot(), &client, Some(origin)).map_err(|e| keep(e.into()))?;
    let none = |reason: &'static str| {
        Refused::new(
            ErrorCode::SessionEnded,
            "No login link session in this browser (or it ended): follow a new link.",
        )
        .because(reason)
    };
    let Some(session) = cookie
        .read(headers)
        .and_then(|v| app.sealer.open_json::<CookieSession>(&cookie.binding(), v))
    else {
        return Err((none("no session cookie"), true));
    };
    let keys = session_keys(
        &session.user.tenant,
        session.user.sub.as_str(),
        &session.sid,
    );
    let over = app
        .logins
        .session_ended(&keys, session.started)
        .await
        .map_err(|e| keep(e.into()))?;
    if over || session.user.session_exp <= app.clock.now() {
        return Err((none("session ended"), true));
    }
    // A page of another client (whose errors any registered origin may read)
    // learns no more than from a browser without a session, and ends nothing.
    let uses_client = app
        .durable
        .tenant(&session.user.tenant)
        .await
        .map_err(|e| keep(e.into()))?
        .is_some_and(|t| t.clients.contains(&client));
    if !uses_client {
        return Err(keep(none("client_not_allowed")));
    }
    let existing = Some((session.sid, session.started));
    let answer = start_session(
        app,
        &client,
        &session.user,
        existing,
        ErrorCode::Forbidden,
        audit,
    )
    .await
    .map_err(keep)?;
    Ok((answer, client))
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
