use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{
    TestApp, assert_failed_login_page, assert_refused_page, confirmation_in, idp,
};

/// Starts a login for alice and signs in, returning the callback URL (not yet visited).
async fn signed_in(app: &TestApp) -> (crate::support::StartedLogin, url::Url) {
    let login = app.start_login("alice@tenant-a.test").await;
    let callback = app
        .sign_in_at_idp(&login.authorize_url, "alice", "alice")
        .await;
    (login, callback)
}

fn with_query(callback: &url::Url, edit: impl Fn(&mut Vec<(String, String)>)) -> url::Url {
    let mut pairs: Vec<(String, String)> = callback
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    edit(&mut pairs);
    let mut url = callback.clone();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url
}

#[tokio::test]
async fn callback_with_a_replayed_state_is_rejected() {
    let app = TestApp::spawn().await;
    let (login, callback) = signed_in(&app).await;
    assert_eq!(
        app.browser
            .get(callback.clone())
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // The completion page cleared the cookie: this browser no longer holds the login.
    let replay = app.browser.get(callback.clone()).send().await.unwrap();
    assert_refused_page(replay, StatusCode::BAD_REQUEST, "browser_mismatch").await;
    // Replayed with the cookie kept aside, the state is found already used.
    let with_cookie = reqwest::Client::new()
        .get(callback)
        .header("cookie", &login.binding_cookie)
        .send()
        .await
        .unwrap();
    assert_refused_page(with_cookie, StatusCode::BAD_REQUEST, "unknown_state").await;
}

#[tokio::test]
async fn the_sealed_login_of_one_cookie_does_not_open_under_another_login() {
    let app = TestApp::spawn().await;
    let (first, _) = signed_in(&app).await;
    let (second, callback) = signed_in(&app).await;
    // The first login's sealed value under the second login's cookie name.
    let (second_name, _) = second.binding_cookie.split_once('=').unwrap();
    let (_, first_value) = first.binding_cookie.split_once('=').unwrap();
    let swapped = reqwest::Client::new()
        .get(callback.clone())
        .header("cookie", format!("{second_name}={first_value}"))
        .send()
        .await
        .unwrap();
    assert_refused_page(swapped, StatusCode::BAD_REQUEST, "browser_mismatch").await;
    // A tampered value does not open either.
    let mut tampered = second.binding_cookie.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let tampered = reqwest::Client::new()
        .get(callback.clone())
        .header("cookie", tampered)
        .send()
        .await
        .unwrap();
    assert_refused_page(tampered, StatusCode::BAD_REQUEST, "browser_mismatch").await;
    // Neither attempt used the state up: the right browser still completes.
    let page = app.browser.get(callback).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
}

#[tokio::test]
async fn callback_without_state_is_rejected() {
    let app = TestApp::spawn().await;
    let (_, callback) = signed_in(&app).await;
    let url = with_query(&callback, |p| p.retain(|(k, _)| k != "state"));
    assert_refused_page(
        app.browser.get(url).send().await.unwrap(),
        StatusCode::BAD_REQUEST,
        "missing_state",
    )
    .await;
}

#[tokio::test]
async fn callback_without_the_browsers_binding_cookie_is_rejected_and_releases_nothing() {
    let app = TestApp::spawn().await;
    let (login, callback) = signed_in(&app).await;
    // Another browser (no cookies) presents the callback: it holds no pending
    // login, so the broker knows no txn to tell and writes nothing.
    let other_browser = reqwest::Client::new();
    let response = other_browser.get(callback.clone()).send().await.unwrap();
    assert_refused_page(response, StatusCode::BAD_REQUEST, "browser_mismatch").await;
    let outcome = app
        .handoff("/api/handoff", &login.txn, &login.verifier)
        .await;
    assert_eq!(
        outcome.json::<Value>().await.unwrap()["error"],
        "invalid_grant"
    );
    // The stolen URL did not use the login up: the browser that started it
    // still completes it.
    app.complete_and_confirm(callback, &login.txn).await;
    let tokens = app
        .handoff("/api/handoff", &login.txn, &login.verifier)
        .await;
    assert_eq!(tokens.status(), StatusCode::OK);
}

#[tokio::test]
async fn callback_with_an_expired_state_is_rejected() {
    let app = TestApp::spawn().await;
    let (_, callback) = signed_in(&app).await;
    app.clock.advance(TimeDelta::minutes(11));
    assert_refused_page(
        app.browser.get(callback).send().await.unwrap(),
        StatusCode::BAD_REQUEST,
        "expired_state",
    )
    .await;
}

#[tokio::test]
async fn callback_with_the_issuer_of_another_realm_is_rejected() {
    let app = TestApp::spawn().await;
    let (_, callback) = signed_in(&app).await;
    let other = idp().authority("tenant-b");
    let url = with_query(&callback, |p| {
        for (k, v) in p.iter_mut() {
            if k == "iss" {
                v.clone_from(&other);
            }
        }
    });
    assert_failed_login_page(
        app.browser.get(url).send().await.unwrap(),
        StatusCode::BAD_REQUEST,
        "issuer_mismatch",
    )
    .await;
}

#[tokio::test]
async fn callback_with_an_idp_error_shows_it_escaped_and_records_the_failure() {
    let app = TestApp::spawn().await;
    let login = app.start_login("alice@tenant-a.test").await;
    let state = login
        .authorize_url
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let response = app
        .browser
        .get(app.url("/authproxy"))
        .query(&[
            ("error", "access_denied"),
            ("error_description", "<script>alert(1)</script>"),
            ("state", &state),
            ("iss", &idp().authority("tenant-a")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = response.text().await.unwrap();
    assert!(html.contains("<code id=\"code\">idp_error</code>"));
    assert!(html.contains("access_denied"));
    assert!(
        html.contains("&#60;script&#62;alert(1)&#60;/script&#62;")
            || html.contains("&lt;script&gt;"),
        "{html}"
    );
    assert!(!html.contains("<script>alert"), "{html}");
    app.confirm(&login.txn, &confirmation_in(&html)).await;
    let outcome: Value = app
        .handoff("/api/handoff", &login.txn, &login.verifier)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(outcome["login_error"], "access_denied");
    assert_eq!(
        outcome["login_error_description"], "<script>alert(1)</script>",
        "the realm's description reaches the opener (as data, never as markup)"
    );
}

#[tokio::test]
async fn callback_with_duplicate_parameters_is_rejected() {
    let app = TestApp::spawn().await;
    let (_, callback) = signed_in(&app).await;
    for name in ["state", "code", "iss"] {
        let url = with_query(&callback, |p| {
            let dup = p.iter().find(|(k, _)| k == name).unwrap().clone();
            p.push(dup);
        });
        assert_refused_page(
            app.browser.get(url).send().await.unwrap(),
            StatusCode::BAD_REQUEST,
            "invalid_query",
        )
        .await;
    }
}

#[tokio::test]
async fn callback_without_code_or_error_is_rejected() {
    let app = TestApp::spawn().await;
    let (_, callback) = signed_in(&app).await;
    let url = with_query(&callback, |p| p.retain(|(k, _)| k != "code"));
    assert_failed_login_page(
        app.browser.get(url).send().await.unwrap(),
        StatusCode::BAD_REQUEST,
        "missing_code",
    )
    .await;
}

#[tokio::test]
async fn callback_with_a_code_the_realm_refuses_is_a_400_not_a_5xx() {
    let app = TestApp::spawn().await;
    let (_, callback) = signed_in(&app).await;
    let url = with_query(&callback, |p| {
        for (k, v) in p.iter_mut() {
            if k == "code" {
                *v = "forged-code".into();
            }
        }
    });
    assert_failed_login_page(
        app.browser.get(url).send().await.unwrap(),
        StatusCode::BAD_REQUEST,
        "code_rejected",
    )
    .await;
}

#[tokio::test]
async fn callback_without_iss_from_a_realm_that_announces_it_is_refused() {
    // RFC 9207 §2.4: the dev IdP announces authorization_response_iss_parameter_supported.
    let app = TestApp::spawn().await;
    let (_, callback) = signed_in(&app).await;
    let url = with_query(&callback, |p| p.retain(|(k, _)| k != "iss"));
    assert_failed_login_page(
        app.browser.get(url).send().await.unwrap(),
        StatusCode::BAD_REQUEST,
        "missing_iss",
    )
    .await;
}
