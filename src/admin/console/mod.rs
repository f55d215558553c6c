//! The admin console under `/admin/`: a page the broker serves itself, same-origin
//! with the admin API it calls. Administrators sign in at the configured admin
//! realm ([`signin`]); the session travels in a SameSite=Strict cookie and every
//! state-changing call repeats its CSRF token ([`session`]). Its script and style
//! are files of the broker's own, under a CSP that allows nothing else.

pub mod session;
pub mod signin;

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::app::AppState;
use crate::http::error::PageError;
use crate::http::page;

/// The console's script: its pages.
const SCRIPT: &str = include_str!("../../../templates/console/console.js");
/// Its building blocks (elements, API calls, forms and their problems).
const UI_SCRIPT: &str = include_str!("../../../templates/console/ui.js");
/// A tenant's keys panel.
const KEYS_SCRIPT: &str = include_str!("../../../templates/console/tenant_keys.js");
/// A tenant's third-party login providers, in that panel.
const PROVIDERS_SCRIPT: &str = include_str!("../../../templates/console/providers.js");
/// The console's style sheet.
const STYLE: &str = include_str!("../../../templates/console/console.css");
/// The console's icon.
const ICON: &str = include_str!("../../../templates/console/favicon.svg");

/// The signed-in console.
#[derive(Template)]
#[template(path = "console/console.html")]
struct ConsoleView<'a> {
    user: &'a str,
    csrf: &'a str,
    version: &'a str,
}

/// The page a sign-in lands on: it moves on to the console itself (see the template).
#[derive(Template)]
#[template(path = "console/signed_in.html")]
pub(crate) struct SignedInView<'a> {
    /// Who signed in.
    pub(crate) user: &'a str,
}

/// The sign-in page (or why there is none).
#[derive(Template)]
#[template(path = "console/signin.html")]
struct SignInView<'a> {
    realm: Option<&'a str>,
    notice: Option<&'a str>,
    /// The notice reports what went as asked (a sign-out), not a refusal.
    notice_ok: bool,
}

/// `GET /admin`: to `/admin/`.
pub async fn to_console() -> Redirect {
    Redirect::permanent("admin/")
}

/// `GET /admin/`: the console for a signed-in administrator, else the sign-in.
pub async fn index(
    State(app): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let current = match session::current(&app, &headers).await {
        Ok(current) => current,
        Err(err) => return PageError(err.into()).into_response(),
    };
    match current {
        Some(session) => page::render_console(
            StatusCode::OK,
            &ConsoleView {
                user: &session.user,
                csrf: &session.csrf,
                version: env!("CARGO_PKG_VERSION"),
            },
        ),
        // Where a sign-out lands: the card says it happened.
        None if query.as_deref() == Some(SIGNED_OUT) => page::render_console(
            StatusCode::OK,
            &SignInView {
                realm: app.console.as_ref().map(|c| c.realm.as_str()),
                notice: Some("You are signed out. Sign in again to go on."),
                notice_ok: true,
            },
        ),
        None => sign_in_page(&app, StatusCode::OK, None),
    }
}

/// The query of the page a sign-out lands on.
pub(crate) const SIGNED_OUT: &str = "signed_out";

/// The sign-in page with `notice` (why the last attempt did not sign in).
pub(crate) fn sign_in_page(app: &AppState, status: StatusCode, notice: Option<&str>) -> Response {
    let realm = app.console.as_ref().map(|c| c.realm.as_str());
    page::render_console(
        status,
        &SignInView {
            realm,
            notice,
            notice_ok: false,
        },
    )
}

/// `GET /admin/console.js`.
pub async fn script() -> Response {
    asset(SCRIPT, "text/javascript; charset=utf-8")
}

/// `GET /admin/ui.js`.
pub async fn ui_script() -> Response {
    asset(UI_SCRIPT, "text/javascript; charset=utf-8")
}

/// `GET /admin/tenant_keys.js`.
pub async fn keys_script() -> Response {
    asset(KEYS_SCRIPT, "text/javascript; charset=utf-8")
}

/// `GET /admin/providers.js`.
pub async fn providers_script() -> Response {
    asset(PROVIDERS_SCRIPT, "text/javascript; charset=utf-8")
}

/// `GET /admin/console.css`.
pub async fn style() -> Response {
    asset(STYLE, "text/css; charset=utf-8")
}

/// `GET /admin/favicon.svg`.
pub async fn icon() -> Response {
    asset(ICON, "image/svg+xml")
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
