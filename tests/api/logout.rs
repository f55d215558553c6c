use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{CLIENT_ID, CRM_ORIGIN, TestApp, assert_refused_page, idp};

#[tokio::test]
async fn logout_sends_the_browser_to_the_realms_end_session_endpoint_with_the_hint() {
    let app = TestApp::spawn().await;
    let login = app.start_login("alice@tenant-a.test").await;
    let callback = app
        .sign_in_at_idp(&login.authorize_url, "alice", "alice")
        .await;
    app.browser.get(callback).send().await.unwrap();
    let tokens: Value = app
        .handoff("/api/handoff", &login.txn, &login.verifier)
        .await
        .json()
        .await
        .unwrap();
    let id_token = tokens["id_token"].as_str().unwrap();

    let response = app
        .browser
        .get(app.url("/logout"))
        .query(&[
            ("client_id", CLIENT_ID),
            ("origin", CRM_ORIGIN),
            ("id_token_hint", id_token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(&format!(
        "{}/protocol/openid-connect/logout?",
        idp().authority("tenant-a")
    )));
    let params: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(params["id_token_hint"], id_token);
    assert_eq!(params["client_id"], CLIENT_ID);
    assert_eq!(params["post_logout_redirect_uri"], app.url("/logged-out"));

    let done = app
        .browser
        .get(app.url("/logged-out"))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    assert!(done.text().await.unwrap().contains("You are logged out"));
}

#[tokio::test]
async fn logout_refuses_unregistered_origins_and_tokens_of_unconfigured_issuers() {
    let app = TestApp::spawn().await;
    // A syntactically valid JWT naming an issuer that is not a configured realm.
    let foreign = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2V2aWwuZXhhbXBsZS9yZWFsbXMveCJ9.c2ln";
    let evil = app
        .browser
        .get(app.url("/logout"))
        .query(&[
            ("client_id", CLIENT_ID),
            ("origin", CRM_ORIGIN),
            ("id_token_hint", foreign),
        ])
        .send()
        .await
        .unwrap();
    assert_refused_page(evil, StatusCode::BAD_REQUEST, "unknown_issuer").await;
    let wrong_origin = app
        .browser
        .get(app.url("/logout"))
        .query(&[
            ("client_id", CLIENT_ID),
            ("origin", "http://evil.test"),
            ("id_token_hint", foreign),
        ])
        .send()
        .await
        .unwrap();
    assert_refused_page(wrong_origin, StatusCode::BAD_REQUEST, "origin_not_allowed").await;
}
