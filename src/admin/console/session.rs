//! The console's session: read from its cookie, and the CSRF rule every
//! state-changing admin API call made with it must pass. A cookie alone proves
//! only that the browser holds it; the CSRF token (in the page, readable only by
//! the broker's own origin) and the browser-set `Origin` prove the call comes
//! from the console itself (docs/src/developers/protocol-facts.md). Sign-out ends a session on the
//! server too (a mark in the login store every request checks), and an
//! administrator can end all of one user's sessions.

use axum::http::{HeaderMap, Method, header};

use crate::app::AppState;
use crate::crypto;
use crate::domain::ConsoleSession;
use crate::domain::console::console_user_key;
use crate::http::cookie::SessionCookie;
use crate::store::{SessionKeys, StoreError};

/// The header that repeats the session's CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The live session of this request's cookie, if any: unexpired, of a user the
/// console still admits, and neither signed out nor ended by an administrator.
pub async fn current(
    app: &AppState,
    headers: &HeaderMap,
) -> Result<Option<ConsoleSession>, StoreError> {
    let Some(settings) = app.console.as_ref() else {
        return Ok(None);
    };
    let cookie = SessionCookie::console(app.public_url.is_https());
    let Some(session) = cookie.read(headers).and_then(|value| {
        app.sealer
            .open_json::<ConsoleSession>(&cookie.binding(), value)
    }) else {
        return Ok(None);
    };
    if !session.is_live(app.clock.now()) || !settings.admits(&session.subject) {
        return Ok(None);
    }
    let ended = app
        .logins
        .session_ended(&keys(&session), session.started_at)
        .await?;
    Ok((!ended).then_some(session))
}

/// Ends `session` on the server (signed out): its cookie, wherever it was
/// copied, no longer signs anybody in.
pub async fn end(app: &AppState, session: &ConsoleSession) -> Result<(), StoreError> {
    let keys = keys(session);
    app.logins
        .end_sessions(
            &keys.session,
            &keys.user,
            app.clock.now(),
            session.expires_at,
        )
        .await
}

fn keys(session: &ConsoleSession) -> SessionKeys {
    SessionKeys {
        session: session.session_key(),
        user: console_user_key(&session.subject),
    }
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
