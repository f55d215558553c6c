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

use super::code::ErrorCode;
use super::page;
use crate::crypto::CryptoError;
use crate::idp::IdpError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
/// An error of a request, rendered as JSON or as a page.
pub enum WebError {
    /// The caller sent something wrong; `code` is stable (and decides the status),
    /// `message` says what to fix.
    #[error("{message}")]
    /// The request is refused.
    Caller {
        /// The stable code.
        code: ErrorCode,
        /// What to fix.
        message: String,
    },
    #[error(transparent)]
    /// A realm failed.
    Idp(#[from] IdpError),
    #[error(transparent)]
    /// The store failed.
    Store(#[from] StoreError),
    #[error(transparent)]
    /// Randomness, hashing or sealing failed.
    Crypto(#[from] CryptoError),
}

impl From<crate::auth::host_token::VerifyError> for WebError {
    fn from(err: crate::auth::host_token::VerifyError) -> Self {
        match err {
            crate::auth::host_token::VerifyError::Store(err) => err.into(),
            // The host's key URL is an upstream like a realm.
            crate::auth::host_token::VerifyError::Keys(err) => err.into(),
        }
    }
}

/// The one mapping from a realm failure to a code (and so to a status), for
/// every flow.
impl From<&IdpError> for ErrorCode {
    fn from(err: &IdpError) -> Self {
        match err {
            IdpError::Unreachable => Self::RealmUnreachable,
            IdpError::Timeout => Self::RealmTimeout,
            IdpError::Status(_) => Self::RealmError,
            IdpError::InvalidResponse(_) => Self::RealmInvalidResponse,
            IdpError::IssuerMismatch { .. } => Self::RealmIssuerMismatch,
            IdpError::Rejected { error, .. } if error == "invalid_grant" => Self::CodeRejected,
            // The realm refused the broker's own client: a permission or role is missing.
            IdpError::Rejected {
                status: 401 | 403, ..
            } => Self::ImpersonationRefused,
            IdpError::Rejected { .. } => Self::TokenRequestRefused,
            IdpError::NoBrokerClient => Self::ImpersonationNotConfigured,
            IdpError::ExchangeUnsupported => Self::ImpersonationNotSupported,
            IdpError::InvalidIdToken(_) => Self::InvalidIdToken,
        }
    }
}

impl WebError {
    /// A bug or a broken invariant: logged with its detail, answered as
    /// `internal_error` without it.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "the request could not be handled");
        Self::new(
            ErrorCode::InternalError,
            "The request could not be handled.",
        )
    }

    /// A refusal with `code`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Caller {
            code,
            message: message.into(),
        }
    }

    #[must_use]
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.error_code().status()
    }

    #[must_use]
    /// The stable error code.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            Self::Caller { code, .. } => *code,
            Self::Idp(err) => err.into(),
            Self::Store(_) => ErrorCode::StoreUnavailable,
            Self::Crypto(_) => ErrorCode::InternalError,
        }
    }

    #[must_use]
    /// The stable error code, as written.
    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
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
            Self::Idp(IdpError::Rejected { status: 401 | 403, .. }) => {
                "The realm refused the broker's client: it lacks a permission or role (see docs/src/impersonation.md).".into()
            }
            Self::Idp(IdpError::ExchangeUnsupported) => {
                "The user's realm does not offer the token exchange impersonation needs. On Keycloak, enable the features token-exchange:v1 and admin-fine-grained-authz:v1 (see docs/src/impersonation.md).".into()
            }
            Self::Idp(IdpError::NoBrokerClient) => {
                "The user's realm has no broker client configured (broker_client_id / broker_client_secret).".into()
            }
            Self::Idp(_) => "The login server could not be used right now. Try again shortly.".into(),
            Self::Store(_) => "The service is temporarily unavailable. Try again shortly.".into(),
            Self::Crypto(_) => "An internal error occurred.".into(),
        }
    }

    /// Puts the code, and the internal cause of a failure, on `response` for
    /// the access layer to log (summarised: a flood of the same refusal writes
    /// one line per interval). Causes never contain tokens, codes, states or
    /// email addresses (docs/src/security/mechanisms.md, Logging).
    pub fn annotate(&self, response: &mut Response) {
        let detail = match self {
            Self::Caller { .. } => None,
            Self::Idp(err) => Some(format!("realm request failed: {err}")),
            Self::Store(err) => Some(format!("store failed: {err}")),
            Self::Crypto(err) => Some(format!("crypto failed: {err}")),
        };
        response.extensions_mut().insert(self.error_code());
        if let Some(detail) = detail {
            response
                .extensions_mut()
                .insert(super::access_log::FailureDetail(detail));
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
        let body = serde_json::json!({
            "error": self.0.code(),
            "error_description": self.0.public_message(),
        });
        let mut response = (self.0.status(), Json(body)).into_response();
        no_store(&mut response);
        self.0.annotate(&mut response);
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
        let body = serde_json::json!({
            "errors": { "user": { "message": self.0.public_message(), "code": self.0.code() } }
        });
        let mut response = (self.0.status(), Json(body)).into_response();
        no_store(&mut response);
        self.0.annotate(&mut response);
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
        let mut response = page::error_page(self.0.error_code(), &self.0.public_message(), None);
        self.0.annotate(&mut response);
        response
    }
}

/// Any path the broker does not serve.
pub async fn not_found() -> ApiError {
    ApiError(WebError::new(
        ErrorCode::NotFound,
        "No such endpoint. See the HTTP API reference (docs/src/reference/http-api.md).",
    ))
}

/// A handler panicked: answer 500 with a stable code; the panic is a bug.
pub fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!(code = "internal_error", "a request handler panicked");
    let body = serde_json::json!({"error": "internal_error", "error_description": "An internal error occurred."});
    let mut response = (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response();
    no_store(&mut response);
    response
}

/// A refusal that tells the browser its code and a debug id, nothing more: the
/// reason is in the audit row of that request id (a frame cannot tell a forged
/// token from an expired one). `explained` adds that reason, for a sandbox
/// tenant's refusals only (docs/src/embedded/host-tokens.md, "In the sandbox").
#[must_use]
pub fn opaque_refusal(code: ErrorCode, request_id: &str, explained: Option<&str>) -> Response {
    let mut body = serde_json::Map::new();
    body.insert("error".into(), code.as_str().into());
    body.insert("debug_id".into(), request_id.into());
    if let Some(reason) = explained {
        body.insert("reason".into(), reason.into());
    }
    let mut response = (code.status(), axum::Json(body)).into_response();
    response.extensions_mut().insert(code);
    no_store(&mut response);
    response
}
