use serde_json::Value;

use crate::support::{TestApp, captured_logs};

/// Text that looks like an email address.
fn contains_email(text: &str) -> Option<&str> {
    text.split(|c: char| c.is_whitespace() || "\"'=,;()[]{}<>".contains(c))
        .find(|word| {
            word.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
            })
        })
}

#[tokio::test]
async fn logs_never_contain_a_code_token_state_or_email_address() {
    let app = TestApp::spawn().await;
    // Exercise discovery, a refused login and a full round trip.
    app.discover("alice@tenant-a.test").await;
    app.discover("nobody@nowhere.test").await;
    let login = app.start_login("carol@corp.test").await;
    let state = login
        .authorize_url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let callback = app
        .sign_in_at_idp(&login.authorize_url, "carol", "carol")
        .await;
    let code = callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let html = app.complete_and_confirm(callback.clone(), &login.txn).await;
    let confirmation = crate::support::confirmation_in(&html);
    app.browser.get(callback).send().await.unwrap(); // a replay, logged as refused
    let tokens: Value = app
        .handoff("/api/handoff", &login.txn, &login.verifier)
        .await
        .json()
        .await
        .unwrap();

    let logs = captured_logs();
    assert!(
        logs.contains("request refused"),
        "the capture works: {logs}"
    );
    for (what, secret) in [
        ("state", state.as_str()),
        ("code", code.as_str()),
        ("txn", login.txn.as_str()),
        ("txn_verifier", login.verifier.as_str()),
        ("confirmation", confirmation.as_str()),
        ("access token", tokens["access_token"].as_str().unwrap()),
        ("refresh token", tokens["refresh_token"].as_str().unwrap()),
        ("id token", tokens["id_token"].as_str().unwrap()),
    ] {
        assert!(!logs.contains(secret), "a {what} was logged");
    }
    // Across everything logged by every test of this binary so far.
    assert_eq!(contains_email(&logs), None, "an email address was logged");
}

#[tokio::test]
async fn every_request_has_an_id_in_its_answer_its_error_body_and_its_log_span() {
    let app = TestApp::spawn().await;
    let kept = app
        .browser
        .get(app.url("/api/user/?user=nobody@nowhere.test"))
        .header("x-request-id", "support-ticket-42")
        .send()
        .await
        .unwrap();
    assert_eq!(kept.headers()["x-request-id"], "support-ticket-42");
    let body: Value = kept.json().await.unwrap();
    assert_eq!(body["request_id"], "support-ticket-42");
    assert_eq!(body["errors"]["user"]["code"], "unknown_user");
    assert!(
        captured_logs()
            .lines()
            .any(|l| l.contains("request refused") && l.contains("support-ticket-42")),
        "the span carries the id"
    );

    // A made-up id that is not a plain token is replaced, never echoed.
    let replaced = app
        .browser
        .post(app.url("/api/handoff"))
        .header("x-request-id", "a b<script>")
        .body("[]")
        .send()
        .await
        .unwrap();
    let id = replaced.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), 22);
    let body: Value = replaced.json().await.unwrap();
    assert_eq!(body["request_id"], id.as_str());
    assert_eq!(body["error"], "invalid_request");
}
