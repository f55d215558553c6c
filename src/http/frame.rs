//! The JSON calls a registered origin's page makes from the browser (the relay,
//! the embedded frame, a login link's page): the client they name, their origin
//! checked against it, the headers of every answer (never cached, CORS only for
//! that client's origins) and the CORS preflight.

use axum::extract::{FromRequest, Request, State};
use axum::handler::Handler;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};

use super::code::ErrorCode;
use super::cors;
use super::error::{ApiError, WebError};
use super::json::{Shaped, read};
use super::refused::Refused;
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
pub trait FrameRequest: Shaped {
    /// The client it names.
    fn client_id(&self) -> &str;
}

/// Declares request types as [`FrameRequest`]s, each with the shape its error
/// names: `frame_requests! { RenewRequest => r#"{"client_id", "session_token"}"#, }`.
macro_rules! frame_requests {
    ($($request:ty => $shape:literal,)+) => {$(
        impl $crate::http::json::Shaped for $request {
            const SHAPE: &'static str = $shape;
        }
        impl $crate::http::frame::FrameRequest for $request {
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
    origin: Option<&str>,
    body: &[u8],
) -> Result<(T, ClientId), Refused> {
    let request: T = super::json::shaped(body)?;
    let client = parse_client(request.client_id())
        .map_err(|e| Refused::from(e).because("invalid request"))?;
    check_origin(registry, &client, origin)?;
    Ok((request, client))
}

/// A frame's call: its body of `T`'s shape, from a registered origin of the
/// registered client it names.
pub struct FrameCall<T> {
    /// The client the call names, registered, the page's origin allowed.
    pub client: ClientId,
    /// The body.
    pub body: T,
}

impl<T: FrameRequest> FromRequest<AppState> for FrameCall<T> {
    type Rejection = Refused;

    async fn from_request(request: Request, app: &AppState) -> Result<Self, Refused> {
        let origin = cors::request_origin(request.headers()).map(str::to_owned);
        let body = read(request, app).await?;
        let (body, client) = frame_request(&app.registry.snapshot(), origin.as_deref(), &body)?;
        Ok(Self { client, body })
    }
}

/// The client a frame's answer is for: CORS for that client's origins only.
#[derive(Debug, Clone)]
pub struct AnsweredFor(pub ClientId);

/// A frame's answer for `client`.
pub struct Framed<T>(pub ClientId, pub T);

impl<T: IntoResponse> IntoResponse for Framed<T> {
    fn into_response(self) -> Response {
        let mut response = self.1.into_response();
        response.extensions_mut().insert(AnsweredFor(self.0));
        response
    }
}

/// The layer of every frame route: the answer's headers ([`finish_response`])
/// for the client it was for, or for any registered origin on a refusal.
pub async fn frame_headers(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let origin = cors::request_origin(request.headers()).map(str::to_owned);
    let mut response = next.run(request).await;
    let client = response
        .extensions()
        .get::<AnsweredFor>()
        .map(|a| a.0.clone());
    finish_response(
        &app.registry.snapshot(),
        &mut response,
        origin.as_deref(),
        client.as_ref(),
    );
    response
}

/// A frame's `POST` route: the handler, its CORS preflight, and the frame's
/// answer headers.
pub fn frame_post<H, T>(app: &AppState, handler: H) -> MethodRouter<AppState>
where
    H: Handler<T, AppState>,
    T: 'static,
{
    post(handler)
        .options(preflight)
        .layer(from_fn_with_state(app.clone(), frame_headers))
}
