//! `GET /healthz` (the process is up) and `GET /readyz` (this process can serve:
//! its durable store and its login store answer). A realm that is down does not make a replica unready (a
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

/// `GET /readyz[?verbose]`: the stores answer; with `verbose`, each realm's state.
pub async fn readyz(State(app): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let verbose = query.as_deref().is_some_and(|q| {
        q.split('&')
            .any(|p| p == "verbose" || p.starts_with("verbose="))
    });
    let (durable, logins) = tokio::join!(app.durable.ping(), app.logins.ping());
    let status_of = |name: &str, result: Result<(), crate::store::StoreError>| match result {
        Ok(()) => "ok",
        Err(err) => {
            tracing::warn!(store = name, error = %err, "store not ready");
            "unavailable"
        }
    };
    let durable = status_of("durable", durable);
    let logins = status_of("logins", logins);
    let ready = durable == "ok" && logins == "ok";
    let store = if ready { "ok" } else { "unavailable" };
    let mut body = serde_json::Map::new();
    body.insert(
        "status".into(),
        (if ready { "ready" } else { "not_ready" }).into(),
    );
    body.insert("store".into(), store.into());
    body.insert("durable_store".into(), durable.into());
    body.insert("login_store".into(), logins.into());
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
