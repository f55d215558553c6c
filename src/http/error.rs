//! The web layer's error type. Each variant has an HTTP status and a stable,
//! machine-readable code; the message says what to fix. Internal causes are
//! logged once here (without secrets) and never shown to the caller.
//!
//! Three renderings exist because three audiences exist: [`ApiError`] (JSON,
//! OAuth-style `error`/`error_description`), [`DiscoveryError`] (the discovery
//! service's `{"errors": {"user": {"message"}}}` shape) and [`PageError`] (an
//! HTML page in the login popup, without any script).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::page;
use crate::crypto::CryptoError;
use crate::idp::IdpError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// The caller sent something wrong; `code` is stable, `message` says what to fix.
    #[error("{message}")]
    Caller {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
    #[error(transparent)]
    Idp(#[from] IdpError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

impl WebError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::caller(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn caller(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self::Caller {
            status,
            code,
            message: message.into(),
        }
    }

    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Caller { status, .. } => *status,
            Self::Idp(err) => match err {
                IdpError::Timeout => StatusCode::GATEWAY_TIMEOUT,
                IdpError::Rejected { error, .. } if error == "invalid_grant" => {
                    StatusCode::BAD_REQUEST
                }
                _ => StatusCode::BAD_GATEWAY,
            },
            Self::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Crypto(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Caller { code, .. } => code,
            Self::Idp(err) => match err {
                IdpError::Unreachable => "realm_unreachable",
                IdpError::Timeout => "realm_timeout",
                IdpError::Status(_) => "realm_error",
                IdpError::InvalidResponse(_) => "realm_invalid_response",
                IdpError::IssuerMismatch { .. } => "realm_issuer_mismatch",
                IdpError::Rejected { error, .. } if error == "invalid_grant" => "code_rejected",
                IdpError::Rejected { .. } => "token_request_refused",
                IdpError::NoBrokerClient => "impersonation_not_configured",
                IdpError::InvalidIdToken(_) => "invalid_id_token",
            },
            Self::Store(_) => "store_unavailable",
            Self::Crypto(_) => "internal_error",
        }
    }

    /// What the caller is told.
    #[must_use]
    pub fn public_message(&self) -> String {
        match self {
            Self::Caller { message, .. } => message.clone(),
            Self::Idp(IdpError::Rejected { error, .. }) if error == "invalid_grant" => {
                "The login server refused the authorization code (expired or already used). Start the login again.".into()
            }
            Self::Idp(IdpError::Timeout) => "The login server did not answer in time. Try again shortly.".into(),
            Self::Idp(_) => "The login server could not be used right now. Try again shortly.".into(),
            Self::Store(_) => "The service is temporarily unavailable. Try again shortly.".into(),
            Self::Crypto(_) => "An internal error occurred.".into(),
        }
    }

    /// Logs the internal cause once. Messages never contain tokens, codes,
    /// states or email addresses (see LOGGING in the README).
    pub fn log(&self) {
        match self {
            Self::Caller { .. } => {
                tracing::info!(
                    code = self.code(),
                    status = self.status().as_u16(),
                    "request refused"
                );
            }
            Self::Idp(err) => {
                tracing::warn!(code = self.code(), error = %err, "realm request failed");
            }
            Self::Store(err) => tracing::error!(code = self.code(), error = %err, "store failed"),
            Self::Crypto(err) => tracing::error!(code = self.code(), error = %err, "crypto failed"),
        }
    }
}

/// Security headers that every API response carries.
fn no_store(response: &mut Response) {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

/// JSON error: `{"error": code, "error_description": message}`.
pub struct ApiError(pub WebError);

impl<E: Into<WebError>> From<E> for ApiError {
    fn from(err: E) -> Self {
        Self(err.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.log();
        let body = serde_json::json!({
            "error": self.0.code(),
            "error_description": self.0.public_message(),
        });
        let mut response = (self.0.status(), Json(body)).into_response();
        no_store(&mut response);
        response
    }
}

/// Discovery's error shape, as the seed's discovery service answers.
pub struct DiscoveryError(pub WebError);

impl<E: Into<WebError>> From<E> for DiscoveryError {
    fn from(err: E) -> Self {
        Self(err.into())
    }
}

impl IntoResponse for DiscoveryError {
    fn into_response(self) -> Response {
        self.0.log();
        let body = serde_json::json!({
            "errors": { "user": { "message": self.0.public_message(), "code": self.0.code() } }
        });
        let mut response = (self.0.status(), Json(body)).into_response();
        no_store(&mut response);
        response
    }
}

/// An HTML error page for the login popup: no script, nothing to post.
pub struct PageError(pub WebError);

impl<E: Into<WebError>> From<E> for PageError {
    fn from(err: E) -> Self {
        Self(err.into())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        self.0.log();
        page::error_page(
            self.0.status(),
            self.0.code(),
            &self.0.public_message(),
            None,
        )
    }
}

/// Any path the broker does not serve.
pub async fn not_found() -> ApiError {
    ApiError(WebError::caller(
        StatusCode::NOT_FOUND,
        "not_found",
        "No such endpoint. See the README for the API.",
    ))
}

/// A handler panicked: answer 500 with a stable code; the panic is a bug.
#[allow(clippy::needless_pass_by_value)] // the signature CatchPanicLayer expects
pub fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!(code = "internal_error", "a request handler panicked");
    let body = serde_json::json!({"error": "internal_error", "error_description": "An internal error occurred."});
    let mut response = (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response();
    no_store(&mut response);
    response
}
