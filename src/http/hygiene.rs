//! What every response of the service carries, whichever handler (or layer, or
//! framework rejection) made it: `X-Content-Type-Options: nosniff`, a
//! `Cache-Control` (`no-store` unless the handler chose one, as the SDK does), and
//! for an error without a body of its own (405, 413, 408, a framework's plain-text
//! rejection) the JSON error shape with a stable code. Requests must carry exactly
//! one `Host` header (RFC 9112 §3.2), else 400.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, Version, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, WebError};

/// The stable code and message for an error status that arrived without a body
/// in one of the service's own shapes.
fn bare_error(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        401 => ("unauthenticated", "Authenticate first."),
        403 => ("forbidden", "This request is not allowed."),
        404 => ("not_found", "No such endpoint. See the README for the API."),
        405 => (
            "method_not_allowed",
            "This endpoint does not take this HTTP method. See the README for the API.",
        ),
        408 => (
            "request_timeout",
            "The request took too long to arrive or to answer.",
        ),
        411 => ("length_required", "Send a Content-Length."),
        413 => (
            "payload_too_large",
            "The request body is larger than this endpoint accepts.",
        ),
        414 => ("uri_too_long", "The request URI is too long."),
        415 => (
            "unsupported_media_type",
            "Send the body as this endpoint expects (application/json or a form).",
        ),
        _ => (
            "invalid_request",
            "The request is malformed: check its query parameters, headers and body.",
        ),
    }
}

fn has_own_shape(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json") || t.starts_with("text/html"))
}

pub async fn layer(request: Request, next: Next) -> Response {
    let hosts = request.headers().get_all(header::HOST).iter().count();
    if hosts > 1 || (hosts == 0 && request.version() == Version::HTTP_11) {
        let mut response = ApiError(WebError::bad_request(
            "invalid_host",
            "Send exactly one Host header (RFC 9112 §3.2).",
        ))
        .into_response();
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return response;
    }
    let mut response = next.run(request).await;
    let status = response.status();
    if (status.is_client_error() || status.is_server_error()) && !has_own_shape(&response) {
        let (code, message) = bare_error(status);
        let kept = response.headers().clone();
        response = ApiError(WebError::caller(status, code, message)).into_response();
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

/// An empty body of the given status, as frameworks answer: for tests.
#[cfg(test)]
fn bare(status: StatusCode) -> Response {
    let mut response = Response::new(axum::body::Body::empty());
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_errors_are_recognised_and_own_shapes_kept() {
        assert!(!has_own_shape(&bare(StatusCode::METHOD_NOT_ALLOWED)));
        let json = ApiError(WebError::bad_request("x", "y")).into_response();
        assert!(has_own_shape(&json));
        assert_eq!(
            bare_error(StatusCode::PAYLOAD_TOO_LARGE).0,
            "payload_too_large"
        );
    }
}
