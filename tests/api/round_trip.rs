use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{
    CRM_ORIGIN, TestApp, TestConfig, confirmation_in, idp, jwt_claims, verify_against_realm_keys,
};

#[tokio::test]
async fn alice_round_trip_hands_over_tokens_once_to_the_verifier_holder() {
    alice_round_trip(TestApp::spawn().await).await;
}

#[tokio::test]
async fn alice_round_trip_on_postgres_and_redis() {
    let config = TestConfig::demo().on_postgres_and_redis().await;
    alice_round_trip(TestApp::start(config).await).await;
}

/// The whole login, checked at every step.
async fn alice_round_trip(app: TestApp) {
    let login = app.start_login("alice@tenant-a.test").await;
    let callback = app
        .sign_in_at_idp(&login.authorize_url, "alice@tenant-a.test", "alice")
        .await;
    assert_eq!(callback.path(), "/authproxy");
    assert_eq!(
        callback.query_pairs().find(|(k, _)| k == "iss").unwrap().1,
        idp().authority("tenant-a")
    );

    let page = app.browser.get(callback).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let headers = page.headers().clone();
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(headers.get("cross-origin-opener-policy").is_none());
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'nonce-"),
        "{csp}"
    );
    let html = page.text().await.unwrap();
    // The page posts to exactly the client's registered origins (the login's
    // first), with the txn and no token.
    assert!(
        html.contains(&format!("data-origin=\"{CRM_ORIGIN}\"")),
        "{html}"
    );
    assert!(
        html.contains(&format!("data-origins=\"{CRM_ORIGIN}\"")),
        "the demo client registers one origin: {html}"
    );
    assert!(html.contains(&format!("data-txn=\"{}\"", login.txn)));
    assert!(html.contains("target.postMessage(message, origin)"));
    assert!(html.contains("Login complete"));

    // The verifier alone releases nothing: the result waits for its confirmation.
    let unconfirmed = app
        .handoff("/api/handoff", &login.txn, &login.verifier)
        .await;
    assert_eq!(unconfirmed.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        unconfirmed.json::<Value>().await.unwrap()["error"],
        "confirmation_required"
    );
    let confirmed = app.confirm(&login.txn, &confirmation_in(&html)).await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    assert_eq!(
        confirmed.headers()["access-control-allow-origin"],
        CRM_ORIGIN
    );

    // A wrong verifier is refused and does not consume the result.
    let wrong = app
        .handoff("/api/handoff", &login.txn, &"w".repeat(43))
        .await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        wrong.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );

    let redeemed = app
        .handoff("/api/handoff", &login.txn, &login.verifier)
        .await;
    assert_eq!(redeemed.status(), StatusCode::OK);
    assert_eq!(redeemed.headers()["cache-control"], "no-store");
    assert_eq!(
        redeemed.headers()["access-control-allow-origin"],
        CRM_ORIGIN
    );
    let tokens: Value = redeemed.json().await.unwrap();
    assert!(!html.contains(tokens["access_token"].as_str().unwrap()));
    assert_eq!(tokens["authority"], idp().authority("tenant-a"));
    assert_eq!(tokens["client_id"], "localhost:8081");
    assert_eq!(tokens["username"], "alice");
    assert_eq!(tokens["token_type"], "Bearer");
    assert!(tokens["refresh_token"].as_str().is_some() && tokens["expires_in"].as_u64().is_some());
    let id_claims = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id_claims["preferred_username"], "alice");
    assert_eq!(id_claims["iss"], idp().authority("tenant-a"));
    let access_token = tokens["access_token"].as_str().unwrap();
    verify_against_realm_keys(access_token, "tenant-a").await;
    assert_eq!(jwt_claims(access_token)["preferred_username"], "alice");

    let second = app
        .handoff("/api/handoff", &login.txn, &login.verifier)
        .await;
    assert_eq!(second.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        second.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
}

#[tokio::test]
async fn repeated_wrong_verifiers_burn_the_login_result() {
    let app = TestApp::spawn().await;
    let login = app.start_login("alice@tenant-a.test").await;
    let callback = app
        .sign_in_at_idp(&login.authorize_url, "alice", "alice")
        .await;
    assert_eq!(
        app.browser.get(callback).send().await.unwrap().status(),
        StatusCode::OK
    );
    for _ in 0..3 {
        let wrong = app
            .handoff("/api/handoff", &login.txn, &"w".repeat(43))
            .await;
        assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    }
    let right = app
        .handoff("/api/handoff", &login.txn, &login.verifier)
        .await;
    assert_eq!(right.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        right.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
}

#[tokio::test]
async fn carol_round_trip_goes_through_corp_idp_and_ends_with_tenant_a_tokens() {
    let app = TestApp::spawn().await;
    let login = app.start_login("carol@corp.test").await;
    let callback = app
        .sign_in_at_idp(&login.authorize_url, "carol", "carol")
        .await;
    app.complete_and_confirm(callback, &login.txn).await;
    let tokens: Value = app
        .handoff("/api/handoff", &login.txn, &login.verifier)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tokens["authority"], idp().authority("tenant-a"));
    let id_claims = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(id_claims["iss"], idp().authority("tenant-a"));
    assert_eq!(id_claims["email"], "carol@corp.test");
    verify_against_realm_keys(tokens["access_token"].as_str().unwrap(), "tenant-a").await;
    // She signed in at corp-idp: the dev IdP counts the code redeemed there.
    let stats: Value = reqwest::get(format!("{}/_dev/stats", idp().base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(stats["corp-idp:authorization_code"].as_u64().unwrap() >= 1);
}
