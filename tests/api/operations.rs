//! Running it in production: client addresses behind a reverse proxy, the
//! shutdown sequence, metrics, bounded logs, JSON log lines and SIGHUP.

use std::collections::HashMap;
use std::io::BufRead as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::extract::Request;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{TestApp, TestConfig, captured_logs, free_port, write};

/// A reverse proxy on loopback in front of `upstream`, as nginx with
/// `proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for` is: it
/// appends the address of the client it serves to whatever the client sent.
/// The client's address is simulated by the `x-test-client` header.
async fn reverse_proxy(upstream: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let app = axum::Router::new().fallback(move |request: Request| {
        let client = client.clone();
        let upstream = upstream.clone();
        async move {
            let peer = request.headers()["x-test-client"]
                .to_str()
                .unwrap()
                .to_owned();
            let forwarded = match request.headers().get("x-forwarded-for") {
                Some(sent) => format!("{}, {peer}", sent.to_str().unwrap()),
                None => peer,
            };
            let path = request
                .uri()
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_owned();
            let answer = client
                .get(format!("{upstream}{path}"))
                .header("x-forwarded-for", forwarded)
                .send()
                .await
                .unwrap();
            let status = answer.status().as_u16();
            (
                axum::http::StatusCode::from_u16(status).unwrap(),
                answer.bytes().await.unwrap(),
            )
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

/// 200 discovery requests through the proxy, 10 from each of 20 clients that
/// all also send the same forged `X-Forwarded-For`; the refusals by client.
async fn flood_through(proxy: &str, prefix: &str) -> HashMap<String, usize> {
    let http = reqwest::Client::new();
    let mut refused = HashMap::new();
    for client in 0..20 {
        let address = format!("{prefix}.{client}");
        for _ in 0..10 {
            let status = http
                .get(format!("{proxy}/api/user/?user=someone@corp.test"))
                .header("x-test-client", &address)
                .header("x-forwarded-for", "203.0.113.250")
                .send()
                .await
                .unwrap()
                .status();
            if status == StatusCode::TOO_MANY_REQUESTS {
                *refused.entry(address.clone()).or_default() += 1;
            }
        }
    }
    refused
}

/// Whether a log line's span names `address` as the client.
fn mentions_client(line: &str, address: &str) -> bool {
    line.split(&format!("client={address}"))
        .nth(1)
        .is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_digit() || c == '.'))
}

fn limited(trusted: &str) -> TestConfig {
    TestConfig::demo()
        .server("per_ip_per_minute", 1)
        .server("per_ip_burst", 5)
        .server("trusted_proxies", format!("[\"{trusted}\"]"))
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_bucket() {
    let app = TestApp::start(limited("127.0.0.1")).await;
    let proxy = reverse_proxy(app.base_url.clone()).await;
    let refused = flood_through(&proxy, "198.51.100").await;
    // Each client: 5 within its burst, 5 refused. The forged leftmost entry,
    // the same for all, bought nobody a bucket (hops are read from the right).
    assert_eq!(refused.len(), 20, "{refused:?}");
    assert!(refused.values().all(|&n| n == 5), "{refused:?}");
    // The refusal is logged with the effective client address, once per cause
    // and address however many followed.
    let logs = captured_logs();
    let lines: Vec<&str> = logs
        .lines()
        .filter(|l| mentions_client(l, "198.51.100.7") && l.contains("rate_limited"))
        .collect();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(
        !logs.contains("203.0.113.250"),
        "the forged hop is never the client"
    );
}

#[tokio::test]
async fn forwarded_headers_from_an_untrusted_peer_change_nothing() {
    // The proxy is on loopback, which this broker does not trust.
    let app = TestApp::start(limited("10.0.0.0/8")).await;
    let proxy = reverse_proxy(app.base_url.clone()).await;
    let refused = flood_through(&proxy, "192.0.2").await;
    // One bucket for everyone: the proxy's own address.
    assert_eq!(refused.values().sum::<usize>(), 195, "{refused:?}");
    // And without the setting at all, forwarded headers are ignored too.
    let app = TestApp::start(
        TestConfig::demo()
            .server("per_ip_per_minute", 1)
            .server("per_ip_burst", 5),
    )
    .await;
    let proxy = reverse_proxy(app.base_url.clone()).await;
    let refused = flood_through(&proxy, "192.0.2").await;
    assert_eq!(refused.values().sum::<usize>(), 195, "{refused:?}");
}

#[tokio::test]
async fn sigterm_keeps_accepting_while_not_ready_then_drains() {
    let (app, stopper) =
        TestApp::start_stoppable(TestConfig::demo().server("shutdown_delay_secs", 2)).await;
    assert_eq!(app.get_json("/readyz").await["status"], "ready");
    stopper.stop.send(()).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Still accepting, but telling the load balancer to stop sending.
    let ready = app.browser.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["draining"], true, "{body}");
    let discovery = app.discover("alice@tenant-a.test").await;
    assert_eq!(
        discovery.status(),
        StatusCode::OK,
        "requests are still served"
    );
    // After the delay the listener closes and the broker stops.
    tokio::time::timeout(Duration::from_secs(10), stopper.stopped)
        .await
        .unwrap()
        .unwrap();
    assert!(
        reqwest::get(app.url("/healthz")).await.is_err(),
        "the listener is closed"
    );
}

/// The value of the sample `name{labels}` (labels as written, in order).
fn sample(metrics: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum()
}

#[tokio::test]
async fn metrics_are_served_on_their_own_listener_and_move() {
    let app = TestApp::start(
        TestConfig::demo()
            .server("per_ip_burst", 3)
            .server("per_ip_per_minute", 1)
            .raw("[metrics]\nlisten = \"127.0.0.1:0\""),
    )
    .await;
    let metrics_url = format!("http://{}/metrics", app.metrics_addr.unwrap());
    let scrape = || async {
        let response = reqwest::get(&metrics_url).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        response.text().await.unwrap()
    };
    let before = scrape().await;
    assert!(
        before.contains("# TYPE authproxy_http_requests_in_flight gauge"),
        "{before}"
    );
    // A full login, a refused discovery flood, a realm call.
    let login = app.start_login("alice@tenant-a.test").await;
    let callback = app
        .sign_in_at_idp(&login.authorize_url, "alice", "alice")
        .await;
    app.complete_and_confirm(callback, &login.txn).await;
    let tokens = app
        .handoff("/api/handoff", &login.txn, &login.verifier)
        .await;
    assert_eq!(tokens.status(), StatusCode::OK);
    for _ in 0..5 {
        app.discover("bob@tenant-b.test").await;
    }
    let after = scrape().await;
    let moved = |name: &str, labels: &[(&str, &str)]| {
        sample(&after, name, labels) - sample(&before, name, labels)
    };
    assert!(
        moved(
            "authproxy_http_requests_total",
            &[("route", "/login"), ("status", "302")]
        ) >= 1.0,
        "{after}"
    );
    assert!(
        moved(
            "authproxy_logins_total",
            &[("stage", "started"), ("realm", "tenant-a")]
        ) >= 1.0,
        "{after}"
    );
    assert!(
        moved(
            "authproxy_logins_total",
            &[("stage", "completed"), ("realm", "tenant-a")]
        ) >= 1.0,
        "{after}"
    );
    assert!(
        moved("authproxy_handoffs_total", &[("outcome", "redeemed")]) >= 1.0,
        "{after}"
    );
    assert!(
        moved("authproxy_rate_limited_total", &[("limit", "ip")]) >= 1.0,
        "{after}"
    );
    assert!(
        moved(
            "authproxy_idp_requests_total",
            &[("endpoint", "token"), ("outcome", "ok")]
        ) >= 1.0,
        "{after}"
    );
    assert!(
        moved(
            "authproxy_http_request_duration_seconds_count",
            &[("route", "/api/handoff")]
        ) >= 1.0,
        "{after}"
    );
    // The service's own port does not serve metrics.
    let own = app.browser.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(own.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_flood_of_refusals_writes_a_bounded_number_of_lines() {
    let app = TestApp::start(
        TestConfig::demo()
            .server("per_ip_burst", 1)
            .server("per_ip_per_minute", 1)
            .server("trusted_proxies", "[\"127.0.0.1\"]"),
    )
    .await;
    let http = reqwest::Client::new();
    for _ in 0..500 {
        http.get(app.url("/api/user/?user=someone@corp.test"))
            .header("x-forwarded-for", "198.18.7.7")
            .send()
            .await
            .unwrap();
    }
    let logs = captured_logs();
    let lines = logs
        .lines()
        .filter(|l| mentions_client(l, "198.18.7.7"))
        .count();
    // The first success is sampled at most, the first refusal is logged, the
    // other 498 are only counted until the interval's summary line.
    assert!((1..=2).contains(&lines), "{lines} lines for 500 requests");
}

/// Starts the binary on `config`, its stdout lines sent to the returned channel.
fn serve_with_output(
    config: &std::path::Path,
) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_authproxy"))
        .args(["serve", "--config", config.to_str().unwrap()])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines() {
            if lines.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    (child, received)
}

/// Lines until one contains `needle` (or 20 seconds pass); all of them.
fn lines_until(lines: &std::sync::mpsc::Receiver<String>, needle: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    while let Ok(line) = lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        let done = line.contains(needle);
        seen.push(line);
        if done {
            return seen;
        }
    }
    panic!("no line with {needle:?} in {seen:#?}");
}

fn signal(child: &std::process::Child, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn json_logs_carry_the_request_and_the_refusal_and_sighup_is_logged_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = dir.path().join("authproxy.toml");
    let base = format!("http://127.0.0.1:{port}");
    write(
        &config,
        &format!(
            "{}[log]\nformat = \"json\"\naccess = \"on\"\n",
            TestConfig::demo().render(
                &format!("127.0.0.1:{port}"),
                Some(&base),
                &dir.path().join("authproxy.db")
            )
        ),
    );
    let (mut child, lines) = serve_with_output(&config);
    lines_until(&lines, "authproxy listening");
    let http = reqwest::Client::new();
    let refused = http
        .get(format!("{base}/login?client_id=localhost:8081&user=alice@tenant-a.test&origin=https://evil.example&txn=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&txn_challenge=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
        .header("origin", "https://evil.example")
        .header("x-request-id", "ticket-4711")
        .send()
        .await
        .unwrap();
    assert!(refused.status().is_client_error());
    http.get(format!("{base}/healthz")).send().await.unwrap();
    let seen = lines_until(&lines, "\"route\":\"/healthz\"");
    let parsed: Vec<Value> = seen
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let refusal = parsed
        .iter()
        .find(|l| l["message"] == "request refused")
        .unwrap_or_else(|| panic!("{parsed:#?}"));
    assert_eq!(refusal["span"]["request_id"], "ticket-4711", "{refusal}");
    assert_eq!(refusal["span"]["route"], "/login", "{refusal}");
    assert_eq!(refusal["span"]["client"], "127.0.0.1", "{refusal}");
    assert_eq!(refusal["span"]["client_id"], "localhost:8081", "{refusal}");
    assert_eq!(refusal["status"], 403, "{refusal}");
    assert_eq!(refusal["code"], "origin_not_allowed", "{refusal}");
    assert_eq!(refusal["origin"], "https://evil.example", "{refusal}");
    assert!(
        !seen.iter().any(|l| l.contains("alice@")),
        "no email address is logged"
    );

    // SIGHUP is logged and ignored; the broker still answers.
    signal(&child, "HUP");
    lines_until(&lines, "SIGHUP ignored");
    assert_eq!(
        http.get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    signal(&child, "TERM");
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}
