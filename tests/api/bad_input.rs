//! The bad-input suite: payload lists in `tests/bad-input/*.txt`, each line sent
//! as is (already percent-encoded). Every case must get a 4xx with a stable code,
//! no `Location`, no script, never a 5xx or a panic.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{CLIENT_ID, CRM_ORIGIN, TestApp};

fn payloads(file: &str) -> Vec<String> {
    let path = format!("{}/tests/bad-input/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// Checks a refusal: 4xx, no redirect, no script, and one of the expected codes.
async fn refused(response: reqwest::Response, case: &str, codes: &[&str]) {
    let status = response.status();
    assert!(status.is_client_error(), "{case}: got {status}");
    assert!(
        response.headers().get("location").is_none(),
        "{case}: redirected"
    );
    let body = response.text().await.unwrap();
    assert!(!body.contains("<script"), "{case}: a page with script");
    assert!(
        codes.iter().any(|c| body.contains(c)),
        "{case}: expected one of {codes:?} in {body}"
    );
}

#[tokio::test]
async fn no_malformed_or_look_alike_origin_starts_a_login() {
    let app = TestApp::spawn_with_server("per_ip_burst = 100000").await;
    for origin in payloads("origins.txt") {
        let url = app.url(&format!(
            "/login?client_id={CLIENT_ID}&user=alice%40tenant-a.test&origin={origin}&txn={}&txn_challenge={}",
            "t".repeat(43),
            "c".repeat(43)
        ));
        refused(
            app.browser.get(&url).send().await.unwrap(),
            &origin,
            &["origin_not_allowed", "invalid_query"],
        )
        .await;
    }
}

#[tokio::test]
async fn malformed_or_hostile_usernames_resolve_to_nobody() {
    let app = TestApp::spawn_with_server("per_ip_burst = 100000").await;
    for user in payloads("usernames.txt") {
        let response = app
            .browser
            .get(app.url(&format!("/api/user/?user={user}")))
            .send()
            .await
            .unwrap();
        assert_ne!(
            response.status(),
            StatusCode::OK,
            "{user} resolved to someone"
        );
        refused(
            response,
            &user,
            &["invalid_user", "unknown_user", "invalid_query"],
        )
        .await;
        let login = app
            .browser
            .get(app.url(&format!("/login?client_id={CLIENT_ID}&origin=http%3A%2F%2Flocalhost%3A8081&txn={}&txn_challenge={}&user={user}", "t".repeat(43), "c".repeat(43))))
            .send()
            .await
            .unwrap();
        refused(
            login,
            &user,
            &["invalid_user", "unknown_user", "invalid_query"],
        )
        .await;
    }
    let long = format!("{}@tenant-a.test", "a".repeat(10_000));
    let response = app.discover(&long).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn hostile_callback_queries_are_refused_without_script() {
    let app = TestApp::spawn().await;
    let state = authproxy::crypto::random_token().unwrap();
    for query in payloads("callback-queries.txt") {
        let query = query
            .replace("STATE", &state)
            .replace("LONG", &"a".repeat(5000));
        let response = app
            .browser
            .get(app.url(&format!("/authproxy?{query}")))
            .send()
            .await
            .unwrap();
        refused(
            response,
            &query,
            &[
                "missing_state",
                "invalid_state",
                "unknown_state",
                "invalid_query",
            ],
        )
        .await;
    }
    for method in [
        reqwest::Method::POST,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
    ] {
        let response = app
            .browser
            .request(method.clone(), app.url("/authproxy?state=x"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method}"
        );
    }
}

fn body_for(line: &str) -> String {
    match line {
        "DEEP" => format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)),
        "BIG" => json!({"txn": "a".repeat(100 * 1024), "txn_verifier": "b"}).to_string(),
        other => other.to_owned(),
    }
}

#[tokio::test]
async fn malformed_json_bodies_get_4xx_on_every_json_endpoint() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token();
    let secret = app
        .create_caller(
            &admin,
            "fuzzy",
            json!({"realms": ["tenant-a"], "all_users_of": ["tenant-a"], "burst": 1000}),
        )
        .await;
    let mut bodies: Vec<Vec<u8>> = payloads("json-bodies.txt")
        .iter()
        .map(|l| body_for(l).into_bytes())
        .collect();
    bodies.push(b"{\"txn\": \"\xff\xfe\", \"txn_verifier\": \"x\"}".to_vec()); // invalid UTF-8
    for body in bodies {
        let case = String::from_utf8_lossy(&body[..body.len().min(60)]).to_string();
        for (path, auth) in [
            ("/api/handoff", None),
            ("/api/handoff/wait", None),
            ("/api/impersonation", Some("caller")),
            ("/admin/api/clients", Some("admin")),
            ("/admin/api/callers", Some("admin")),
        ] {
            let mut request = app
                .browser
                .post(app.url(path))
                .header("content-type", "application/json")
                .body(body.clone());
            request = match auth {
                Some("caller") => request.basic_auth("fuzzy", Some(&secret)),
                Some(_) => request.bearer_auth(&admin),
                None => request,
            };
            let response = request.send().await.unwrap();
            let status = response.status();
            assert!(status.is_client_error(), "{path} {case}: got {status}");
            if status != StatusCode::PAYLOAD_TOO_LARGE {
                let json: Value = response.json().await.unwrap_or(Value::Null);
                assert!(json["error"].is_string(), "{path} {case}: no stable code");
            }
        }
    }
}

#[tokio::test]
async fn hostile_http_is_refused_without_a_5xx() {
    let app = TestApp::spawn().await;
    // Bytes that are not UTF-8 in a header.
    let origin = reqwest::header::HeaderValue::from_bytes(b"http://localhost:8081\xff").unwrap();
    let response = app
        .browser
        .get(app.url("/api/user/?user=alice@tenant-a.test"))
        .header("origin", origin)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    // An oversized header and an oversized URI.
    let big = "x".repeat(512 * 1024);
    // Either a 4xx or a closed connection (also a refusal).
    if let Ok(r) = app
        .browser
        .get(app.url("/healthz"))
        .header("x-big", &big)
        .send()
        .await
    {
        assert!(r.status().is_client_error(), "{}", r.status());
    }
    if let Ok(r) = app
        .browser
        .get(app.url(&format!("/api/user/?user={big}")))
        .send()
        .await
    {
        assert!(r.status().is_client_error(), "{}", r.status());
    }
    // Wrong methods.
    for (method, path) in [
        (reqwest::Method::POST, "/api/user/"),
        (reqwest::Method::PUT, "/login"),
        (reqwest::Method::GET, "/api/handoff"),
    ] {
        assert_eq!(
            app.browser
                .request(method, app.url(path))
                .send()
                .await
                .unwrap()
                .status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{path}"
        );
    }
    // Origins of every other shape get no CORS from the handoff preflight.
    let preflight = app
        .browser
        .request(reqwest::Method::OPTIONS, app.url("/api/handoff"))
        .header("origin", format!("{CRM_ORIGIN}.evil.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::FORBIDDEN);
}
