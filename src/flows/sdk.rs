//! `GET /sdk/authproxy.js` and `/sdk/authproxy.d.ts`: the browser SDK, compiled
//! into the binary so the served file always matches this build. The versioned
//! path (`/sdk/authproxy-<version>.js`) is immutable and cached for a year; the
//! unversioned alias for an hour. `ETag` and `X-Content-SHA384` carry the value for
//! `<script integrity="sha384-…">` (also listed in docs/src/integrate/embed-the-login.md).

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha384};

use crate::http::code::ErrorCode;
use crate::http::error::{ApiError, WebError};

/// The SDK source.
pub const SOURCE: &str = include_str!("../../browser-sdk/authproxy.js");
/// Its TypeScript declarations.
pub const DECLARATIONS: &str = include_str!("../../browser-sdk/authproxy.d.ts");
/// The SDK version this build serves.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `sha384-<base64>` of the SDK, for subresource integrity.
#[must_use]
pub fn integrity() -> String {
    format!(
        "sha384-{}",
        STANDARD.encode(Sha384::digest(SOURCE.as_bytes()))
    )
}

fn serve(body: &'static str, content_type: &'static str, max_age: &'static str) -> Response {
    let integrity = integrity();
    let mut response = (StatusCode::OK, body).into_response();
    let headers: &mut HeaderMap = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(max_age));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Any page may load the SDK (with `crossorigin` for integrity checks).
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{integrity}\"")) {
        headers.insert(header::ETAG, etag);
    }
    if let Ok(value) = HeaderValue::from_str(&integrity) {
        headers.insert("x-content-sha384", value);
    }
    response
}

const JS: &str = "text/javascript; charset=utf-8";
const TS: &str = "application/typescript; charset=utf-8";
const ALIAS: &str = "public, max-age=3600";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// `GET /sdk/authproxy.js`.
pub async fn script() -> Response {
    serve(SOURCE, JS, ALIAS)
}

/// `GET /sdk/authproxy.d.ts`.
pub async fn declarations() -> Response {
    serve(DECLARATIONS, TS, ALIAS)
}

/// `/sdk/{file}`: `authproxy-<version>.js` and `authproxy-<version>.d.ts`.
pub async fn versioned(Path(file): Path<String>) -> Result<Response, ApiError> {
    if file == format!("authproxy-{VERSION}.js") {
        Ok(serve(SOURCE, JS, IMMUTABLE))
    } else if file == format!("authproxy-{VERSION}.d.ts") {
        Ok(serve(DECLARATIONS, TS, IMMUTABLE))
    } else {
        Err(WebError::new(
            ErrorCode::NotFound,
            format!("This broker serves SDK version {VERSION}: /sdk/authproxy-{VERSION}.js"),
        )
        .into())
    }
}
