//! The bad-input suite: payload lists in `tests/bad-input/*.txt`, each line sent
//! as is (already percent-encoded). Every case must get a 4xx with a stable code,
//! no `Location`, no script, never a 5xx or a panic.

use reqwest::Method;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{CLIENT_ID, CRM_ORIGIN, TestApp, TestConfig, code_of};

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
    let app = TestApp::start(TestConfig::demo().server("per_ip_burst", 100_000)).await;
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
    let app = TestApp::start(TestConfig::demo().server("per_ip_burst", 100_000)).await;
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
                "browser_mismatch",
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
    let admin = app.admin();
    let secret = admin
        .create_caller(
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
                Some(_) => request.bearer_auth(admin.token()),
                None => request,
            };
            let response = request.send().await.unwrap();
            let status = response.status();
            assert!(status.is_client_error(), "{path} {case}: got {status}");
            let json: Value = response.json().await.unwrap_or(Value::Null);
            assert!(json["error"].is_string(), "{path} {case}: no stable code");
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

/// Sends raw bytes over one connection and returns the status line's code.
async fn raw_status(app: &TestApp, request: &str) -> u16 {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let addr = app.base_url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = stream.read(&mut answer).await.unwrap();
    let head = String::from_utf8_lossy(&answer[..n]).to_string();
    head.split(' ').nth(1).unwrap_or("0").parse().unwrap_or(0)
}

#[tokio::test]
async fn http_level_findings_stay_fixed() {
    let app = TestApp::spawn().await;
    let admin = app.admin();

    // HTTP/1.1 without Host, or with two (RFC 9112 §3.2).
    assert_eq!(
        raw_status(&app, "GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n").await,
        400
    );
    assert_eq!(
        raw_status(
            &app,
            "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n"
        )
        .await,
        400
    );
    assert_eq!(
        raw_status(
            &app,
            "GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
        )
        .await,
        200
    );

    // A control character in a header (an API key id with NUL) is not HTTP
    // (RFC 9110 §5.5): the HTTP parser refuses it, 400, before any route; the
    // broker goes on serving.
    for bad in ["Bearer ab\0cd:secret", "Bearer ab\u{1}cd:secret"] {
        assert_eq!(
            raw_status(
                &app,
                &format!("POST /api/v1/embed/tokens HTTP/1.1\r\nHost: a\r\nAuthorization: {bad}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}")
            )
            .await,
            400
        );
    }
    assert_eq!(
        raw_status(
            &app,
            "GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
        )
        .await,
        200
    );

    // 405 and 413 carry the JSON shape and a stable code.
    let wrong_method = app.browser.put(app.url("/api/user/")).send().await.unwrap();
    assert_eq!(
        code_of(wrong_method).await,
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed".into())
    );
    let huge = app
        .browser
        .post(app.url("/api/impersonation"))
        .basic_auth("x", Some("y"))
        .header("content-type", "application/json")
        .body(vec![b' '; 64 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(
        code_of(huge).await,
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large".into())
    );
    // The admin API's query parsing.
    let bad_query = admin
        .request(Method::GET, "/admin/api/audit?limit=lots")
        .send()
        .await
        .unwrap();
    assert_eq!(
        code_of(bad_query).await,
        (StatusCode::BAD_REQUEST, "invalid_request".into())
    );

    // Every answer: nosniff and a Cache-Control.
    for path in [
        "/api/user/?user=alice@tenant-a.test",
        "/healthz",
        "/readyz",
        "/nowhere",
    ] {
        let response = app.browser.get(app.url(path)).send().await.unwrap();
        assert_eq!(
            response.headers()["x-content-type-options"],
            "nosniff",
            "{path}"
        );
        assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
    }
}

#[tokio::test]
async fn admin_input_past_sane_bounds_is_refused() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let origins: Vec<String> = (0..10_000)
        .map(|i| format!("https://o{i}.example"))
        .collect();
    let many = admin
        .create_client(
            &json!({"client_id": "many.example", "realms": ["tenant-a"], "origins": origins}),
        )
        .await;
    let (status, code) = code_of(many).await;
    assert!(
        [
            StatusCode::UNPROCESSABLE_ENTITY,
            StatusCode::PAYLOAD_TOO_LARGE
        ]
        .contains(&status),
        "{status} {code}"
    );
    let hundred_and_one: Vec<String> = (0..101).map(|i| format!("https://o{i}.example")).collect();
    let over = admin.create_client(&json!({"client_id": "many.example", "realms": ["tenant-a"], "origins": hundred_and_one})).await;
    assert_eq!(
        code_of(over).await,
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed".into())
    );
    let megabyte = admin
        .request(Method::POST, "/admin/api/clients")
        .header("content-type", "application/json")
        .body(format!(
            "{{\"client_id\": \"{}\"}}",
            "a".repeat(1024 * 1024)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        code_of(megabyte).await,
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large".into())
    );
    for domain in ["*.corp.test", "corp.test/..", "corp..test", "-corp.test"] {
        let rule = admin
            .request(Method::POST, "/admin/api/directory/rules")
            .json(&json!({"kind": "domain", "key": domain, "realm": "tenant-a"}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            code_of(rule).await.0,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{domain}"
        );
    }
    let wildcard = admin
        .request(Method::POST, "/admin/api/callers")
        .json(&json!({"caller_id": "wild", "policy": {"realms": ["tenant-a"], "domains": ["*"]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(code_of(wildcard).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let sync = admin
        .request(Method::POST, "/admin/api/clients/sync?realm=no-such-realm")
        .send()
        .await
        .unwrap();
    assert_eq!(
        code_of(sync).await,
        (StatusCode::NOT_FOUND, "not_found".into())
    );
}

#[tokio::test]
async fn an_origin_removed_after_the_login_started_gets_no_result() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    admin.create_client(&json!({"client_id": "moving.localhost", "realms": ["tenant-a"], "origins": [CRM_ORIGIN, "https://other.example"]})).await;
    let synced = admin
        .request(Method::POST, "/admin/api/clients/sync?realm=tenant-a")
        .send()
        .await
        .unwrap();
    assert_eq!(synced.status(), StatusCode::OK);
    let login = app
        .start_login_for("moving.localhost", "alice@tenant-a.test")
        .await;
    let changed = admin.request(Method::PUT, "/admin/api/clients/moving.localhost")
        .json(&json!({"client_id": "moving.localhost", "realms": ["tenant-a"], "origins": ["https://other.example"]}))
        .send()
        .await
        .unwrap();
    assert!(changed.status().is_success(), "{}", changed.status());
    let callback = app
        .sign_in_at_idp(&login.authorize_url, "alice", "alice")
        .await;
    let page = app.browser.get(callback).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<code id=\"code\">origin_not_allowed</code>"),
        "{html}"
    );
    // The old origin can neither confirm nor redeem anything.
    let confirm = app
        .confirm_as(
            "moving.localhost",
            &login.txn,
            &crate::support::confirmation_in(&html),
        )
        .await;
    assert_eq!(
        code_of(confirm).await,
        (StatusCode::FORBIDDEN, "origin_not_allowed".into())
    );
    let outcome = app
        .handoff_as(
            "moving.localhost",
            "/api/handoff",
            &login.txn,
            &login.verifier,
        )
        .await;
    assert_eq!(
        code_of(outcome).await,
        (StatusCode::FORBIDDEN, "origin_not_allowed".into())
    );
}

#[tokio::test]
async fn parked_long_polls_from_one_address_do_not_delay_a_completed_login() {
    let app = TestApp::start(TestConfig::demo().server("max_concurrent_requests", 64)).await;
    // Far more parked polls than request slots, from this one address.
    let mut polls = Vec::new();
    for _ in 0..400 {
        let browser = app.browser.clone();
        let url = app.url("/api/handoff/wait");
        polls.push(tokio::spawn(async move {
            let body = json!({"client_id": CLIENT_ID, "txn": authproxy::crypto::random_token().unwrap(), "txn_verifier": authproxy::crypto::random_token().unwrap()});
            browser.post(url).json(&body).send().await.map(|r| r.status())
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let started = std::time::Instant::now();
    let tokens = app.log_in("alice@tenant-a.test", "alice", "alice").await;
    assert!(tokens["access_token"].is_string());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "the login waited {:?} behind parked polls",
        started.elapsed()
    );
    for poll in polls {
        assert_eq!(
            poll.await.unwrap().unwrap(),
            StatusCode::OK,
            "pending, at once or after the wait"
        );
    }
}

#[tokio::test]
async fn a_request_with_oversized_headers_gets_431_with_a_stable_code() {
    let app = TestApp::spawn().await;
    let response = reqwest::Client::new()
        .get(app.url("/api/user/"))
        .query(&[("user", "alice@tenant-a.test")])
        .header("x-padding", "a".repeat(200 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::from_u16(431).unwrap());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "headers_too_large");
    // Ordinary headers pass.
    assert_eq!(
        app.discover("alice@tenant-a.test").await.status(),
        StatusCode::OK
    );
}
