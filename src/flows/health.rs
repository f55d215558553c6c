//! `GET /healthz` (the process is up) and `GET /readyz` (this process can serve:
//! its store answers). A realm that is down does not make a replica unready (a
//! load balancer would then pull every replica at once); `/readyz?verbose` also
//! reports each realm's state, without changing the status.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;

/// `GET /healthz`: the process answers.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz[?verbose]`: the store answers; with `verbose`, each realm's state.
pub async fn readyz(State(app): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let verbose = query.as_deref().is_some_and(|q| {
        q.split('&')
            .any(|p| p == "verbose" || p.starts_with("verbose="))
    });
    let store = match app.logins.ping().await {
        Ok(()) => "ok".to_owned(),
        Err(err) => {
            tracing::warn!(error = %err, "store not ready");
            "unavailable".to_owned()
        }
    };
    let ready = store == "ok";
    let mut body = serde_json::Map::new();
    body.insert(
        "status".into(),
        (if ready { "ready" } else { "not_ready" }).into(),
    );
    body.insert("store".into(), store.into());
    if verbose {
        let mut realms = BTreeMap::new();
        for realm in app.registry.snapshot().realms.values() {
            let status = match app.idp.metadata(realm).await {
                Ok(_) => "ok".to_owned(),
                Err(err) => {
                    tracing::warn!(realm = %realm.name, error = %err, "realm not reachable");
                    err.to_string()
                }
            };
            realms.insert(realm.name.to_string(), status);
        }
        body.insert("realms".into(), serde_json::json!(realms));
    }
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}
