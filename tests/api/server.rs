use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{
    CLIENT_ID, CRM_ORIGIN, TestApp, TestConfig, admin_token_for, confirmation_in, free_port, idp,
    serve_binary, sign_in_as, start_login_in, write,
};

#[tokio::test]
async fn a_connection_trickling_its_headers_is_dropped() {
    let app = TestApp::start(TestConfig::demo().server("header_read_timeout_secs", 1)).await;
    let addr = app.base_url.trim_start_matches("http://").to_owned();
    let dropped = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        let started = Instant::now();
        let mut buffer = [0u8; 512];
        // The rest of the headers never comes: the server closes the connection.
        let read = stream.read(&mut buffer).unwrap_or(0);
        (
            started.elapsed(),
            String::from_utf8_lossy(&buffer[..read]).to_string(),
        )
    })
    .await
    .unwrap();
    assert!(
        dropped.0 < Duration::from_secs(5),
        "dropped after {:?}",
        dropped.0
    );
    assert!(!dropped.1.contains("200 OK"), "{}", dropped.1);
    // A normal request still works.
    assert_eq!(
        app.browser
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn discovery_and_login_are_rate_limited_per_address() {
    let app = TestApp::start(
        TestConfig::demo()
            .server("per_ip_per_minute", 1)
            .server("per_ip_burst", 3),
    )
    .await;
    for _ in 0..3 {
        assert_eq!(
            app.discover("alice@tenant-a.test").await.status(),
            StatusCode::OK
        );
    }
    let limited = app.discover("alice@tenant-a.test").await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        limited.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert_eq!(
        limited.json::<Value>().await.unwrap()["errors"]["user"]["code"],
        "rate_limited"
    );
    let login = app
        .browser
        .get(app.url("/login?client_id=localhost:8081"))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        login
            .text()
            .await
            .unwrap()
            .contains("<code id=\"code\">rate_limited</code>")
    );
    // Other endpoints are not affected.
    assert_eq!(
        app.browser
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    app.clock.advance(chrono::TimeDelta::minutes(1));
    assert_eq!(
        app.discover("alice@tenant-a.test").await.status(),
        StatusCode::OK
    );
}

fn config_for_binary(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("authproxy.toml");
    let config = TestConfig::empty()
        .server("handoff_wait_secs", 3)
        .server("per_ip_per_minute", 100_000)
        .server("per_ip_burst", 100_000)
        .realm("tenant-a", &idp().authority("tenant-a"))
        .client(CLIENT_ID, &["tenant-a"], &[CRM_ORIGIN])
        .domain("tenant-a.test", "tenant-a");
    write(
        &path,
        &config.render("127.0.0.1:0", None, &dir.join("authproxy.db")),
    );
    path
}

#[tokio::test]
async fn sigterm_lets_in_flight_requests_finish_then_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_for_binary(dir.path());
    let (mut child, base) = serve_binary(&config);
    let client = reqwest::Client::new();
    // A long-poll that takes the whole handoff wait (3 s).
    let in_flight = {
        let (client, base) = (client.clone(), base.clone());
        tokio::spawn(async move {
            client
                .post(format!("{base}/api/handoff/wait"))
                .json(&serde_json::json!({"client_id": CLIENT_ID, "txn": "a".repeat(43), "txn_verifier": "b".repeat(43)}))
                .send()
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let response = in_flight
        .await
        .unwrap()
        .expect("the in-flight request is answered, not cut");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        serde_json::json!({"pending": true})
    );
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "exit status {status:?}");
    assert!(
        client.get(format!("{base}/healthz")).send().await.is_err(),
        "no new connections after shutdown"
    );
}

#[tokio::test]
async fn kill_9_during_a_directory_import_leaves_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_for_binary(dir.path());
    let authproxy = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_authproxy"));
        command.env("AUTHPROXY_ACTOR", "tests");
        command
    };
    let small = dir.path().join("small.csv");
    write(
        &small,
        "kind,key,realm,idp_hint\nuser,kept@tenant-a.test,tenant-a,\n",
    );
    assert!(
        authproxy()
            .args([
                "directory",
                "import",
                small.to_str().unwrap(),
                "--config",
                config.to_str().unwrap()
            ])
            .status()
            .unwrap()
            .success()
    );

    let big = dir.path().join("big.csv");
    let mut rows = String::from("kind,key,realm,idp_hint\n");
    for i in 0..400_000 {
        writeln!(rows, "user,user{i}@tenant-a.test,tenant-a,").unwrap();
    }
    write(&big, &rows);
    let mut child = authproxy()
        .args([
            "directory",
            "import",
            big.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let db = rusqlite::Connection::open(dir.path().join("authproxy.db")).unwrap();
    let integrity: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let count: i64 = db
        .query_row("SELECT count(*) FROM directory_users", [], |r| r.get(0))
        .unwrap();
    assert!(
        count == 1 || count == 400_001,
        "all or nothing, found {count} rows"
    );
    let kept: i64 = db
        .query_row(
            "SELECT count(*) FROM directory_users WHERE username = 'kept@tenant-a.test'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kept, 1, "the acknowledged import survives");
}

/// One write: its request and, once acknowledged, what to look for in the store.
type Write = (reqwest::RequestBuilder, String);

/// Sends writes until the broker is gone, recording what it acknowledged.
async fn until_gone(writes: impl Iterator<Item = Write>, acknowledged: Arc<Mutex<Vec<String>>>) {
    for (request, key) in writes {
        let Ok(response) = request.send().await else {
            return; // the broker is gone
        };
        assert!(response.status().is_success() || response.status() == StatusCode::FOUND);
        acknowledged.lock().unwrap().push(key);
    }
}

/// Directory rules added through the admin API; each is known by its username.
fn rule_writes(base: &str, token: &str, writer: u32) -> impl Iterator<Item = Write> + use<> {
    let (client, base, token) = (reqwest::Client::new(), base.to_owned(), token.to_owned());
    (0..).map(move |i| {
        let user = format!("w{writer}-{i}@tenant-a.test");
        let request = client
            .post(format!("{base}/admin/api/directory/rules"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"kind": "user", "key": user, "realm": "tenant-a"}));
        (request, user)
    })
}

#[tokio::test]
async fn kill_9_while_the_broker_writes_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_for_binary(dir.path());
    let token = admin_token_for(&config);
    let (mut child, base) = serve_binary(&config);
    let client = reqwest::Client::new();
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    // Directory writes through the admin API, until the broker dies.
    let writers: Vec<_> = (0..3)
        .map(|writer| {
            let rules = rule_writes(&base, &token, writer);
            tokio::spawn(until_gone(rules, Arc::clone(&acknowledged)))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(800)).await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    for writer in writers {
        writer.await.unwrap();
    }

    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() > 20,
        "writes were under way: {} rules",
        acknowledged.len()
    );
    let db = rusqlite::Connection::open(dir.path().join("authproxy.db")).unwrap();
    let integrity: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let mut stored = db
        .prepare("SELECT count(*) FROM directory_users WHERE username = ?1")
        .unwrap();
    for user in &acknowledged {
        let count: i64 = stored.query_row([user], |r| r.get(0)).unwrap();
        assert_eq!(count, 1, "an acknowledged rule was lost");
    }
    drop(stored);
    drop(db);
    // The broker starts again on the same store.
    let (mut child, base) = serve_binary(&config);
    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn a_login_started_before_kill_9_completes_after_the_restart() {
    // The pending login lives in the browser's cookie, not in the broker.
    let dir = tempfile::tempdir().unwrap();
    let base = format!("http://127.0.0.1:{}", free_port());
    let path = dir.path().join("authproxy.toml");
    let config = TestConfig::empty()
        .realm("tenant-a", &idp().authority("tenant-a"))
        .client(CLIENT_ID, &["tenant-a"], &[CRM_ORIGIN])
        .domain("tenant-a.test", "tenant-a");
    let listen = base.trim_start_matches("http://");
    write(
        &path,
        &config.render(listen, Some(&base), &dir.path().join("authproxy.db")),
    );
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    crate::support::idp::register_client(&browser, &base).await;
    let (mut child, started_at) = serve_binary(&path);
    assert_eq!(started_at, base);
    let login = start_login_in(&browser, &base, CLIENT_ID, "alice@tenant-a.test", &[]).await;
    child.kill().unwrap(); // SIGKILL, while the user is at the realm's form
    child.wait().unwrap();

    let (mut child, restarted_at) = serve_binary(&path);
    assert_eq!(restarted_at, base);
    let signed_in = sign_in_as(&browser, &base, &login.authorize_url, "alice", "alice").await;
    let page = browser.get(signed_in.callback).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let confirmation = confirmation_in(&page.text().await.unwrap());
    let body = |field: &str, value: &str| serde_json::json!({"client_id": CLIENT_ID, "txn": login.txn, field: value});
    for (path, body) in [
        ("/api/handoff/confirm", body("confirmation", &confirmation)),
        ("/api/handoff", body("txn_verifier", &login.verifier)),
    ] {
        let answer = browser
            .post(format!("{base}{path}"))
            .header("origin", CRM_ORIGIN)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::OK, "{path}");
        if path == "/api/handoff" {
            let tokens: Value = answer.json().await.unwrap();
            assert_eq!(tokens["username"], "alice");
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn per_address_limits_are_counted_once_across_brokers_on_one_redis() {
    let shared = crate::support::services::SharedStores::fresh().await;
    let broker = || {
        TestConfig::demo()
            .server("per_ip_per_minute", 1)
            .server("per_ip_burst", 3)
            .shared_with(&shared)
    };
    let (a, b) = (
        TestApp::start(broker()).await,
        TestApp::start(broker()).await,
    );
    // Three requests from this address, spread over both brokers, use the burst.
    for app in [&a, &b, &a] {
        let answer = app.discover("alice@tenant-a.test").await;
        assert_eq!(answer.status(), StatusCode::OK);
    }
    for app in [&b, &a] {
        let limited = app.discover("alice@tenant-a.test").await;
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(limited.headers().contains_key("retry-after"));
    }
}

#[tokio::test]
async fn the_address_opened_in_a_browser_says_what_the_service_is_and_an_api_client_gets_json() {
    let app = TestApp::spawn().await;
    let page = app
        .browser
        .get(app.url("/"))
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let text = page.text().await.unwrap();
    assert!(
        text.contains("sign-in service") && text.contains(r#"href="admin/""#),
        "{text}"
    );
    let api = app
        .browser
        .get(app.url("/"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::NOT_FOUND);
    assert_eq!(api.json::<Value>().await.unwrap()["error"], "not_found");
}
