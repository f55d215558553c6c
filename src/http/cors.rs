//! CORS for the JSON APIs: only origins registered by a client are echoed, never
//! `*`, never with credentials.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;

/// The request's `Origin`, if any, as text.
#[must_use]
pub fn request_origin(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
}

/// Adds `Access-Control-Allow-Origin` when `allowed` accepts the request's origin.
/// `Vary: Origin` is always set so caches keep answers apart.
pub fn allow(response: &mut Response, origin: Option<&str>, allowed: impl Fn(&str) -> bool) {
    let headers = response.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = origin.filter(|o| allowed(o))
        && let Ok(value) = HeaderValue::from_str(origin)
    {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
}
