//! The attacks the relay must withstand, played by a page on another site and a
//! server of the attacker's own: the user's browser (with a realm session) is
//! made to run a login with the attacker's txn; the attacker's server, which
//! holds the txn_verifier and forges whatever headers it likes, must get nothing.

use std::time::Duration;

use authproxy::crypto;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{CLIENT_ID, CRM_ORIGIN, TestApp, captured_logs, code_of, confirmation_in};

/// The attacker's server: no cookies, any headers.
fn attacker_server() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Opens `/login` in the user's browser with the attacker's txn and challenge and
/// the registered client and origin; returns the completion page's HTML after the
/// realm's silent redirect (the user already has a realm session).
async fn silent_login_with(
    app: &TestApp,
    txn: &str,
    verifier: &str,
    prompt: Option<&str>,
) -> String {
    let challenge = crypto::sha256_b64url(verifier);
    let mut query = vec![
        ("client_id", CLIENT_ID),
        ("user", "alice@tenant-a.test"),
        ("origin", CRM_ORIGIN),
        ("txn", txn),
        ("txn_challenge", challenge.as_str()),
    ];
    if let Some(prompt) = prompt {
        query.push(("prompt", prompt));
    }
    let response = app
        .browser
        .get(app.url("/login"))
        .header("referer", "https://attacker.example/")
        .query(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let authorize = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    // No form: the realm session answers at once.
    let signed = app.sign_in(&authorize, "unused", "unused").await;
    assert!(signed.forms.is_empty(), "{:?}", signed.forms);
    let callback = signed.callback;
    let page = app.browser.get(callback).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    page.text().await.unwrap()
}

/// What the attacker's server gets for its txn: a wait, then a redemption, each
/// with a forged `Origin` of the registered page and without one.
async fn attacker_redeems(app: &TestApp, txn: &str, verifier: &str) -> Vec<(StatusCode, Value)> {
    let server = attacker_server();
    let mut answers = Vec::new();
    for (path, origin) in [
        ("/api/handoff/wait", None),
        ("/api/handoff", None),
        ("/api/handoff/wait", Some(CRM_ORIGIN)),
        ("/api/handoff", Some(CRM_ORIGIN)),
    ] {
        let mut request = server.post(app.url(path)).json(
            &serde_json::json!({"client_id": CLIENT_ID, "txn": txn, "txn_verifier": verifier}),
        );
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        let response = request.send().await.unwrap();
        answers.push((response.status(), response.json::<Value>().await.unwrap()));
    }
    answers
}

async fn assert_attacker_gets_nothing(app: &TestApp, prompt: Option<&str>) {
    // The user signs in once, legitimately: the realm now has a session.
    app.log_in("alice@tenant-a.test", "alice", "alice").await;

    let txn = crypto::random_token().unwrap();
    let verifier = crypto::random_token().unwrap();
    let html = silent_login_with(app, &txn, &verifier, prompt).await;
    assert!(html.contains("Login complete"), "{html}");
    // Defence in depth: the contradicting Referer is logged (never the only check).
    assert!(
        captured_logs().contains("a /login names an origin its Referer contradicts"),
        "the contradiction is logged"
    );
    for (status, body) in attacker_redeems(app, &txn, &verifier).await {
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"], "confirmation_required", "{body}");
        assert!(body.get("access_token").is_none());
    }
    // Guessing the confirmation does not work either; three wrong ones burn it.
    for _ in 0..3 {
        let guess = attacker_server()
            .post(app.url("/api/handoff/confirm"))
            .json(&serde_json::json!({"client_id": CLIENT_ID, "txn": txn, "confirmation": crypto::random_token().unwrap()}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            code_of(guess).await,
            (StatusCode::BAD_REQUEST, "invalid_confirmation".into())
        );
    }
    let confirmation = confirmation_in(&html);
    let late = attacker_server()
        .post(app.url("/api/handoff/confirm"))
        .json(
            &serde_json::json!({"client_id": CLIENT_ID, "txn": txn, "confirmation": confirmation}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        late.status(),
        StatusCode::BAD_REQUEST,
        "burnt by the guesses"
    );
    let after: Value = attacker_server()
        .post(app.url("/api/handoff"))
        .json(&serde_json::json!({"client_id": CLIENT_ID, "txn": txn, "txn_verifier": verifier}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(after["error"], "invalid_grant");

    // The realm session is untouched: the user's own next login is silent and works.
    let own = app.start_login("alice@tenant-a.test").await;
    let callback = tokio::time::timeout(
        Duration::from_secs(5),
        app.sign_in_at_idp(&own.authorize_url, "unused", "unused"),
    )
    .await
    .expect("no form: the session still stands");
    app.complete_and_confirm(callback, &own.txn).await;
    let tokens = app.handoff("/api/handoff", &own.txn, &own.verifier).await;
    assert_eq!(tokens.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_login_started_with_the_attackers_txn_releases_nothing_to_the_verifier_holder() {
    let app = TestApp::spawn().await;
    assert_attacker_gets_nothing(&app, None).await;
}

#[tokio::test]
async fn the_same_with_prompt_none_releases_nothing() {
    let app = TestApp::spawn().await;
    assert_attacker_gets_nothing(&app, Some("none")).await;
}

#[tokio::test]
async fn a_failed_silent_login_tells_the_attacker_nothing_either() {
    // prompt=none without a realm session fails with login_required; an attacker
    // learning that would learn whether the user is signed in at the realm.
    let app = TestApp::spawn().await;
    let login = app.start_silent_login("alice@tenant-a.test").await;
    let (txn, verifier) = (login.txn, login.verifier);
    let callback = app
        .sign_in_at_idp(&login.authorize_url, "unused", "unused")
        .await;
    assert!(
        callback
            .query_pairs()
            .any(|(k, v)| k == "error" && v == "login_required"),
        "{callback}"
    );
    let page = app.browser.get(callback).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    for (status, body) in attacker_redeems(&app, &txn, &verifier).await {
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["error"], "confirmation_required", "{body}");
    }
}

/// A client of the demo's realm and origin whose approval step is `approval`,
/// made through the admin API and provisioned at the realm; its id.
async fn client_with_approval(app: &TestApp, approval: &str) -> String {
    let port = app.base_url.rsplit(':').next().unwrap().to_owned();
    let client_id = format!("{approval}.localhost:{port}");
    let admin = app.admin();
    let created = admin
        .create_client(&serde_json::json!({
            "client_id": client_id, "realms": ["tenant-a"], "origins": [CRM_ORIGIN], "approval": approval,
        }))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(created.json::<Value>().await.unwrap()["approval"], approval);
    let synced = admin
        .request(
            reqwest::Method::POST,
            "/admin/api/clients/sync?realm=tenant-a",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(synced.status(), StatusCode::OK);
    client_id
}

#[tokio::test]
async fn a_client_that_turned_the_approval_off_never_asks_and_releases_only_to_its_page() {
    let app = TestApp::spawn().await;
    let client_id = client_with_approval(&app, "off").await;

    // The login window has no opener (a page elsewhere opened /login without
    // one): the completion page asks nothing and says to start again.
    let login = app.start_login_for(&client_id, "alice@tenant-a.test").await;
    let callback = app
        .sign_in_at_idp(&login.authorize_url, "alice", "alice")
        .await;
    let html = app.page(callback).await;
    assert!(!html.contains("Continue to"), "{html}");
    assert!(!html.contains("id=\"approve\""), "{html}");
    assert!(html.contains("id=\"opener-lost\""), "{html}");
    assert!(html.contains("start the login again from"), "{html}");
    // Whoever clicks, or posts the page's own values: nothing is approved.
    let approved = app
        .browser
        .post(app.url("/authproxy/approve"))
        .form(&[
            ("txn", login.txn.as_str()),
            ("client_id", client_id.as_str()),
            ("confirmation", confirmation_in(&html).as_str()),
        ])
        .send()
        .await
        .unwrap();
    crate::support::assert_error_page(approved, StatusCode::FORBIDDEN, "approval_off").await;
    let unreleased = app
        .handoff_as(&client_id, "/api/handoff", &login.txn, &login.verifier)
        .await;
    assert_eq!(
        code_of(unreleased).await,
        (StatusCode::BAD_REQUEST, "confirmation_required".into())
    );
    // The page of the registered origin that started the login, which kept its
    // opener, still receives it.
    let confirmed = app
        .confirm_as(&client_id, &login.txn, &confirmation_in(&html))
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let tokens = app
        .handoff_as(&client_id, "/api/handoff", &login.txn, &login.verifier)
        .await;
    assert_eq!(tokens.status(), StatusCode::OK);

    // Turned back on (admin API, audited): the question is back.
    let admin = app.admin();
    let asked = admin
        .send_json(
            reqwest::Method::PATCH,
            &format!("/admin/api/clients/{client_id}"),
            &serde_json::json!({"approval": "ask"}),
        )
        .await;
    assert_eq!(asked.status(), StatusCode::OK);
    assert_eq!(asked.json::<Value>().await.unwrap()["approval"], "ask");
    assert!(
        admin
            .audit()
            .await
            .iter()
            .any(|r| r["action"] == "client.update" && r["subject"] == client_id.as_str())
    );
    let again = app.start_login_for(&client_id, "alice@tenant-a.test").await;
    let callback = app
        .sign_in_at_idp(&again.authorize_url, "alice", "alice")
        .await;
    assert!(app.page(callback).await.contains("Continue to"));
    let bad = admin
        .send_json(
            reqwest::Method::PATCH,
            &format!("/admin/api/clients/{client_id}"),
            &serde_json::json!({"approval": "never"}),
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_users_approval_in_the_broker_window_releases_the_result() {
    // Without an opener (COOP), the completion page's form is the user's choice.
    let app = TestApp::spawn().await;
    let login = app.start_login("alice@tenant-a.test").await;
    let callback = app
        .sign_in_at_idp(&login.authorize_url, "alice", "alice")
        .await;
    let html = app.page(callback).await;
    assert!(
        html.contains(&format!(
            "Continue to <strong id=\"approval-origin\">{CRM_ORIGIN}</strong>"
        )),
        "{html}"
    );
    assert!(
        html.contains("<strong id=\"approval-user\">alice</strong>"),
        "{html}"
    );
    let approved = app
        .browser
        .post(app.url("/authproxy/approve"))
        .form(&[
            ("txn", login.txn.as_str()),
            ("client_id", CLIENT_ID),
            ("confirmation", confirmation_in(&html).as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), StatusCode::OK);
    assert!(approved.text().await.unwrap().contains("Done"));
    let tokens = app
        .handoff("/api/handoff", &login.txn, &login.verifier)
        .await;
    assert_eq!(tokens.status(), StatusCode::OK);

    // A forged approval (no confirmation, or a made-up one) is refused.
    for form in [
        vec![("txn", login.txn.clone())],
        vec![
            ("txn", login.txn.clone()),
            ("confirmation", crypto::random_token().unwrap()),
        ],
    ] {
        let forged = app
            .browser
            .post(app.url("/authproxy/approve"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), StatusCode::BAD_REQUEST);
    }
}
