//! IdP faults, injected by a mock realm (the only place a mock is used): realm
//! metadata, JWKS and token endpoint each down, slow, failing, malformed or huge.
//! The broker must answer in bounded time with 502/504 and stable codes, serve the
//! last good metadata and keys within their lifetime, recover without a restart,
//! and never redeem a code twice.

use std::collections::HashMap;
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

use crate::id_tokens::{jwk, keys, return_from_realm, signed};
use crate::support::{CRM_ORIGIN, TestApp, TestConfig, assert_error_page};

const CLIENT: &str = "faulty.localhost";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fault {
    None,
    /// Nothing listens: the metadata names a closed port for this endpoint.
    Down,
    Slow,
    ServerError,
    InvalidJson,
    Huge,
    WrongIssuer,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Endpoint {
    Metadata,
    Jwks,
    Token,
}

/// Each fault but `WrongIssuer` (metadata only), with the answer it must get.
const FAULTS: [(Fault, StatusCode, &str); 5] = [
    (Fault::Down, StatusCode::BAD_GATEWAY, "realm_unreachable"),
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
];

#[derive(Clone)]
struct Mock {
    base: String,
    /// A port nothing listens on.
    down: String,
    faults: Arc<Mutex<HashMap<Endpoint, Fault>>>,
    id_token: Arc<Mutex<String>>,
    token_requests: Arc<AtomicUsize>,
}

impl Mock {
    fn set(&self, endpoint: Endpoint, fault: Fault) {
        self.faults.lock().unwrap().insert(endpoint, fault);
    }

    fn fault(&self, endpoint: Endpoint) -> Fault {
        *self
            .faults
            .lock()
            .unwrap()
            .get(&endpoint)
            .unwrap_or(&Fault::None)
    }

    fn issuer(&self) -> String {
        format!("{}/realms/faulty", self.base)
    }

    /// Where `endpoint` lives: on the mock, or on the closed port when it is down.
    fn url(&self, endpoint: Endpoint, path: &str) -> String {
        let base = if self.fault(endpoint) == Fault::Down {
            &self.down
        } else {
            &self.base
        };
        format!("{base}/realms/faulty/protocol/openid-connect/{path}")
    }
}

/// Answers `good`, or the fault set for `endpoint`.
async fn faulty(mock: &Mock, endpoint: Endpoint, good: Value) -> Response {
    match mock.fault(endpoint) {
        // A down endpoint is never reached: the metadata points elsewhere.
        Fault::None | Fault::Down => axum::Json(good).into_response(),
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
    let issuer = mock.issuer();
    let good = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/protocol/openid-connect/auth"),
        "token_endpoint": mock.url(Endpoint::Token, "token"),
        "jwks_uri": mock.url(Endpoint::Jwks, "certs"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    });
    faulty(&mock, Endpoint::Metadata, good).await
}

async fn certs(State(mock): State<Mock>) -> Response {
    let good = json!({"keys": [jwk(&keys()[0].0, &keys()[0].1)]});
    faulty(&mock, Endpoint::Jwks, good).await
}

async fn token(State(mock): State<Mock>) -> Response {
    mock.token_requests.fetch_add(1, Ordering::SeqCst);
    let good = json!({"access_token": "at", "token_type": "Bearer", "expires_in": 300,
                      "id_token": mock.id_token.lock().unwrap().clone()});
    faulty(&mock, Endpoint::Token, good).await
}

/// A port that was free a moment ago and that nothing listens on.
async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

async fn start_mock_on(listener: tokio::net::TcpListener) -> Mock {
    let mock = Mock {
        base: format!("http://{}", listener.local_addr().unwrap()),
        down: format!("http://127.0.0.1:{}", closed_port().await),
        faults: Arc::default(),
        id_token: Arc::default(),
        token_requests: Arc::default(),
    };
    let app = Router::new()
        .route(
            "/realms/faulty/.well-known/openid-configuration",
            get(metadata),
        )
        .route("/realms/faulty/protocol/openid-connect/certs", get(certs))
        .route("/realms/faulty/protocol/openid-connect/token", post(token))
        .with_state(mock.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    mock
}

async fn start_mock() -> Mock {
    start_mock_on(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()).await
}

async fn app_for(base: &str) -> TestApp {
    TestApp::start(
        TestConfig::demo()
            .idp_timeout_secs(1)
            .realm("faulty", &format!("{base}/realms/faulty"))
            .client(CLIENT, &["faulty"], &[CRM_ORIGIN])
            .domain("faulty.test", "faulty"),
    )
    .await
}

async fn login(app: &TestApp) -> reqwest::Response {
    app.browser
        .get(app.url("/login"))
        .query(&[
            ("client_id", CLIENT),
            ("user", "u@faulty.test"),
            ("origin", CRM_ORIGIN),
            ("txn", &authproxy::crypto::random_token().unwrap()),
            ("txn_challenge", &"c".repeat(43)),
        ])
        .send()
        .await
        .unwrap()
}

/// Logs in and returns from the realm with a code; the mock's token endpoint
/// (when healthy) answers a good ID token for this login.
async fn callback(app: &TestApp, mock: &Mock) -> reqwest::Response {
    return_from_realm(
        app,
        (CLIENT, "u@faulty.test"),
        &mock.issuer(),
        &mock.id_token,
        |claims| signed(claims, |_| {}),
    )
    .await
}

/// Asserts `response` is the refusal page with `status` and `code`, started at `started`
/// and answered within 4 s (the IdP timeout is 1 s).
async fn assert_bounded_refusal(
    started: Instant,
    response: reqwest::Response,
    status: StatusCode,
    code: &str,
) {
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{code} took {:?}",
        started.elapsed()
    );
    assert_error_page(response, status, code).await;
}

#[tokio::test]
async fn each_metadata_fault_answers_in_bounded_time_with_its_code() {
    let mock = start_mock().await;
    let app = app_for(&mock.base).await;
    let faults = FAULTS
        .into_iter()
        .filter(|(fault, ..)| *fault != Fault::Down) // a realm that is down: the next test
        .chain([(
            Fault::WrongIssuer,
            StatusCode::BAD_GATEWAY,
            "realm_issuer_mismatch",
        )]);
    for (fault, status, code) in faults {
        mock.set(Endpoint::Metadata, fault);
        let started = Instant::now();
        assert_bounded_refusal(started, login(&app).await, status, code).await;
    }
    // The realm's trouble shows in the verbose readiness report, but does not make
    // this process unready (every replica would be pulled at once); liveness holds.
    let ready = app.browser.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let verbose = app
        .browser
        .get(app.url("/readyz?verbose"))
        .send()
        .await
        .unwrap();
    assert_eq!(verbose.status(), StatusCode::OK);
    let body: Value = verbose.json().await.unwrap();
    assert_eq!(body["realms"]["faulty"]["status"], "down", "{body}");
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
    mock.set(Endpoint::Metadata, Fault::None);
    assert_eq!(callback(&app, &mock).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_realm_that_is_down_is_a_fast_502_until_it_comes_back() {
    let port = closed_port().await;
    let app = app_for(&format!("http://127.0.0.1:{port}")).await;
    let started = Instant::now();
    assert_bounded_refusal(
        started,
        login(&app).await,
        StatusCode::BAD_GATEWAY,
        "realm_unreachable",
    )
    .await;
    let report = app.get_json("/readyz?verbose").await;
    assert_eq!(
        report["status"], "ready",
        "a realm down leaves the process ready"
    );
    assert_eq!(report["realms"]["faulty"]["status"], "down", "{report}");
    assert!(
        report["realms"]["faulty"]["last_error"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "{report}"
    );

    // The realm comes up on its port: logins work again, without a restart.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let mock = start_mock_on(listener).await;
    assert_eq!(callback(&app, &mock).await.status(), StatusCode::OK);
    let report = app.get_json("/readyz?verbose").await;
    assert_eq!(report["realms"]["faulty"]["status"], "up", "{report}");
    assert!(
        report["realms"]["faulty"].get("last_error").is_none(),
        "{report}"
    );
    // The same report, as the periodic checks left it, without asking again.
    let realms = app.get_json("/healthz/realms").await;
    assert_eq!(realms["realms"]["faulty"]["status"], "up", "{realms}");
}

#[tokio::test]
async fn each_jwks_fault_answers_in_bounded_time_and_recovers() {
    for (fault, status, code) in FAULTS {
        // A new realm each time: no keys cached yet.
        let mock = start_mock().await;
        mock.set(Endpoint::Jwks, fault);
        let app = app_for(&mock.base).await;
        let started = Instant::now();
        assert_bounded_refusal(started, callback(&app, &mock).await, status, code).await;
        if fault != Fault::Down {
            mock.set(Endpoint::Jwks, Fault::None);
            assert_eq!(
                callback(&app, &mock).await.status(),
                StatusCode::OK,
                "recovers from {fault:?}"
            );
        }
    }
}

#[tokio::test]
async fn last_good_metadata_and_keys_serve_while_the_realm_fails() {
    let mock = start_mock().await;
    let app = app_for(&mock.base).await;
    assert_eq!(callback(&app, &mock).await.status(), StatusCode::OK);
    mock.set(Endpoint::Metadata, Fault::ServerError);
    mock.set(Endpoint::Jwks, Fault::ServerError);
    app.clock.advance(chrono::TimeDelta::minutes(11)); // past both freshness lifetimes
    assert_eq!(
        callback(&app, &mock).await.status(),
        StatusCode::OK,
        "stale metadata and keys keep logins working"
    );
    app.clock.advance(chrono::TimeDelta::hours(25)); // past the stale limit
    assert_error_page(login(&app).await, StatusCode::BAD_GATEWAY, "realm_error").await;
    // Metadata back, keys still failing and too old to serve.
    mock.set(Endpoint::Metadata, Fault::None);
    assert_error_page(
        callback(&app, &mock).await,
        StatusCode::BAD_GATEWAY,
        "realm_error",
    )
    .await;
    mock.set(Endpoint::Jwks, Fault::None);
    assert_eq!(callback(&app, &mock).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn each_token_endpoint_fault_is_bounded_and_the_code_is_sent_at_most_once() {
    for (fault, status, code) in FAULTS {
        let mock = start_mock().await;
        mock.set(Endpoint::Token, fault);
        let app = app_for(&mock.base).await;
        let started = Instant::now();
        assert_bounded_refusal(started, callback(&app, &mock).await, status, code).await;
        let expected = usize::from(fault != Fault::Down);
        assert_eq!(
            mock.token_requests.load(Ordering::SeqCst),
            expected,
            "{fault:?}: a code is never redeemed twice"
        );
        if fault != Fault::Down {
            mock.set(Endpoint::Token, Fault::None);
            assert_eq!(callback(&app, &mock).await.status(), StatusCode::OK);
        }
    }
}
