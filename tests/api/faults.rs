//! IdP faults, injected by a mock realm (the only place a mock is used): metadata
//! and token endpoint down, slow, failing, malformed or huge. The broker must
//! answer in bounded time with 502/503/504 and stable codes, serve the last good
//! metadata within its lifetime, recover without a restart, and never redeem a
//! code twice.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode as AxumStatus;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{CRM_ORIGIN, TestApp, assert_refused_page};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    Slow,
    ServerError,
    InvalidJson,
    Huge,
    WrongIssuer,
}

#[derive(Clone)]
struct Mock {
    base: String,
    fault: Arc<Mutex<Fault>>,
    token_requests: Arc<AtomicUsize>,
}

impl Mock {
    fn set(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
    }
}

async fn faulty(mock: &Mock, good: Value) -> Response {
    let fault = *mock.fault.lock().unwrap();
    match fault {
        Fault::None => axum::Json(good).into_response(),
        Fault::Slow => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            axum::Json(good).into_response()
        }
        Fault::ServerError => AxumStatus::INTERNAL_SERVER_ERROR.into_response(),
        Fault::InvalidJson => {
            ([("content-type", "application/json")], "{\"issuer\": ").into_response()
        }
        Fault::Huge => (
            [("content-type", "application/json")],
            "x".repeat(10 * 1024 * 1024),
        )
            .into_response(),
        Fault::WrongIssuer => {
            let mut other = good;
            other["issuer"] = json!("https://evil.example/realms/faulty");
            axum::Json(other).into_response()
        }
    }
}

async fn metadata(State(mock): State<Mock>) -> Response {
    let issuer = format!("{}/realms/faulty", mock.base);
    let good = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/protocol/openid-connect/auth"),
        "token_endpoint": format!("{issuer}/protocol/openid-connect/token"),
        "jwks_uri": format!("{issuer}/protocol/openid-connect/certs"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    });
    faulty(&mock, good).await
}

async fn token(State(mock): State<Mock>) -> Response {
    mock.token_requests.fetch_add(1, Ordering::SeqCst);
    faulty(&mock, json!({"error": "unused"})).await
}

async fn start_mock() -> Mock {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mock = Mock {
        base: format!("http://{}", listener.local_addr().unwrap()),
        fault: Arc::new(Mutex::new(Fault::None)),
        token_requests: Arc::new(AtomicUsize::new(0)),
    };
    let app = Router::new()
        .route(
            "/realms/faulty/.well-known/openid-configuration",
            get(metadata),
        )
        .route("/realms/faulty/protocol/openid-connect/token", post(token))
        .with_state(mock.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    mock
}

async fn app_with(mock: &Mock) -> TestApp {
    TestApp::spawn_with(&format!(
        "[idp]\ntimeout_secs = 1\n[[realms]]\nname = \"faulty\"\nauthority = \"{}/realms/faulty\"\n\
         [[clients]]\nclient_id = \"faulty.localhost\"\nrealms = [\"faulty\"]\norigins = [\"{CRM_ORIGIN}\"]\n\
         [[directory.domains]]\ndomain = \"faulty.test\"\nrealm = \"faulty\"\n",
        mock.base
    ))
    .await
}

async fn login(app: &TestApp) -> reqwest::Response {
    app.browser
        .get(app.url("/login"))
        .query(&[
            ("client_id", "faulty.localhost"),
            ("user", "u@faulty.test"),
            ("origin", CRM_ORIGIN),
            ("txn", &"t".repeat(43)),
            ("txn_challenge", &"c".repeat(43)),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn each_metadata_fault_answers_in_bounded_time_with_its_code() {
    let mock = start_mock().await;
    let app = app_with(&mock).await;
    for (fault, status, code) in [
        (Fault::Slow, StatusCode::GATEWAY_TIMEOUT, "realm_timeout"),
        (Fault::ServerError, StatusCode::BAD_GATEWAY, "realm_error"),
        (
            Fault::InvalidJson,
            StatusCode::BAD_GATEWAY,
            "realm_invalid_response",
        ),
        (
            Fault::Huge,
            StatusCode::BAD_GATEWAY,
            "realm_invalid_response",
        ),
        (
            Fault::WrongIssuer,
            StatusCode::BAD_GATEWAY,
            "realm_issuer_mismatch",
        ),
    ] {
        mock.set(fault);
        let started = Instant::now();
        assert_refused_page(login(&app).await, status, code).await;
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{code} took {:?}",
            started.elapsed()
        );
    }
    // The realm's trouble shows in readiness; liveness is unaffected.
    let ready = app.browser.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = ready.json().await.unwrap();
    assert_ne!(body["realms"]["faulty"], "ok");
    assert_eq!(
        app.browser
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // Back to health, without a restart.
    mock.set(Fault::None);
    assert_eq!(login(&app).await.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn last_good_metadata_is_served_while_the_realm_fails() {
    let mock = start_mock().await;
    let app = app_with(&mock).await;
    assert_eq!(login(&app).await.status(), StatusCode::FOUND);
    mock.set(Fault::ServerError);
    app.clock.advance(chrono::TimeDelta::minutes(6)); // past the metadata's freshness
    assert_eq!(
        login(&app).await.status(),
        StatusCode::FOUND,
        "stale metadata keeps logins working"
    );
    app.clock.advance(chrono::TimeDelta::hours(25)); // past the stale limit
    assert_refused_page(login(&app).await, StatusCode::BAD_GATEWAY, "realm_error").await;
}

#[tokio::test]
async fn a_failing_token_endpoint_is_a_502_and_the_code_is_sent_once() {
    let mock = start_mock().await;
    let app = app_with(&mock).await;
    let response = login(&app).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    let state = location
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    mock.set(Fault::ServerError);
    let callback = app
        .browser
        .get(app.url("/authproxy"))
        .query(&[
            ("code", "a-code"),
            ("state", &state),
            ("iss", &format!("{}/realms/faulty", mock.base)),
        ])
        .send()
        .await
        .unwrap();
    // The token endpoint failed after metadata came from cache: 502, one attempt only.
    assert_refused_page(callback, StatusCode::BAD_GATEWAY, "realm_error").await;
    assert_eq!(
        mock.token_requests.load(Ordering::SeqCst),
        1,
        "a code is never redeemed twice"
    );
}
