//! Third-party SSO against the real Keycloak: an identity platform's token (the
//! Auth0 stand-in's) gets Keycloak tokens for a user Keycloak creates, and the
//! frame's logout with `keycloak_logout` ends that user's Keycloak sessions
//! through the Admin REST API (`POST /users/{id}/logout`).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::conformance::{broker, shared};
use crate::server::{keycloak, with_log};
use crate::support::providers::platforms;
use crate::support::{CLIENT_ID, CRM_ORIGIN, jwt_claims, verify_against_keys_of};

const DOMAIN: &str = "kc.eu.auth0.com";

async fn frame(app: &crate::support::TestApp, path: &str, body: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url(path))
        .header("origin", CRM_ORIGIN)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_platform_token_gets_keycloak_tokens_and_the_frames_logout_ends_the_keycloak_sessions() {
    with_log(async {
        let _kc = shared().await;
        let kc = keycloak();
        let app = broker().await;
        let admin = app.admin();
        let providers = json!([{"name": "auth0", "kind": "auth0", "domain": DOMAIN, "audience": "kc-app",
            "base_url": format!("{}/{DOMAIN}", platforms().auth0)}]);
        let put = admin
            .send_json(
                reqwest::Method::PUT,
                "/admin/api/tenants/reader",
                &json!({"environment": "production", "realm": "tenant-a", "clients": [CLIENT_ID], "provisioning": "create",
                        "sso": {"host_origin": "https://news.example", "providers": providers}}),
            )
            .await;
        assert_eq!(put.status(), StatusCode::OK);
        let sub = format!("auth0|{}", &authproxy::crypto::random_token().unwrap()[..10]);
        let issued: Value = reqwest::Client::new()
            .post(format!("{}/{DOMAIN}/issue", platforms().auth0))
            .json(&json!({"sub": sub, "aud": "kc-app", "name": "Kim Reader"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let started = frame(
            &app,
            "/api/embed/sso",
            &json!({"client_id": CLIENT_ID, "tenant": "reader", "provider": "auth0", "token": issued["id_token"]}),
        )
        .await;
        assert_eq!(started.status(), StatusCode::OK);
        let body: Value = started.json().await.unwrap();
        let access = body["keycloak"]["access_token"].as_str().unwrap();
        verify_against_keys_of(access, &kc.authority("tenant-a")).await;
        let user_id = jwt_claims(access)["sub"].as_str().unwrap().to_owned();
        let user: Value = kc.admin_get(&format!("tenant-a/users/{user_id}")).await;
        assert_eq!(user["firstName"], "Kim Reader");
        let sessions: Value = kc.admin_get(&format!("tenant-a/users/{user_id}/sessions")).await;
        assert!(!sessions.as_array().unwrap().is_empty(), "the exchange made a Keycloak session");

        let ended = frame(
            &app,
            "/api/embed/logout",
            &json!({"client_id": CLIENT_ID, "session_token": body["session_token"], "keycloak_logout": true}),
        )
        .await;
        assert_eq!(ended.status(), StatusCode::OK);
        let sessions: Value = kc.admin_get(&format!("tenant-a/users/{user_id}/sessions")).await;
        assert_eq!(sessions, json!([]), "Keycloak's sessions of the user are over");
    })
    .await;
}
