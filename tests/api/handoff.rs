use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{CLIENT_ID, CRM_ORIGIN, TestApp, confirmation_in};

#[tokio::test]
async fn handoff_wait_started_before_the_callback_returns_the_result_when_it_completes() {
    let app = TestApp::spawn().await;
    let login = app.start_login("alice@tenant-a.test").await;
    let callback = app
        .sign_in_at_idp(&login.authorize_url, "alice", "alice")
        .await;

    let waiting = {
        let browser = app.browser.clone();
        let url = app.url("/api/handoff/wait");
        let body = serde_json::json!({"client_id": CLIENT_ID, "txn": login.txn, "txn_verifier": login.verifier});
        tokio::spawn(async move {
            browser
                .post(url)
                .header("origin", CRM_ORIGIN)
                .json(&body)
                .send()
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "the wait must hold until the login completes"
    );

    let page = app.browser.get(callback).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiting.is_finished(),
        "a completed login stays held until it is confirmed"
    );
    assert_eq!(
        app.confirm(&login.txn, &confirmation_in(&html))
            .await
            .status(),
        StatusCode::OK
    );
    let response = tokio::time::timeout(Duration::from_secs(3), waiting)
        .await
        .expect("woken at once")
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        CRM_ORIGIN
    );
    let tokens: Value = response.json().await.unwrap();
    assert!(tokens["access_token"].as_str().is_some());
}

#[tokio::test]
async fn handoff_wait_answers_pending_when_nothing_happens() {
    let app = TestApp::spawn().await;
    let login = app.start_login("alice@tenant-a.test").await;
    let response = app
        .handoff("/api/handoff/wait", &login.txn, &login.verifier)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        serde_json::json!({"pending": true})
    );
    let now = app
        .handoff("/api/handoff", &login.txn, &login.verifier)
        .await;
    // Nothing is stored before the callback: not completed yet reads as unknown.
    assert_eq!(now.status(), StatusCode::BAD_REQUEST);
    assert_eq!(now.json::<Value>().await.unwrap()["error"], "invalid_grant");
}

#[tokio::test]
async fn handoff_from_an_origin_not_registered_for_the_client_is_refused_without_cors() {
    let app = TestApp::spawn().await;
    let login = app.start_login("alice@tenant-a.test").await;
    let callback = app
        .sign_in_at_idp(&login.authorize_url, "alice", "alice")
        .await;
    app.complete_and_confirm(callback, &login.txn).await;
    let foreign = app
        .browser
        .post(app.url("/api/handoff"))
        .header("origin", "http://localhost:9999")
        .json(&serde_json::json!({"client_id": CLIENT_ID, "txn": login.txn, "txn_verifier": login.verifier}))
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    assert!(
        foreign
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    // The result is still there for the rightful page.
    assert_eq!(
        app.handoff("/api/handoff", &login.txn, &login.verifier)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn handoff_preflight_allows_registered_origins_only_and_never_credentials() {
    let app = TestApp::spawn().await;
    let preflight = |origin: &'static str| {
        app.browser
            .request(reqwest::Method::OPTIONS, app.url("/api/handoff/wait"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let ok = preflight(CRM_ORIGIN).await.unwrap();
    assert_eq!(ok.status(), StatusCode::NO_CONTENT);
    assert_eq!(ok.headers()["access-control-allow-origin"], CRM_ORIGIN);
    assert!(
        ok.headers()
            .get("access-control-allow-credentials")
            .is_none()
    );
    let refused = preflight("http://evil.test").await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn handoff_rejects_malformed_bodies_with_400() {
    let app = TestApp::spawn().await;
    for body in [
        "",
        "{",
        "[]",
        "[\"aaaaaaaaaaaaaaaa\", \"x\"]",
        "{\"txn\": 5, \"txn_verifier\": \"x\"}",
        "{\"txn\": \"aaaaaaaaaaaaaaaa\"}",
        "{\"txn\":\"aaaaaaaaaaaaaaaa\",\"txn_verifier\":\"short\"}",
    ] {
        let response = app
            .browser
            .post(app.url("/api/handoff"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(
            response.json::<Value>().await.unwrap()["error"],
            "invalid_request",
            "{body}"
        );
    }
}

#[tokio::test]
async fn handoff_wait_started_before_the_popup_reaches_login_still_gets_the_result() {
    let app = TestApp::spawn().await;
    let txn = authproxy::crypto::random_token().unwrap();
    let verifier = authproxy::crypto::random_token().unwrap();
    let waiting = {
        let browser = app.browser.clone();
        let url = app.url("/api/handoff/wait");
        let body =
            serde_json::json!({"client_id": CLIENT_ID, "txn": txn, "txn_verifier": verifier});
        tokio::spawn(async move {
            browser
                .post(url)
                .header("origin", CRM_ORIGIN)
                .json(&body)
                .send()
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let response = app
        .login_response(
            "alice@tenant-a.test",
            CRM_ORIGIN,
            &txn,
            &authproxy::crypto::sha256_b64url(&verifier),
        )
        .await;
    let authorize_url = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    let callback = app.sign_in_at_idp(&authorize_url, "alice", "alice").await;
    app.complete_and_confirm(callback, &txn).await;
    let response = tokio::time::timeout(Duration::from_secs(4), waiting)
        .await
        .expect("woken at once")
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .is_some()
    );
    // Redeemed means closed: a second wait is refused at once, not held.
    let again = app.handoff("/api/handoff/wait", &txn, &verifier).await;
    assert_eq!(
        again.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
}
