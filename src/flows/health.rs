//! `GET /` for a person with a browser, `GET /healthz` (the process is up), `GET /readyz` (this process can serve:
//! its durable store and its login store answer, and it is not shutting down)
//! and `GET /healthz/realms` (each realm's last health check: up or down, since
//! when, the last error). A realm that is down does not make a replica unready
//! (a load balancer would then pull every replica at once); `/readyz?verbose`
//! asks every realm at once and includes them, without changing the status.

use askama::Template;
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::http::page;

/// The page a person sees who opens the service's address in a browser.
#[derive(Template)]
#[template(path = "home.html")]
struct HomeView<'a> {
    nonce: &'a str,
    version: &'a str,
}

/// `GET /`: for a browser (it accepts `text/html`), a page saying what this
/// service is and where administrators go; for anything else, the API's 404.
pub async fn home(headers: HeaderMap) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if !wants_html {
        return crate::http::error::not_found().await.into_response();
    }
    let nonce = page::nonce();
    let view = HomeView {
        nonce: &nonce,
        version: env!("CARGO_PKG_VERSION"),
    };
    page::render(StatusCode::OK, &view, &nonce)
}

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
    let draining = app.draining.load(std::sync::atomic::Ordering::SeqCst);
    let stores_ok = durable == "ok" && logins == "ok";
    let ready = stores_ok && !draining;
    let store = if stores_ok { "ok" } else { "unavailable" };
    let mut body = serde_json::Map::new();
    body.insert(
        "status".into(),
        (if ready { "ready" } else { "not_ready" }).into(),
    );
    body.insert("store".into(), store.into());
    body.insert("durable_store".into(), durable.into());
    body.insert("login_store".into(), logins.into());
    if draining {
        body.insert("draining".into(), true.into());
    }
    if verbose {
        // Asked now, for the person reading it; recorded like the periodic checks.
        check_every_realm(&app).await;
        body.insert(
            "realms".into(),
            serde_json::json!(app.realm_health.snapshot()),
        );
    }
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut response = (status, Json(body)).into_response();
    if !stores_ok {
        response
            .extensions_mut()
            .insert(crate::http::code::ErrorCode::StoreUnavailable);
    } else if draining {
        // The probe doing its job, not a failure to log at every probe.
        response
            .extensions_mut()
            .insert(crate::http::access_log::Expected);
    }
    response
}

/// Asks every configured realm for its metadata now, and records each answer
/// (the realm's state and the `realm_up` metric); forgets realms no longer
/// configured. The periodic check and `/readyz?verbose` both use it.
pub async fn check_every_realm(app: &AppState) {
    let snapshot = app.registry.snapshot();
    app.realm_health
        .retain(|name| snapshot.realms.values().any(|r| r.name.as_str() == name));
    for realm in snapshot.realms.values() {
        // Recorded there; a failure is reported by the realm's state.
        let _ = app.check_realm(realm).await;
    }
}

/// `GET /healthz/realms`: each realm's state as the last health check saw it
/// (checked every 30 seconds). Always 200: it reports, it does not gate.
pub async fn realms(State(app): State<AppState>) -> Response {
    Json(serde_json::json!({ "realms": app.realm_health.snapshot() })).into_response()
}
