//! `/admin/api/...`: administration over HTTP, authenticated with admin tokens.
//! Validation failures answer 422 with every field path and what to fix. Every
//! change is written to the audit trail and takes effect at once.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa::{IntoParams, ToSchema};

use super::ops::{
    self, CallerInput, CallerView, ClientInput, ClientView, PolicyInput, RealmInput, RealmView,
    RuleInput,
};
use super::sync::{SyncChange, sync_clients};
use crate::auth::{self, Outcome};
use crate::domain::{CallerId, ClientId, FieldProblem, RealmName};
use crate::http::AppState;
use crate::http::error::{ApiError, WebError};
use crate::store::{AuditEntry, StoreError};

/// The authenticated administrator, as the audit trail names it.
#[derive(Clone)]
pub struct Admin(pub String);

/// Errors of the admin API.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("the input does not validate")]
    Validation(Vec<FieldProblem>),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Web(#[from] WebError),
}

impl From<StoreError> for AdminError {
    fn from(err: StoreError) -> Self {
        Self::Web(err.into())
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let (status, code, message, fields) = match self {
            Self::Validation(fields) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                "Some fields are not valid: see fields.".to_owned(),
                fields,
            ),
            Self::NotFound(m) => (StatusCode::NOT_FOUND, "not_found", m, Vec::new()),
            Self::Conflict(m) => (StatusCode::CONFLICT, "conflict", m, Vec::new()),
            Self::BadRequest(m) => (StatusCode::BAD_REQUEST, "invalid_request", m, Vec::new()),
            Self::Web(err) => return ApiError(err).into_response(),
        };
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

type AdminResult<T> = Result<T, AdminError>;

/// Parses a JSON body; type errors come back as 422 with the field's path.
fn parse<T: DeserializeOwned>(body: &[u8]) -> AdminResult<T> {
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

/// Requires `Authorization: Bearer <admin token>`.
pub async fn require_admin(
    State(app): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let header = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match auth::admin::authenticate(app.access.as_ref(), header).await {
        Ok(Outcome::Authenticated(label)) => {
            request
                .extensions_mut()
                .insert(Admin(format!("admin:{label}")));
            next.run(request).await
        }
        Ok(Outcome::NotRequested | Outcome::Failed(_)) => {
            let mut response = ApiError(WebError::caller(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
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

async fn audit(app: &AppState, admin: &Admin, action: &str, subject: &str) -> AdminResult<()> {
    Ok(ops::record(
        app.audit.as_ref(),
        &admin.0,
        action,
        subject,
        app.clock.now(),
    )
    .await?)
}

/// Registered clients.
#[utoipa::path(get, path = "/admin/api/clients", responses((status = 200, body = [ClientView])), security(("admin_token" = [])))]
pub async fn list_clients(State(app): State<AppState>) -> Json<Vec<ClientView>> {
    let registry = app.registry.snapshot();
    let mut clients: Vec<ClientView> = registry.clients.values().map(ClientView::from).collect();
    clients.sort_by(|a, b| a.client_id.cmp(&b.client_id));
    Json(clients)
}

/// Registers a client; it can log users in at once.
#[utoipa::path(post, path = "/admin/api/clients", request_body = ClientInput,
    responses((status = 201, body = ClientView), (status = 409), (status = 422)), security(("admin_token" = [])))]
pub async fn create_client(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    body: Bytes,
) -> AdminResult<(StatusCode, Json<ClientView>)> {
    let input: ClientInput = parse(&body)?;
    let client = input
        .validate(&app.registry.snapshot())
        .map_err(AdminError::Validation)?;
    if app.registry.snapshot().clients.contains_key(&client.id) {
        return Err(AdminError::Conflict(format!(
            "Client {} exists: PUT /admin/api/clients/{} to change it.",
            client.id, client.id
        )));
    }
    app.registry.put_client(&client).await?;
    audit(&app, &admin, "client.create", client.id.as_str()).await?;
    Ok((StatusCode::CREATED, Json(ClientView::from(&client))))
}

/// Replaces a client.
#[utoipa::path(put, path = "/admin/api/clients/{client_id}", request_body = ClientInput,
    responses((status = 200, body = ClientView), (status = 422)), security(("admin_token" = [])))]
pub async fn put_client(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    Path(id): Path<String>,
    body: Bytes,
) -> AdminResult<Json<ClientView>> {
    let input: ClientInput = parse(&body)?;
    if input.client_id != id {
        return Err(AdminError::Validation(vec![FieldProblem {
            path: "client_id".into(),
            message: "must equal the client ID in the URL".into(),
        }]));
    }
    let client = input
        .validate(&app.registry.snapshot())
        .map_err(AdminError::Validation)?;
    app.registry.put_client(&client).await?;
    audit(&app, &admin, "client.update", client.id.as_str()).await?;
    Ok(Json(ClientView::from(&client)))
}

/// Removes a client.
#[utoipa::path(delete, path = "/admin/api/clients/{client_id}", responses((status = 204), (status = 404)), security(("admin_token" = [])))]
pub async fn delete_client(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    Path(id): Path<String>,
) -> AdminResult<StatusCode> {
    let id = ClientId::parse(&id).map_err(|e| AdminError::NotFound(e.to_string()))?;
    if !app.registry.delete_client(&id).await? {
        return Err(AdminError::NotFound(format!("No client {id}.")));
    }
    audit(&app, &admin, "client.delete", id.as_str()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
pub struct SyncQuery {
    /// Only this realm.
    realm: Option<String>,
    /// Report what would change without changing it.
    #[serde(default)]
    dry_run: bool,
}

/// Makes every registered client exist in its Keycloak realms (never deletes).
#[utoipa::path(post, path = "/admin/api/clients/sync", params(SyncQuery),
    responses((status = 200, body = [SyncChange])), security(("admin_token" = [])))]
pub async fn sync(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    Query(query): Query<SyncQuery>,
) -> AdminResult<Json<Vec<SyncChange>>> {
    let realm = query
        .realm
        .map(|r| {
            RealmName::parse(&r).map_err(|e| {
                AdminError::Validation(vec![FieldProblem {
                    path: "realm".into(),
                    message: e.to_string(),
                }])
            })
        })
        .transpose()?;
    // Include changes the CLI made in the last second.
    app.registry.reload_if_changed().await?;
    let changes = sync_clients(
        app.keycloak_admin.as_ref(),
        &app.registry.snapshot(),
        &app.public_url,
        realm.as_ref(),
        query.dry_run,
    )
    .await
    .map_err(|e| AdminError::Web(e.source.into()))?;
    if !query.dry_run {
        for change in changes.iter().filter(|c| c.action != "unchanged") {
            audit(
                &app,
                &admin,
                &format!("keycloak.client.{}", change.action),
                &format!("{}/{}", change.realm, change.client_id),
            )
            .await?;
        }
    }
    Ok(Json(changes))
}

/// Configured realms.
#[utoipa::path(get, path = "/admin/api/realms", responses((status = 200, body = [RealmView])), security(("admin_token" = [])))]
pub async fn list_realms(State(app): State<AppState>) -> Json<Vec<RealmView>> {
    let registry = app.registry.snapshot();
    let mut realms: Vec<RealmView> = registry.realms.values().map(RealmView::from).collect();
    realms.sort_by(|a, b| a.name.cmp(&b.name));
    Json(realms)
}

/// Adds or replaces a realm.
#[utoipa::path(put, path = "/admin/api/realms/{name}", request_body = RealmInput,
    responses((status = 200, body = RealmView), (status = 422)), security(("admin_token" = [])))]
pub async fn put_realm(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    Path(name): Path<String>,
    body: Bytes,
) -> AdminResult<Json<RealmView>> {
    let input: RealmInput = parse(&body)?;
    if input.name != name {
        return Err(AdminError::Validation(vec![FieldProblem {
            path: "name".into(),
            message: "must equal the realm name in the URL".into(),
        }]));
    }
    let realm = input.validate().map_err(AdminError::Validation)?;
    app.registry.put_realm(&realm).await?;
    audit(&app, &admin, "realm.put", realm.name.as_str()).await?;
    Ok(Json(RealmView::from(&realm)))
}

/// Removes a realm no client uses.
#[utoipa::path(delete, path = "/admin/api/realms/{name}", responses((status = 204), (status = 404), (status = 409)), security(("admin_token" = [])))]
pub async fn delete_realm(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    Path(name): Path<String>,
) -> AdminResult<StatusCode> {
    let name = RealmName::parse(&name).map_err(|e| AdminError::NotFound(e.to_string()))?;
    if let Some(client) = app
        .registry
        .snapshot()
        .clients
        .values()
        .find(|c| c.allows_realm(&name))
    {
        return Err(AdminError::Conflict(format!(
            "Client {} uses realm {name}: change it first.",
            client.id
        )));
    }
    if !app.registry.delete_realm(&name).await? {
        return Err(AdminError::NotFound(format!("No realm {name}.")));
    }
    audit(&app, &admin, "realm.delete", name.as_str()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds or replaces one directory rule.
#[utoipa::path(post, path = "/admin/api/directory/rules", request_body = RuleInput,
    responses((status = 204), (status = 422)), security(("admin_token" = [])))]
pub async fn put_rule(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    body: Bytes,
) -> AdminResult<StatusCode> {
    let input: RuleInput = parse(&body)?;
    let rule = input
        .validate(&app.registry.snapshot())
        .map_err(AdminError::Validation)?;
    app.directory.upsert_rules(vec![rule]).await?;
    audit(
        &app,
        &admin,
        "directory.put",
        &format!("{}:{}", input.kind, input.key),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Removes one directory rule (`kind` and `key`).
#[utoipa::path(delete, path = "/admin/api/directory/rules", request_body = RuleInput,
    responses((status = 204), (status = 404)), security(("admin_token" = [])))]
pub async fn delete_rule(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    body: Bytes,
) -> AdminResult<StatusCode> {
    let input: RuleInput = parse(&body)?;
    let key = input.key().map_err(AdminError::Validation)?;
    if !app.directory.delete_rule(&key).await? {
        return Err(AdminError::NotFound("No such rule.".into()));
    }
    audit(
        &app,
        &admin,
        "directory.delete",
        &format!("{}:{}", input.kind, input.key),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
pub struct ImportQuery {
    /// Empty the directory first (in the same transaction).
    #[serde(default)]
    replace: bool,
}

/// Imports CSV rules (`kind,key,realm,idp_hint`), all or nothing.
#[utoipa::path(post, path = "/admin/api/directory/import", params(ImportQuery), request_body(content = String, content_type = "text/csv"),
    responses((status = 200), (status = 422)), security(("admin_token" = [])))]
pub async fn import_directory(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    Query(query): Query<ImportQuery>,
    body: Bytes,
) -> AdminResult<Json<serde_json::Value>> {
    let realms = app.registry.snapshot().realms.keys().cloned().collect();
    let reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(body.as_ref());
    let rules = super::directory_csv::parse_rows(reader, &realms)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| match e {
            StoreError::InvalidRow { line, message } => {
                AdminError::Validation(vec![FieldProblem {
                    path: format!("line {line}"),
                    message,
                }])
            }
            other => other.into(),
        })?;
    let count = app.directory.replace_rules(rules, query.replace).await?;
    audit(
        &app,
        &admin,
        if query.replace {
            "directory.replace"
        } else {
            "directory.import"
        },
        &format!("{count} rules"),
    )
    .await?;
    Ok(Json(serde_json::json!({ "imported": count })))
}

/// Every directory rule, as CSV.
#[utoipa::path(get, path = "/admin/api/directory/export", responses((status = 200, content_type = "text/csv", body = String)), security(("admin_token" = [])))]
pub async fn export_directory(State(app): State<AppState>) -> AdminResult<Response> {
    let csv = app.directory.export_csv().await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        csv,
    )
        .into_response())
}

/// Impersonation callers.
#[utoipa::path(get, path = "/admin/api/callers", responses((status = 200, body = [CallerView])), security(("admin_token" = [])))]
pub async fn list_callers(State(app): State<AppState>) -> AdminResult<Json<Vec<CallerView>>> {
    Ok(Json(
        app.access
            .callers()
            .await?
            .iter()
            .map(CallerView::from)
            .collect(),
    ))
}

/// Creates a caller; the answer shows its secret, this once.
#[utoipa::path(post, path = "/admin/api/callers", request_body = CallerInput,
    responses((status = 201, body = CallerView), (status = 409), (status = 422)), security(("admin_token" = [])))]
pub async fn create_caller(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    body: Bytes,
) -> AdminResult<(StatusCode, Json<CallerView>)> {
    let input: CallerInput = parse(&body)?;
    let (id, policy) = input
        .validate(&app.registry.snapshot())
        .map_err(AdminError::Validation)?;
    if app.access.caller(&id).await?.is_some() {
        return Err(AdminError::Conflict(format!("Caller {id} exists.")));
    }
    let view = ops::create_caller(app.access.as_ref(), id.clone(), policy, app.clock.now()).await?;
    audit(&app, &admin, "caller.create", id.as_str()).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Replaces a caller's policy.
#[utoipa::path(put, path = "/admin/api/callers/{caller_id}/policy", request_body = PolicyInput,
    responses((status = 200, body = CallerView), (status = 404), (status = 422)), security(("admin_token" = [])))]
pub async fn put_policy(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    Path(id): Path<String>,
    body: Bytes,
) -> AdminResult<Json<CallerView>> {
    let input: PolicyInput = parse(&body)?;
    let id = CallerId::parse(&id).map_err(|e| AdminError::NotFound(e.to_string()))?;
    let mut caller = app
        .access
        .caller(&id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("No caller {id}.")))?;
    caller.policy = input
        .validate(&app.registry.snapshot())
        .map_err(AdminError::Validation)?;
    app.access.put_caller(&caller).await?;
    audit(&app, &admin, "caller.policy", id.as_str()).await?;
    Ok(Json(CallerView::from(&caller)))
}

/// Removes a caller.
#[utoipa::path(delete, path = "/admin/api/callers/{caller_id}", responses((status = 204), (status = 404)), security(("admin_token" = [])))]
pub async fn delete_caller(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    Path(id): Path<String>,
) -> AdminResult<StatusCode> {
    let id = CallerId::parse(&id).map_err(|e| AdminError::NotFound(e.to_string()))?;
    if !app.access.delete_caller(&id).await? {
        return Err(AdminError::NotFound(format!("No caller {id}.")));
    }
    audit(&app, &admin, "caller.delete", id.as_str()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
pub struct AuditQuery {
    /// Only rows at or after this time (RFC 3339).
    since: Option<DateTime<Utc>>,
    /// Only rows of this caller.
    caller: Option<String>,
    /// At most this many rows (default 1000).
    limit: Option<u32>,
}

/// The audit trail, oldest first.
#[utoipa::path(get, path = "/admin/api/audit", params(AuditQuery), responses((status = 200, body = [AuditRow])), security(("admin_token" = [])))]
pub async fn read_audit(
    State(app): State<AppState>,
    Query(query): Query<AuditQuery>,
) -> AdminResult<Json<Vec<AuditEntry>>> {
    let actor = query.caller.map(|c| format!("caller:{c}"));
    Ok(Json(
        app.audit
            .audit_since(
                query.since,
                actor.as_deref(),
                query.limit.unwrap_or(1000).min(100_000),
            )
            .await?,
    ))
}

/// The audit row as the OpenAPI document describes it.
#[derive(ToSchema)]
#[allow(dead_code)] // schema only
pub struct AuditRow {
    at: DateTime<Utc>,
    actor: String,
    action: String,
    subject: Option<String>,
    realm: Option<String>,
    audience: Option<String>,
    outcome: String,
    reason: Option<String>,
    source: Option<String>,
    request_id: Option<String>,
    token_jti: Option<String>,
    token_expires_at: Option<DateTime<Utc>>,
}

/// The routes under `/admin/api`, all behind [`require_admin`] but the OpenAPI document.
pub fn routes(state: AppState) -> Router<AppState> {
    use axum::routing::{get, post, put};
    Router::new()
        .route("/admin/api/clients", get(list_clients).post(create_client))
        .route("/admin/api/clients/sync", post(sync))
        .route(
            "/admin/api/clients/{client_id}",
            put(put_client).delete(delete_client),
        )
        .route("/admin/api/realms", get(list_realms))
        .route(
            "/admin/api/realms/{name}",
            put(put_realm).delete(delete_realm),
        )
        .route(
            "/admin/api/directory/rules",
            post(put_rule).delete(delete_rule),
        )
        .route("/admin/api/directory/import", post(import_directory))
        .route("/admin/api/directory/export", get(export_directory))
        .route("/admin/api/callers", get(list_callers).post(create_caller))
        .route(
            "/admin/api/callers/{caller_id}",
            axum::routing::delete(delete_caller),
        )
        .route("/admin/api/callers/{caller_id}/policy", put(put_policy))
        .route("/admin/api/audit", get(read_audit))
        .route_layer(axum::middleware::from_fn_with_state(state, require_admin))
        .route("/admin/api/openapi.json", get(super::openapi::document))
}
