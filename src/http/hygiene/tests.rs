//! Unit tests of `hygiene`.

use axum::http::StatusCode;

use super::*;

/// An empty body of the given status, as frameworks answer.
fn bare(status: StatusCode) -> Response {
    let mut response = Response::new(axum::body::Body::empty());
    *response.status_mut() = status;
    response
}

#[test]
fn bare_errors_are_recognised_and_own_shapes_kept() {
    assert!(!has_own_shape(&bare(StatusCode::METHOD_NOT_ALLOWED)));
    let json = ApiError(WebError::new(ErrorCode::InvalidRequest, "y")).into_response();
    assert!(has_own_shape(&json));
    assert_eq!(
        ErrorCode::for_bare_status(StatusCode::PAYLOAD_TOO_LARGE).as_str(),
        "payload_too_large"
    );
}
