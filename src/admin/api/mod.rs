//! `/admin/api/...`: administration over HTTP, authenticated with admin tokens.
//! Validation failures answer 422 with every field path and what to fix. Every
//! change is written to the audit trail and takes effect at once.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::console;
use super::ops::{Operator, OpsError};
use crate::app::AppState;
use crate::auth::{self, Outcome};
use crate::domain::FieldProblem;
use crate::http::client_addr::ClientAddr;
use crate::http::code::ErrorCode;
use crate::http::error::{ApiError, WebError};
use crate::http::request_id::RequestId;
use crate::store::StoreError;

pub mod audit_trail;
pub mod callers;
pub mod clients;
pub mod directory;
pub mod overview;
pub mod realms;
pub mod tenants;
pub mod tokens;

/// The authenticated administrator, as the audit trail names it, with the
/// request's address and id for the audit rows of its changes.
#[derive(Clone)]
pub struct Admin {
    /// `admin:<label>` or `console:<user>`.
    pub actor: String,
    /// The client's address.
    pub source: Option<String>,
    /// The request's id.
    pub request_id: Option<String>,
}

impl Admin {
    fn of(actor: String, request: &Request) -> Self {
        Self {
            actor,
            source: request
                .extensions()
                .get::<ClientAddr>()
                .map(|ClientAddr(ip)| ip.to_string()),
            request_id: request
                .extensions()
                .get::<RequestId>()
                .map(|RequestId(id)| id.clone()),
        }
    }
}

/// Errors of the admin API.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("the input does not validate")]
    /// The input does not validate (422, every problem in `fields`).
    Validation(Vec<FieldProblem>),
    #[error("{0}")]
    /// The entry does not exist (404).
    NotFound(String),
    #[error("{0}")]
    /// The entry exists, or is still in use (409).
    Conflict(String),
    #[error("{0}")]
    /// The request itself is malformed (400).
    BadRequest(String),
    #[error("{0}")]
    /// The configuration file owns the entry (409).
    ManagedByConfig(String),
    #[error(transparent)]
    /// Any other failure, rendered as every other API error.
    Web(#[from] WebError),
}

impl From<OpsError> for AdminError {
    fn from(err: OpsError) -> Self {
        match err {
            OpsError::Invalid(fields) => Self::Validation(fields),
            OpsError::NotFound(m) => Self::NotFound(m),
            OpsError::Exists(m) | OpsError::InUse(m) => Self::Conflict(m),
            OpsError::ManagedByConfig(m) => Self::ManagedByConfig(m),
            OpsError::NeedsBroker(m) => Self::BadRequest(m),
            OpsError::BadRows(problems) => Self::Validation(
                problems
                    .rows
                    .into_iter()
                    .map(|p| FieldProblem {
                        path: format!("line {}", p.line),
                        message: p.message,
                    })
                    .collect(),
            ),
            OpsError::Realm(e) => Self::Web(e.into()),
            OpsError::Sync(e) => {
                let message = e.to_string();
                let code = crate::http::error::WebError::from(e.source).error_code();
                Self::Web(crate::http::error::WebError::new(code, message))
            }
            OpsError::Crypto(e) => Self::Web(e.into()),
            OpsError::Store(e) => Self::Web(e.into()),
        }
    }
}

/// The operations layer, acting as `admin`.
pub(super) fn operator<'a>(app: &'a AppState, admin: &'a Admin) -> Operator<'a> {
    Operator {
        registry: &app.registry,
        directory: app.directory.as_ref(),
        access: app.access.as_ref(),
        tenants: app.durable.as_ref(),
        sessions: Some(app.logins.as_ref()),
        audit: app.audit.as_ref(),
        clock: app.clock.as_ref(),
        actor: &admin.actor,
        source: admin.source.as_deref(),
        request_id: admin.request_id.as_deref(),
        managed: &app.managed,
    }
}

impl From<StoreError> for AdminError {
    fn from(err: StoreError) -> Self {
        Self::Web(err.into())
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let (code, message, fields) = match self {
            Self::Validation(fields) => (
                ErrorCode::ValidationFailed,
                "Some fields are not valid: see fields.".to_owned(),
                fields,
            ),
            Self::NotFound(m) => (ErrorCode::NotFound, m, Vec::new()),
            Self::Conflict(m) => (ErrorCode::Conflict, m, Vec::new()),
            Self::BadRequest(m) => (ErrorCode::InvalidRequest, m, Vec::new()),
            Self::ManagedByConfig(m) => (ErrorCode::ManagedByConfig, m, Vec::new()),
            Self::Web(err) => return ApiError(err).into_response(),
        };
        let status = code.status();
        let code = code.as_str();
        tracing::info!(code, status = status.as_u16(), "admin request refused");
        let body = if fields.is_empty() {
            serde_json::json!({ "error": code, "error_description": message })
        } else {
            serde_json::json!({ "error": code, "error_description": message, "fields": fields })
        };
        let mut response = (status, Json(body)).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

pub(super) type AdminResult<T> = Result<T, AdminError>;

/// Parses a JSON body; type errors come back as 422 with the field's path.
pub(super) fn parse<T: DeserializeOwned>(body: &[u8]) -> AdminResult<T> {
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(AdminError::BadRequest(
            "The body must be one JSON object.".into(),
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            AdminError::BadRequest(format!(
                "The body is not valid JSON (line {}, column {}).",
                inner.line(),
                inner.column()
            ))
        } else {
            let message = inner.to_string();
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or_default()
                .to_owned();
            AdminError::Validation(vec![FieldProblem {
                path: if path == "." { String::new() } else { path },
                message,
            }])
        }
    })
}

/// Requires `Authorization: Bearer <admin token>`, or the console's session
/// cookie with its CSRF rule (a token, when sent, always decides).
pub async fn require_admin(
    State(app): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let header = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let session = if header.is_none() {
        match console::session::current(&app, request.headers()).await {
            Ok(session) => session,
            Err(err) => return ApiError(err.into()).into_response(),
        }
    } else {
        None
    };
    if let Some(session) = session {
        if let Err(refusal) =
            console::session::check(&app, &session, request.method(), request.headers(), None)
        {
            return ApiError(console::signin::csrf_error(&refusal)).into_response();
        }
        let admin = Admin::of(session.actor(), &request);
        request.extensions_mut().insert(admin);
        return next.run(request).await;
    }
    match auth::admin::authenticate(app.access.as_ref(), header, app.clock.now()).await {
        Ok(Outcome::Authenticated(label)) => {
            let admin = Admin::of(format!("admin:{label}"), &request);
            request.extensions_mut().insert(admin);
            next.run(request).await
        }
        Ok(Outcome::NotRequested | Outcome::Failed(_)) => {
            let mut response = ApiError(WebError::new(ErrorCode::Unauthenticated,
                "Send an admin token: Authorization: Bearer <token from `authproxy admin create-token`>.",
            ))
            .into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"authproxy-admin\""),
            );
            response
        }
        Err(err) => ApiError(err.into()).into_response(),
    }
}
