//! A request id for every request: the caller's `X-Request-Id` when it is a plain
//! token (1 to 64 of `A-Z a-z 0-9 - _ .`), a fresh random one otherwise. It is in
//! the request's log span, in the `X-Request-Id` answer header, in every JSON error
//! body (`request_id`) and in the audit trail, so one login can be followed across
//! log lines and reported by a user.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::Response;

use crate::crypto;

/// The request id, as the handlers and the span see it.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

static HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Largest error body re-written to carry the id.
const MAX_ERROR_BODY: usize = 64 * 1024;

fn valid(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A new id: 11 random characters drawn once per process, then a counter (11 hex
/// digits). Unique across replicas and restarts without a system call per request;
/// an id names a request, it grants nothing, so it need not be unpredictable.
fn fresh() -> String {
    static PREFIX: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| {
        crypto::random_token().map_or_else(
            |_| format!("{:011x}", std::process::id()),
            |t| t.chars().take(11).collect(),
        )
    });
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed) & 0xfff_ffff_ffff;
    format!("{prefix}{n:011x}")
}

/// Gives `request` its id (the caller's, when valid, or a fresh one); the id as
/// the answer's `X-Request-Id` header.
pub fn assign(request: &mut Request) -> HeaderValue {
    let given = request
        .headers()
        .get(&HEADER)
        .filter(|v| v.to_str().is_ok_and(valid))
        .cloned();
    let (id, value) = if let Some(value) = given {
        (value.to_str().unwrap_or_default().to_owned(), value)
    } else {
        let id = fresh();
        let value = HeaderValue::from_maybe_shared(bytes::Bytes::from(id.clone()))
            .unwrap_or_else(|_| HeaderValue::from_static("-"));
        (id, value)
    };
    request.extensions_mut().insert(RequestId(id));
    value
}

/// Puts the id on the answer: its header, and `request_id` in a JSON error body.
pub async fn finish(response: Response, id: HeaderValue) -> Response {
    let mut response = with_id_in_error_body(response, id.to_str().unwrap_or_default()).await;
    response.headers_mut().insert(HEADER.clone(), id);
    response
}

/// Adds `request_id` to a JSON error body (unless it names it `debug_id`).
async fn with_id_in_error_body(response: Response, id: &str) -> Response {
    let is_json_error = (response.status().is_client_error()
        || response.status().is_server_error())
        && response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("application/json"));
    if !is_json_error {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_ERROR_BODY).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let body = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        // An answer that names its id as `debug_id` (a refused host token) keeps
        // exactly its shape.
        Ok(serde_json::Value::Object(object)) if object.contains_key("debug_id") => {
            return Response::from_parts(parts, Body::from(bytes));
        }
        Ok(serde_json::Value::Object(mut object)) => {
            object.insert(
                "request_id".to_owned(),
                serde_json::Value::String(id.to_owned()),
            );
            serde_json::to_vec(&object).unwrap_or_else(|_| bytes.to_vec())
        }
        _ => bytes.to_vec(),
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests;
