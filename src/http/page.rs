//! HTML responses. Every page carries the same security headers (RFC 9700 §4.2, §4.16):
//! a CSP whose only script and style are the ones with this response's nonce,
//! `frame-ancestors 'none'` (the error pages of URLs opened in a host's frame:
//! the registered origins, [`let_frame`]), `Referrer-Policy: no-referrer` (the URL may hold an
//! authorization code), `Cache-Control: no-store`, `nosniff`. No page sets
//! `Cross-Origin-Opener-Policy`: the popup must keep its opener when it can.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::code::ErrorCode;
use crate::crypto;

/// A per-response CSP nonce.
#[must_use]
pub fn nonce() -> String {
    // Without randomness no script may run: an empty nonce matches nothing.
    crypto::random_token().unwrap_or_default()
}

/// Where a page's forms may post.
#[derive(Clone, Copy)]
enum FormAction<'a> {
    None,
    /// The broker itself (the approval form of the completion page).
    SelfOnly,
    /// Other sources (the realm's end-session endpoint; the registered origins
    /// a link's post is redirected to).
    Origin(&'a str),
}

/// Renders `view` with the security headers and `nonce` in the CSP.
pub fn render<T: Template>(status: StatusCode, view: &T, nonce: &str) -> Response {
    render_as(status, view, nonce, FormAction::None)
}

/// As [`render`], for a page whose form posts back to the broker.
pub fn render_with_form<T: Template>(status: StatusCode, view: &T, nonce: &str) -> Response {
    render_as(status, view, nonce, FormAction::SelfOnly)
}

/// As [`render`], for a page whose form posts to `origin` (ASCII-serialised
/// origins, space-separated, from configuration or realm metadata, never from a
/// request).
pub fn render_with_form_to<T: Template>(
    status: StatusCode,
    view: &T,
    nonce: &str,
    origin: &str,
) -> Response {
    render_as(status, view, nonce, FormAction::Origin(origin))
}

fn render_as<T: Template>(
    status: StatusCode,
    view: &T,
    nonce: &str,
    form: FormAction<'_>,
) -> Response {
    match view.render() {
        Ok(html) => with_headers(status, html, nonce, form),
        Err(err) => {
            tracing::error!(code = "internal_error", error = %err, "template failed to render");
            with_headers(
                StatusCode::INTERNAL_SERVER_ERROR,
                "<!DOCTYPE html><title>Error</title><p>An internal error occurred.</p>".into(),
                "",
                FormAction::None,
            )
        }
    }
}

fn with_headers(status: StatusCode, html: String, nonce: &str, form: FormAction<'_>) -> Response {
    let form_action = match form {
        FormAction::None => "'none'",
        FormAction::SelfOnly => "'self'",
        FormAction::Origin(origin) => origin,
    };
    let csp = if nonce.is_empty() {
        format!(
            "default-src 'none'; base-uri 'none'; form-action {form_action}; frame-ancestors 'none'"
        )
    } else {
        format!(
            "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; base-uri 'none'; form-action {form_action}; frame-ancestors 'none'"
        )
    };
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The admin console's CSP: its own script and style files only, calls to the
/// broker only, forms posting back only, and never framed.
pub const CONSOLE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Renders an admin console page: [`CONSOLE_CSP`] and the other headers.
pub fn render_console<T: Template>(status: StatusCode, view: &T) -> Response {
    let mut response = render_as(status, view, "", FormAction::SelfOnly);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONSOLE_CSP),
    );
    // Its URLs hold nothing secret; its own form posts then carry its Origin
    // (with no-referrer a browser sends `Origin: null`), which the CSRF rule checks.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

/// The popup's error page: what went wrong, its stable code, and no script.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorView<'a> {
    /// The CSP nonce.
    pub nonce: &'a str,
    /// The stable error code.
    pub code: &'a str,
    /// What happened.
    pub message: &'a str,
    /// More about it.
    pub detail: Option<&'a str>,
}

/// The error page for `code`, answered with its one status.
#[must_use]
pub fn error_page(code: ErrorCode, message: &str, detail: Option<&str>) -> Response {
    let nonce = nonce();
    let view = ErrorView {
        nonce: &nonce,
        code: code.as_str(),
        message,
        detail,
    };
    let mut response = render(code.status(), &view, &nonce);
    // The access log names the code the page shows.
    response.extensions_mut().insert(code);
    response
}

/// Lets `ancestors` (canonical origins from configuration, space-separated)
/// frame `response` when it is an error page: for the pages a host opens inside
/// its frame, whose message must show there instead of the browser's refusal.
/// An error page holds no action and no user data; any other response keeps
/// `frame-ancestors 'none'`.
pub fn let_frame(response: &mut Response, ancestors: &str) {
    if ancestors.is_empty() || response.extensions().get::<ErrorCode>().is_none() {
        return;
    }
    let headers = response.headers_mut();
    let Some(csp) = headers
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
    else {
        return;
    };
    let framed = csp.replace(
        "frame-ancestors 'none'",
        &format!("frame-ancestors {ancestors}"),
    );
    if let Ok(value) = HeaderValue::from_str(&framed) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// A redirect (`302 Found` or `303 See Other`) to `location`: never cached, and
/// sending no referrer (the URL it leaves may hold a code or a ticket).
#[must_use]
pub fn redirect(status: StatusCode, location: &str) -> Response {
    let mut response = status.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}
