//! `GET /healthz` (the process is up) and `GET /readyz` (the store answers and
//! every realm's metadata has been fetched).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;

/// `GET /healthz`: the process answers.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: the store answers.
pub async fn readyz(State(app): State<AppState>) -> Response {
    let store = match app.logins.ping().await {
        Ok(()) => "ok".to_owned(),
        Err(err) => {
            tracing::warn!(error = %err, "store not ready");
            "unavailable".to_owned()
        }
    };
    let mut realms = BTreeMap::new();
    for realm in app.registry.snapshot().realms.values() {
        let status = match app.idp.metadata(realm).await {
            Ok(_) => "ok".to_owned(),
            Err(err) => {
                tracing::warn!(realm = %realm.name, error = %err, "realm not ready");
                err.to_string()
            }
        };
        realms.insert(realm.name.to_string(), status);
    }
    let ready = store == "ok" && realms.values().all(|s| s == "ok");
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "status": if ready { "ready" } else { "not_ready" },
        "store": store,
        "realms": realms,
    });
    (status, Json(body)).into_response()
}
