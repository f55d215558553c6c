//! Realms: the Keycloak realms the broker may use.

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;

use super::{Admin, AdminError, AdminResult, operator, parse};
use crate::app::AppState;
use crate::domain::FieldProblem;
use crate::registry::input::{RealmInput, RealmView};

/// Configured realms.
#[utoipa::path(get, path = "/admin/api/realms", responses((status = 200, body = [RealmView])), security(("admin_token" = [])))]
pub async fn list_realms(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
) -> Json<Vec<RealmView>> {
    Json(operator(&app, &admin).list_realms())
}

/// Adds or replaces a realm.
#[utoipa::path(put, path = "/admin/api/realms/{name}", request_body = RealmInput,
    responses((status = 200, body = RealmView), (status = 409), (status = 422)), security(("admin_token" = [])))]
pub async fn put_realm(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> AdminResult<Json<RealmView>> {
    // `?check=false` saves a realm that does not answer yet.
    let check = !query
        .as_deref()
        .is_some_and(|q| q.split('&').any(|p| p == "check=false"));
    let input: RealmInput = parse(&body)?;
    if input.name != name {
        return Err(AdminError::Validation(vec![FieldProblem {
            path: "name".into(),
            message: "must equal the realm name in the URL".into(),
        }]));
    }
    let realm = operator(&app, &admin)
        .put_realm(&input, check.then_some(app.idp.as_ref()))
        .await?;
    // Saved after its check passed: it is up, as the health page says at once.
    if check {
        app.record_realm_health(&realm, Ok(()));
    }
    Ok(Json(RealmView::from(&realm)))
}

/// Removes a realm no client uses.
#[utoipa::path(delete, path = "/admin/api/realms/{name}", responses((status = 204), (status = 404), (status = 409)), security(("admin_token" = [])))]
pub async fn delete_realm(
    State(app): State<AppState>,
    Extension(admin): Extension<Admin>,
    Path(name): Path<String>,
) -> AdminResult<StatusCode> {
    operator(&app, &admin).delete_realm(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}
