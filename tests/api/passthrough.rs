use reqwest::StatusCode;

use crate::support::{CRM_ORIGIN, TestApp, assert_refused_page};

#[tokio::test]
async fn passthrough_page_of_a_registered_client_posts_only_to_its_origins() {
    let app = TestApp::spawn().await;
    let response = app
        .browser
        .get(app.url("/authproxy/localhost:8081?code=abc&state=xyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
    let html = response.text().await.unwrap();
    assert!(
        html.contains(&format!("data-origins=\"[&#34;{CRM_ORIGIN}&#34;]\""))
            || html.contains("data-origins=\"[&quot;http://localhost:8081&quot;]\""),
        "{html}"
    );
    assert!(html.contains("opener.postMessage(message, origin)"));
    assert!(html.contains("type: \"authproxy:callback\""));
    assert!(!html.contains("\"*\""), "never post to *");
    assert!(
        !html.contains("abc"),
        "the code is never written into the page"
    );
}

#[tokio::test]
async fn passthrough_page_of_an_unknown_client_is_refused_without_script() {
    let app = TestApp::spawn().await;
    let response = app
        .browser
        .get(app.url("/authproxy/evil.test?code=abc"))
        .send()
        .await
        .unwrap();
    assert_refused_page(response, StatusCode::BAD_REQUEST, "unknown_client").await;
}
