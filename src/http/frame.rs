//! The JSON calls a registered origin's page makes from the browser (the relay,
//! the embedded frame, a login link's page): the client they name, their origin
//! checked against it, the headers of every answer (never cached, CORS only for
//! that client's origins) and the CORS preflight.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::code::ErrorCode;
use super::cors;
use super::error::{ApiError, WebError};
use crate::app::AppState;
use crate::domain::ClientId;
use crate::registry::Snapshot;

/// The `client_id` a call names.
pub fn parse_client(raw: &str) -> Result<ClientId, WebError> {
    ClientId::parse(raw).map_err(|e| WebError::new(ErrorCode::InvalidRequest, e.to_string()))
}

/// Refuses an unregistered client, and a browser whose origin is not registered
/// for the client.
pub fn check_origin(
    registry: &Snapshot,
    client: &ClientId,
    origin: Option<&str>,
) -> Result<(), WebError> {
    let Some(registered) = registry.client(client.as_str()) else {
        return Err(WebError::new(
            ErrorCode::UnknownClient,
            "This client_id is not registered with the broker.",
        ));
    };
    if origin.is_some_and(|origin| !registered.allows_origin(origin)) {
        return Err(WebError::new(
            ErrorCode::OriginNotAllowed,
            "This origin is not registered for this client_id.",
        ));
    }
    Ok(())
}

/// Headers of every relay answer: never cached; CORS for answers about a login
/// only to its client's origins, for errors to any registered origin.
pub fn finish_response(
    registry: &Snapshot,
    response: &mut Response,
    origin: Option<&str>,
    client: Option<&ClientId>,
) {
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    cors::allow(response, origin, |o| match client {
        Some(client) => registry
            .client(client.as_str())
            .is_some_and(|c| c.allows_origin(o)),
        None => registry.registered_origins.contains(o),
    });
}

/// CORS preflight: the txn is not known yet, so any registered origin may ask.
pub async fn preflight(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let origin = cors::request_origin(&headers);
    if !origin.is_some_and(|o| app.registry.snapshot().registered_origins.contains(o)) {
        return ApiError(WebError::new(
            ErrorCode::OriginNotAllowed,
            "This origin is not registered for any client.",
        ))
        .into_response();
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    cors::allow(&mut response, origin, |_| true);
    let h = response.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    response
}

/// A frame's request: a JSON body of the shape its error names, from a
/// registered origin of the client it names.
pub trait FrameRequest: serde::de::DeserializeOwned {
    /// The body's shape, for the error.
    const SHAPE: &'static str;
    /// The client it names.
    fn client_id(&self) -> &str;
}

/// Declares request types as [`FrameRequest`]s, each with the shape its error
/// names: `frame_requests! { RenewRequest => r#"{"client_id", "session_token"}"#, }`.
macro_rules! frame_requests {
    ($($request:ty => $shape:literal,)+) => {$(
        impl $crate::http::frame::FrameRequest for $request {
            const SHAPE: &'static str = $shape;
            fn client_id(&self) -> &str {
                &self.client_id
            }
        }
    )+};
}
pub(crate) use frame_requests;

/// Reads a frame's request and checks the client it names and the page's
/// origin: the one way every frame call starts.
pub fn frame_request<T: FrameRequest>(
    registry: &Snapshot,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(T, ClientId), WebError> {
    let request: T = super::json::object(body).map_err(|e| {
        WebError::new(
            ErrorCode::InvalidRequest,
            format!("The body must be JSON {} ({e}).", T::SHAPE),
        )
    })?;
    let client = parse_client(request.client_id())?;
    check_origin(registry, &client, cors::request_origin(headers))?;
    Ok((request, client))
}
