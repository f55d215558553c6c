use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{CRM_ORIGIN, TestApp, idp};

async fn discovered(app: &TestApp, user: &str) -> Value {
    let response = app.discover(user).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.unwrap()
}

#[tokio::test]
async fn discovery_sends_alice_to_tenant_a_with_local_login() {
    let app = TestApp::spawn().await;
    let body = discovered(&app, "Alice@Tenant-A.test").await;
    assert_eq!(
        body,
        serde_json::json!([{"user": "alice@tenant-a.test", "authority": idp().authority("tenant-a"), "authorityIdPHint": null}])
    );
}

#[tokio::test]
async fn discovery_gives_carol_the_corp_idp_hint_through_her_domain() {
    let app = TestApp::spawn().await;
    let body = discovered(&app, "carol@corp.test").await;
    assert_eq!(body[0]["authority"], idp().authority("tenant-a"));
    assert_eq!(body[0]["authorityIdPHint"], "corp-idp");
}

#[tokio::test]
async fn discovery_reports_a_known_but_not_migrated_user_with_null_authority() {
    let app = TestApp::spawn().await;
    let body = discovered(&app, "legacy@tenant-a.test").await;
    assert_eq!(
        body,
        serde_json::json!([{"user": "legacy@tenant-a.test", "authority": null, "authorityIdPHint": null}])
    );
}

#[tokio::test]
async fn discovery_of_an_unknown_user_is_404_in_the_errors_shape() {
    let app = TestApp::spawn().await;
    let response = app.discover("nobody@nowhere.test").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"]["user"]["code"], "unknown_user");
    assert!(body["errors"]["user"]["message"].as_str().unwrap().len() > 10);
}

#[tokio::test]
async fn discovery_does_not_match_domain_suffixes_or_fold_unicode() {
    let app = TestApp::spawn().await;
    for user in [
        "dave@sub.corp.test",
        "dave@corp.test.evil",
        "dave@corp.tes\u{0442}",
    ] {
        assert_eq!(
            app.discover(user).await.status(),
            StatusCode::NOT_FOUND,
            "{user}"
        );
    }
}

#[tokio::test]
async fn discovery_rejects_each_malformed_username_with_400_saying_what_is_wrong() {
    let app = TestApp::spawn().await;
    let long = format!("{}@tenant-a.test", "a".repeat(320));
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "missing"),
        ("user=".into(), "empty"),
        (format!("user={long}"), "longer than 320"),
        ("user=al%00ice@tenant-a.test".into(), "control character"),
        ("user=alice%0D%0A@tenant-a.test".into(), "control character"),
        ("user=al%FFice@tenant-a.test".into(), "not valid UTF-8"),
        ("user=al%EF%BF%BDice@tenant-a.test".into(), "U+FFFD"),
        (
            "user=alice@tenant-a.test&user=bob@tenant-b.test".into(),
            "more than once",
        ),
        ("user=alice".into(), "exactly one '@'"),
        ("user=a@b@tenant-a.test".into(), "exactly one '@'"),
    ];
    for (query, expected) in cases {
        let response = app
            .browser
            .get(app.url(&format!("/api/user/?{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let body: Value = response.json().await.unwrap();
        let message = body["errors"]["user"]["message"].as_str().unwrap();
        assert!(message.contains(expected), "{query}: {message}");
    }
}

#[tokio::test]
async fn discovery_allows_cors_only_for_registered_origins() {
    let app = TestApp::spawn().await;
    let allowed = app
        .browser
        .get(app.url("/api/user/?user=alice@tenant-a.test"))
        .header("origin", CRM_ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.headers()["access-control-allow-origin"], CRM_ORIGIN);
    let other = app
        .browser
        .get(app.url("/api/user/?user=alice@tenant-a.test"))
        .header("origin", "http://localhost:9999")
        .send()
        .await
        .unwrap();
    // Refused before any lookup, and readable by that page: the SDK can say
    // what to fix, and no user's realm reaches it.
    assert_eq!(other.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        other.headers()["access-control-allow-origin"],
        "http://localhost:9999"
    );
    let body: Value = other.json().await.unwrap();
    assert_eq!(body["errors"]["user"]["code"], "origin_not_allowed");
    let message = body["errors"]["user"]["message"].as_str().unwrap();
    assert!(
        message.contains("http://localhost:9999 is not registered")
            && message.contains("--add-origin"),
        "{message}"
    );
    assert!(!body.to_string().contains("tenant-a"), "{body}");
    // The refused origin is in the log, for the admin who wonders why.
    let logs = crate::support::captured_logs();
    assert!(
        logs.lines().any(|l| l.contains("request refused")
            && l.contains("code=\"origin_not_allowed\"")
            && l.contains("origin=\"http://localhost:9999\"")
            && l.contains("/api/user")),
        "{logs}"
    );
    // Without an Origin (a server, curl) discovery answers as before.
    let plain = app
        .browser
        .get(app.url("/api/user/?user=alice@tenant-a.test"))
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), StatusCode::OK);
}
