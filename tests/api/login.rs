use std::collections::HashMap;

use authproxy::crypto;
use reqwest::StatusCode;

use crate::support::{CLIENT_ID, CRM_ORIGIN, TestApp, TestConfig, assert_refused_page, idp};

/// Every query parameter of `url`, asserting each appears exactly once.
fn single_params(url: &url::Url) -> HashMap<String, String> {
    let mut params = HashMap::new();
    for (name, value) in url.query_pairs() {
        assert!(
            params.insert(name.to_string(), value.to_string()).is_none(),
            "{name} appears twice"
        );
    }
    params
}

#[tokio::test]
async fn login_for_carol_redirects_to_tenant_a_with_idp_hint_pkce_and_exact_redirect_uri() {
    let app = TestApp::spawn().await;
    let login = app.start_login("carol@corp.test").await;
    let url = &login.authorize_url;
    assert_eq!(
        format!("{}://{}{}", url.scheme(), url.authority(), url.path()),
        format!(
            "{}/protocol/openid-connect/auth",
            idp().authority("tenant-a")
        )
    );
    let params = single_params(url);
    assert_eq!(params["response_type"], "code");
    assert_eq!(params["response_mode"], "query");
    assert_eq!(params["client_id"], CLIENT_ID);
    assert_eq!(params["redirect_uri"], app.url("/authproxy"));
    assert_eq!(params["scope"], "openid");
    assert_eq!(params["login_hint"], "carol@corp.test");
    assert_eq!(params["kc_idp_hint"], "corp-idp");
    assert_eq!(params["code_challenge_method"], "S256");
    assert_eq!(params["code_challenge"].len(), 43);
    assert!(params["state"].len() >= 43 && params["nonce"].len() >= 43);
}

#[tokio::test]
async fn login_for_alice_has_no_idp_hint() {
    let app = TestApp::spawn().await;
    let login = app.start_login("alice@tenant-a.test").await;
    let params = single_params(&login.authorize_url);
    assert_eq!(params["login_hint"], "alice@tenant-a.test");
    assert!(!params.contains_key("kc_idp_hint"));
}

#[tokio::test]
async fn login_sets_an_httponly_lax_binding_cookie() {
    let app = TestApp::spawn().await;
    let verifier = crypto::random_token().unwrap();
    let response = app
        .login_response(
            "alice@tenant-a.test",
            CRM_ORIGIN,
            &crypto::random_token().unwrap(),
            &crypto::sha256_b64url(&verifier),
        )
        .await;
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("authproxy-login-"), "{cookie}");
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
            && cookie.contains("Max-Age=600")
    );
    assert_eq!(response.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn login_from_an_origin_not_registered_for_the_client_gets_a_403_page_and_no_redirect() {
    let app = TestApp::spawn().await;
    let challenge = crypto::sha256_b64url(&crypto::random_token().unwrap());
    let txn = crypto::random_token().unwrap();
    for origin in [
        "http://localhost:8082",
        "http://localhost:8081/",
        "https://localhost:8081",
        "http://LOCALHOST:8081",
        "http://evil.test",
    ] {
        let response = app
            .login_response("alice@tenant-a.test", origin, &txn, &challenge)
            .await;
        assert_refused_page(response, StatusCode::FORBIDDEN, "origin_not_allowed").await;
    }
}

#[tokio::test]
async fn login_refuses_unknown_clients_users_and_users_not_enabled_for_sso() {
    let app = TestApp::spawn().await;
    let challenge = crypto::sha256_b64url(&crypto::random_token().unwrap());
    let txn = crypto::random_token().unwrap();
    let unknown_client = app
        .browser
        .get(app.url("/login"))
        .query(&[
            ("client_id", "evil.test"),
            ("user", "alice@tenant-a.test"),
            ("origin", CRM_ORIGIN),
            ("txn", &txn),
            ("txn_challenge", &challenge),
        ])
        .send()
        .await
        .unwrap();
    assert_refused_page(unknown_client, StatusCode::BAD_REQUEST, "unknown_client").await;
    let legacy = app
        .login_response("legacy@tenant-a.test", CRM_ORIGIN, &txn, &challenge)
        .await;
    assert_refused_page(legacy, StatusCode::FORBIDDEN, "sso_not_enabled").await;
    let nobody = app
        .login_response("nobody@nowhere.test", CRM_ORIGIN, &txn, &challenge)
        .await;
    assert_refused_page(nobody, StatusCode::NOT_FOUND, "unknown_user").await;
    let bad_challenge = app
        .login_response("alice@tenant-a.test", CRM_ORIGIN, &txn, "short")
        .await;
    assert_refused_page(bad_challenge, StatusCode::BAD_REQUEST, "invalid_txn").await;
}

#[tokio::test]
async fn login_for_an_unreachable_realm_is_a_502_page() {
    let app = TestApp::start(
        TestConfig::demo()
            .realm("down", "http://127.0.0.1:9/realms/down")
            .client("down.localhost", &["down"], &[CRM_ORIGIN])
            .domain("down.test", "down"),
    )
    .await;
    let challenge = crypto::sha256_b64url(&crypto::random_token().unwrap());
    let response = app
        .browser
        .get(app.url("/login"))
        .query(&[
            ("client_id", "down.localhost"),
            ("user", "x@down.test"),
            ("origin", CRM_ORIGIN),
            ("txn", &crypto::random_token().unwrap()),
            ("txn_challenge", &challenge),
        ])
        .send()
        .await
        .unwrap();
    assert_refused_page(response, StatusCode::BAD_GATEWAY, "realm_unreachable").await;
}
