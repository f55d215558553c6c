//! What every response of the service carries, whichever handler (or layer, or
//! framework rejection) made it: `X-Content-Type-Options: nosniff`, a
//! `Cache-Control` (`no-store` unless the handler chose one, as the SDK does), and
//! for an error without a body of its own (405, 413, 408, a framework's plain-text
//! rejection) the JSON error shape with a stable code. Requests must carry exactly
//! one `Host` header (RFC 9112 §3.2), else 400, and at most [`MAX_HEADER_BYTES`]
//! of headers in all, else 431 (RFC 6585 §5).

use axum::extract::Request;
use axum::http::{HeaderValue, Version, header};
use axum::response::{IntoResponse, Response};

use super::code::ErrorCode;
use super::error::{ApiError, WebError};

/// The message for an error status that arrived without a body in one of the
/// service's own shapes.
fn bare_message(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::NotFound => {
            "No such endpoint. See the HTTP API reference (docs/src/reference/http-api.md)."
        }
        ErrorCode::MethodNotAllowed => {
            "This endpoint does not take this HTTP method. See the HTTP API reference (docs/src/reference/http-api.md)."
        }
        ErrorCode::RequestTimeout => "The request took too long to arrive or to answer.",
        ErrorCode::PayloadTooLarge => "The request body is larger than this endpoint accepts.",
        ErrorCode::UnsupportedMediaType => {
            "Send the body as this endpoint expects (application/json or a form)."
        }
        _ => "The request is malformed: check its query parameters, headers and body.",
    }
}

fn has_own_shape(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json") || t.starts_with("text/html"))
}

/// The most header bytes (names and values) a request may carry in all: far
/// above any browser's or host backend's, far below what would cost memory.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// A refusal of the request as a whole, closing the connection.
fn refuse_and_close(code: ErrorCode, message: &str) -> Response {
    let mut response = ApiError(WebError::new(code, message)).into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// The refusal of a request whose headers are too large or whose `Host` is
/// missing or repeated, before any handler sees it.
#[must_use]
pub fn refusal(request: &Request) -> Option<Response> {
    let header_bytes: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return Some(refuse_and_close(
            ErrorCode::HeadersTooLarge,
            "The request's headers are too large (32 KiB in all at most): send fewer or smaller cookies and headers.",
        ));
    }
    let hosts = request.headers().get_all(header::HOST).iter().count();
    if hosts > 1 || (hosts == 0 && request.version() == Version::HTTP_11) {
        return Some(refuse_and_close(
            ErrorCode::InvalidHost,
            "Send exactly one Host header (RFC 9112 §3.2).",
        ));
    }
    None
}

/// Gives a bare error the JSON shape of every other, and every answer its
/// `nosniff` and (unless it says otherwise) `no-store`.
#[must_use]
pub fn finish(mut response: Response) -> Response {
    let status = response.status();
    if (status.is_client_error() || status.is_server_error()) && !has_own_shape(&response) {
        let code = ErrorCode::for_bare_status(status);
        let kept = response.headers().clone();
        response = ApiError(WebError::new(code, bare_message(code))).into_response();
        for name in [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
            if let Some(value) = kept.get(&name) {
                response.headers_mut().insert(name, value.clone());
            }
        }
    }
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

#[cfg(test)]
mod tests;
