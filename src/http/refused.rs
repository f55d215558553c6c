//! One refusal for the embedded calls (host API and frame): a stable code, a
//! message that says what to fix, and the reason the request's audit row
//! records. Handlers return `Result<_, Refused>` and use `?`; the audit
//! wrapper reads the reason back from the response (docs/src/developers/architecture.md).

use std::borrow::Cow;

use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};

use super::code::ErrorCode;
use super::error::{ApiError, PageError, WebError, opaque_refusal};

/// A refused (or failed) embedded call.
#[derive(Debug)]
pub struct Refused {
    error: WebError,
    reason: Option<Cow<'static, str>>,
    headers: Vec<(HeaderName, HeaderValue)>,
    /// Set for an opaque refusal: the answer names the code and this id only.
    debug_id: Option<String>,
    /// An opaque refusal that also says its reason (a sandbox tenant's).
    explained: bool,
}

/// Why a call was refused, for its audit row: a response extension that
/// [`Refused`] sets and the audit wrapper reads.
#[derive(Debug, Clone)]
pub struct AuditReason(pub Cow<'static, str>);

impl Refused {
    /// A refusal with `code` and what to fix.
    #[must_use]
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        WebError::new(code, message).into()
    }

    /// `400 invalid_request`: the request is malformed; `message` says how.
    #[must_use]
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }

    /// A refusal that tells the browser its code and a debug id, nothing more:
    /// the reason is in the audit row of that request id (a frame cannot tell a
    /// forged token from an expired one).
    #[must_use]
    pub fn opaque(code: ErrorCode, request_id: &str) -> Self {
        Self {
            debug_id: Some(request_id.to_owned()),
            ..Self::new(code, code.meaning())
        }
    }

    /// `400 invalid_request` about one field: `sub: <the rule it breaks>`.
    #[must_use]
    pub fn field(field: &str, rule: impl std::fmt::Display) -> Self {
        Self::invalid(format!("{field}: {rule}"))
    }

    /// `403 operation_not_allowed`.
    #[must_use]
    pub fn not_allowed(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::OperationNotAllowed, message)
    }

    /// The same opaque refusal, its answer saying the audit reason too: only for
    /// a sandbox tenant's refusals, whose reasons help the app being built.
    #[must_use]
    pub fn explained(mut self) -> Self {
        self.explained = true;
        self
    }

    /// The same refusal, its audit row saying `reason`.
    #[must_use]
    pub fn because(mut self, reason: impl Into<Cow<'static, str>>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// The same refusal with a header (`Retry-After`, `WWW-Authenticate`).
    #[must_use]
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The stable code.
    #[must_use]
    pub fn code(&self) -> ErrorCode {
        self.error.error_code()
    }
}

impl<E: Into<WebError>> From<E> for Refused {
    fn from(err: E) -> Self {
        Self {
            error: err.into(),
            reason: None,
            headers: Vec::new(),
            debug_id: None,
            explained: false,
        }
    }
}

/// A refusal shown as a page (a form posted by a browser): its code and
/// message; the audit reason stays with the caller.
impl From<Refused> for PageError {
    fn from(refused: Refused) -> Self {
        Self(refused.error)
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let mut response = match self.debug_id {
            Some(id) => {
                let said = self.explained.then_some(self.reason.as_deref()).flatten();
                opaque_refusal(self.error.error_code(), &id, said)
            }
            None => ApiError(self.error).into_response(),
        };
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        if let Some(reason) = self.reason {
            response.extensions_mut().insert(AuditReason(reason));
        }
        response
    }
}
