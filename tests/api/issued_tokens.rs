//! Impersonation hands out only a token that matches the request. A mock realm
//! (fault injection only) answers the exchange with crafted tokens: another
//! subject, no acting party, another audience, a lifetime beyond `expires_in`; and
//! with users it does or does not know through Admin REST.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, State};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestApp, TestConfig, code_of};

const USER_ID: &str = "5f1e0b8e-0000-4000-8000-0000000000d1";

/// Edits an exchanged token's claims and its `expires_in`.
type Craft = fn(&mut serde_json::Map<String, Value>, &mut u64);

/// The mock realm's own clock: a server apart from the broker.
fn realm_now() -> i64 {
    use authproxy::clock::Clock as _;
    authproxy::clock::SystemClock.now().timestamp()
}

#[derive(Clone)]
struct Mock {
    base: String,
    /// Edits the good exchanged token's claims (and `expires_in`) before answering.
    craft: Arc<Mutex<Craft>>,
    subjects: Arc<Mutex<Vec<String>>>,
    /// `expires_in` of the service-account token.
    service_expires_in: Arc<Mutex<Value>>,
    /// How each token request authenticated: "basic" or "post".
    auth_seen: Arc<Mutex<Vec<&'static str>>>,
}

fn unsigned(claims: &Value) -> String {
    format!(
        "{}.{}.c2ln",
        B64.encode(br#"{"alg":"RS256","typ":"JWT"}"#),
        B64.encode(claims.to_string())
    )
}

async fn metadata(State(mock): State<Mock>) -> axum::Json<Value> {
    let issuer = format!("{}/realms/exch", mock.base);
    axum::Json(json!({
        "issuer": issuer, "authorization_endpoint": format!("{issuer}/auth"),
        "token_endpoint": format!("{issuer}/token"), "jwks_uri": format!("{issuer}/certs"),
        "response_types_supported": ["code"], "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

async fn token(
    State(mock): State<Mock>,
    headers: axum::http::HeaderMap,
    body: String,
) -> axum::Json<Value> {
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
    let basic = headers
        .get("authorization")
        .is_some_and(|v| v.to_str().unwrap().starts_with("Basic "));
    let post = form.get("client_id").map(String::as_str) == Some("b")
        && form.get("client_secret").map(String::as_str) == Some("s");
    mock.auth_seen.lock().unwrap().push(match (basic, post) {
        (true, false) => "basic",
        (false, true) => "post",
        _ => "confused",
    });
    if form["grant_type"] == "client_credentials" {
        let expires_in = mock.service_expires_in.lock().unwrap().clone();
        return axum::Json(
            json!({"access_token": "service", "token_type": "Bearer", "expires_in": expires_in}),
        );
    }
    mock.subjects
        .lock()
        .unwrap()
        .push(form["requested_subject"].clone());
    let now = realm_now();
    let mut claims = json!({"sub": form["requested_subject"], "aud": form.get("audience").cloned().unwrap_or("account".into()),
        "exp": now + 300, "iat": now, "jti": "j1", "azp": "b"});
    let mut expires_in = 300;
    (mock.craft.lock().unwrap())(claims.as_object_mut().unwrap(), &mut expires_in);
    axum::Json(
        json!({"access_token": unsigned(&claims), "token_type": "Bearer", "expires_in": expires_in,
        "issued_token_type": "urn:ietf:params:oauth:token-type:access_token"}),
    )
}

async fn users(
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> axum::Json<Value> {
    let known = query.get("email").map(String::as_str) == Some("dana@exch.test")
        || query.get("username").map(String::as_str) == Some("dana");
    axum::Json(if known {
        json!([{"id": USER_ID, "username": "dana", "email": "dana@exch.test"}])
    } else {
        json!([])
    })
}

async fn setup() -> (TestApp, Mock, String) {
    setup_with(&[]).await
}

/// The mock realm `exch` with its broker client and `realm_keys`.
async fn setup_with(realm_keys: &[(&str, &str)]) -> (TestApp, Mock, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mock = Mock {
        base: format!("http://{}", listener.local_addr().unwrap()),
        craft: Arc::new(Mutex::new(|_, _| {})),
        subjects: Arc::default(),
        service_expires_in: Arc::new(Mutex::new(json!(300))),
        auth_seen: Arc::default(),
    };
    let router = Router::new()
        .route(
            "/realms/exch/.well-known/openid-configuration",
            get(metadata),
        )
        .route("/realms/exch/token", post(token))
        .route("/admin/realms/exch/users", get(users))
        .with_state(mock.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let mut keys = vec![("broker_client_id", "b"), ("broker_client_secret", "s")];
    keys.extend_from_slice(realm_keys);
    let app = TestApp::start(
        TestConfig::demo()
            .realm_with("exch", &format!("{}/realms/exch", mock.base), &keys)
            .domain("exch.test", "exch"),
    )
    .await;
    let admin = app.admin();
    let secret = admin
        .create_caller(
            "backend",
            json!({"realms": ["exch"], "all_users_of": ["exch"], "audiences": ["webphone"]}),
        )
        .await;
    (app, mock, secret)
}

async fn ask(app: &TestApp, secret: &str, user: &str) -> (StatusCode, Value) {
    let response = app
        .impersonate(
            "backend",
            secret,
            json!({"user": user, "audience": "webphone"}),
        )
        .await;
    (response.status(), response.json().await.unwrap())
}

#[tokio::test]
async fn the_realm_user_is_found_by_email_and_the_exchange_names_its_id() {
    let (app, mock, secret) = setup().await;
    let (status, body) = ask(&app, &secret, "dana@exch.test").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        *mock.subjects.lock().unwrap(),
        vec![USER_ID.to_owned()],
        "the id, not the email"
    );

    let (status, body) = ask(&app, &secret, "nobody@exch.test").await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_user"))
    );
    let audit = app.admin().audit().await;
    assert!(
        audit.iter().any(|row| row["subject"] == "nobody@exch.test"
            && row["outcome"] == "denied"
            && row["reason"] == "the realm has no such user"),
        "{audit:?}"
    );
}

#[tokio::test]
async fn a_token_that_does_not_match_the_request_is_not_handed_out() {
    let (app, mock, secret) = setup().await;
    let crafts: [(&str, Craft); 6] = [
        ("another subject", |c, _| {
            c.insert("sub".into(), json!("someone-else"));
        }),
        ("no acting party", |c, _| {
            c.remove("azp");
        }),
        ("issued to another party", |c, _| {
            c.insert("azp".into(), json!("someone-elses-client"));
        }),
        ("another audience", |c, _| {
            c.insert("aud".into(), json!("admin-console"));
        }),
        ("exp years beyond expires_in", |c, _| {
            c.insert("exp".into(), json!(realm_now() + 5 * 365 * 86_400));
        }),
        ("no exp", |c, _| {
            c.remove("exp");
        }),
    ];
    for (name, craft) in crafts {
        *mock.craft.lock().unwrap() = craft;
        let (status, body) = ask(&app, &secret, "dana@exch.test").await;
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{name}: {body}");
        assert_eq!(body["error"], "realm_token_mismatch", "{name}");
        assert!(body.get("access_token").is_none(), "{name}");
    }
    let audit = app.admin().audit().await;
    let refused = audit
        .iter()
        .filter(|row| {
            row["outcome"] == "failed"
                && row["reason"]
                    .as_str()
                    .is_some_and(|r| r.starts_with("issued token refused"))
        })
        .count();
    assert_eq!(refused, 6, "{audit:?}");
    // An RFC 8693 `act` names the acting party as well as Keycloak's `azp` does.
    *mock.craft.lock().unwrap() = |c, _| {
        c.remove("azp");
        c.insert("act".into(), json!({"sub": "service-account-b"}));
    };
    assert_eq!(ask(&app, &secret, "dana@exch.test").await.0, StatusCode::OK);
    // An audience given as a list containing the one asked for is fine.
    *mock.craft.lock().unwrap() = |c, _| {
        c.insert("aud".into(), json!(["account", "webphone"]));
    };
    assert_eq!(ask(&app, &secret, "dana@exch.test").await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_json_array_body_issues_nothing() {
    let (app, _mock, secret) = setup().await;
    let response = app
        .browser
        .post(app.url("/api/impersonation"))
        .basic_auth("backend", Some(&secret))
        .header("content-type", "application/json")
        .body(r#"["dana@exch.test"]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        code_of(response).await,
        (StatusCode::BAD_REQUEST, "invalid_request".into())
    );
}

#[tokio::test]
async fn a_huge_negative_or_fractional_expires_in_is_a_clear_502_not_a_panic() {
    let (app, mock, secret) = setup().await;
    for value in [
        json!(u64::MAX),
        json!(9_223_372_036_854_775_807_u64),
        json!(-300),
        json!(1.5),
        json!("300"),
        json!(0),
    ] {
        *mock.service_expires_in.lock().unwrap() = value.clone();
        let (status, body) = ask(&app, &secret, "dana@exch.test").await;
        assert_eq!(status, StatusCode::BAD_GATEWAY, "{value}: {body}");
        assert_eq!(body["error"], "realm_invalid_response", "{value}");
    }
    *mock.service_expires_in.lock().unwrap() = json!(300);
    assert_eq!(
        ask(&app, &secret, "dana@exch.test").await.0,
        StatusCode::OK,
        "recovers"
    );
}

#[tokio::test]
async fn client_secret_post_sends_the_secret_in_the_form_and_basic_stays_the_default() {
    let (app, mock, secret) = setup().await;
    assert_eq!(ask(&app, &secret, "dana@exch.test").await.0, StatusCode::OK);
    assert_eq!(*mock.auth_seen.lock().unwrap(), vec!["basic", "basic"]);

    let (app, mock, secret) =
        setup_with(&[("token_endpoint_auth_method", "client_secret_post")]).await;
    assert_eq!(ask(&app, &secret, "dana@exch.test").await.0, StatusCode::OK);
    assert_eq!(
        *mock.auth_seen.lock().unwrap(),
        vec!["post", "post"],
        "service token and exchange"
    );
    let realms: Value = app.admin().get_json("/admin/api/realms").await;
    let exch = realms
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "exch")
        .unwrap();
    assert_eq!(exch["token_endpoint_auth_method"], "client_secret_post");
}
