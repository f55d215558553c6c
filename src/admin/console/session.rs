//! The console's session: read from its cookie, and the CSRF rule every
//! state-changing admin API call made with it must pass. A cookie alone proves
//! only that the browser holds it; the CSRF token (in the page, readable only by
//! the broker's own origin) and the browser-set `Origin` prove the call comes
//! from the console itself (PROTOCOL.md §6).

use axum::http::{HeaderMap, Method, header};

use crate::app::AppState;
use crate::crypto;
use crate::domain::ConsoleSession;
use crate::http::cookie::SessionCookie;

/// The header that repeats the session's CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The live session of this request's cookie, if any.
#[must_use]
pub fn current(app: &AppState, headers: &HeaderMap) -> Option<ConsoleSession> {
    app.console.as_ref()?;
    let cookie = SessionCookie::console(app.public_url.is_https());
    let value = cookie.read(headers)?;
    let session: ConsoleSession = app.sealer.open_json(&cookie.binding(), value)?;
    session.is_live(app.clock.now()).then_some(session)
}

/// Why a call with the session's cookie is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum CsrfRefusal {
    /// No `Origin`, or another one than the broker's.
    Origin,
    /// No CSRF token, or another one than the session's.
    Token,
}

/// Checks a call made with `session`'s cookie: reads pass; a change needs the
/// broker's own `Origin` and the session's CSRF token (`csrf` is the token of
/// a form post, when the call is one).
pub fn check(
    app: &AppState,
    session: &ConsoleSession,
    method: &Method,
    headers: &HeaderMap,
    csrf: Option<&str>,
) -> Result<(), CsrfRefusal> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if origin != Some(app.public_url.origin().as_str()) {
        return Err(CsrfRefusal::Origin);
    }
    let token = csrf.or_else(|| headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()));
    match token {
        Some(token) if crypto::constant_time_eq(token, &session.csrf) => Ok(()),
        _ => Err(CsrfRefusal::Token),
    }
}
