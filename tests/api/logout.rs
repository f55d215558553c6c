use reqwest::StatusCode;

use crate::support::{CLIENT_ID, CRM_ORIGIN, TestApp, assert_refused_page, form_of, idp};

#[tokio::test]
async fn logout_posts_the_hint_to_the_realms_end_session_endpoint_never_in_a_url() {
    let app = TestApp::spawn().await;
    let tokens = app.log_in("alice@tenant-a.test", "alice", "alice").await;
    let id_token = tokens["id_token"].as_str().unwrap();

    let response = app
        .browser
        .post(app.url("/logout"))
        .form(&[
            ("client_id", CLIENT_ID),
            ("origin", CRM_ORIGIN),
            ("id_token_hint", id_token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get("location").is_none());
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let html = response.text().await.unwrap();
    let (action, fields) = form_of(&html);
    assert_eq!(
        action,
        format!(
            "{}/protocol/openid-connect/logout",
            idp().authority("tenant-a")
        )
    );
    assert!(!action.contains('?'), "no query on the end-session request");
    assert!(html.contains("method=\"post\""));
    assert!(
        csp.contains(&format!("form-action {} 'self';", idp().base_url)),
        "the realm's redirect back to the broker is allowed, nothing else: {csp}"
    );
    assert_eq!(fields["id_token_hint"], id_token);
    assert_eq!(fields["client_id"], CLIENT_ID);
    assert_eq!(fields["post_logout_redirect_uri"], app.url("/logged-out"));

    // The old GET form with the token in the query is gone.
    let get = app
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
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);

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
    let post = |origin: &'static str, hint: &'static str| {
        app.browser
            .post(app.url("/logout"))
            .form(&[
                ("client_id", CLIENT_ID),
                ("origin", origin),
                ("id_token_hint", hint),
            ])
            .send()
    };
    assert_refused_page(
        post(CRM_ORIGIN, foreign).await.unwrap(),
        StatusCode::BAD_REQUEST,
        "unknown_issuer",
    )
    .await;
    assert_refused_page(
        post("http://evil.test", foreign).await.unwrap(),
        StatusCode::FORBIDDEN,
        "origin_not_allowed",
    )
    .await;
}
