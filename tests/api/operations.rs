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
    let ready = app
        .browser
        .get(app.url("/readyz"))
        .header("x-request-id", "drain-probe-7")
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["draining"], true, "{body}");
    assert_eq!(body["store"], "ok", "the stores are fine: {body}");
    // A draining replica's probe is no failure: no warning per probe.
    assert!(
        !crate::support::captured_logs()
            .lines()
            .any(|l| l.contains("drain-probe-7") && l.contains("WARN")),
        "a drain probe logged a warning"
    );
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
pub(crate) fn sample(metrics: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
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
    assert!(
        moved(
            "authproxy_store_operation_duration_seconds_count",
            &[("backend", "sqlite")]
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
    // Milliseconds to the microsecond, as a person reads them.
    assert!(refusal["latency_ms"].is_number(), "{refusal}");
    let latency = refusal["latency_ms"].to_string();
    assert!(
        latency
            .split_once('.')
            .is_none_or(|(_, decimals)| decimals.len() <= 3),
        "{refusal}"
    );
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

/// A self-signed certificate for `localhost`: its PEM, its key's PEM, its DER.
fn certificate() -> (String, String, Vec<u8>) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    (
        made.cert.pem(),
        made.signing_key.serialize_pem(),
        made.cert.der().to_vec(),
    )
}

/// The certificate `https://localhost:PORT/healthz` is served with, trusting `roots`.
async fn served_certificate(addr: std::net::SocketAddr, roots: &[&str]) -> Option<Vec<u8>> {
    let mut builder = reqwest::Client::builder()
        .tls_info(true)
        .resolve("localhost", addr);
    for root in roots {
        builder =
            builder.add_root_certificate(reqwest::Certificate::from_pem(root.as_bytes()).unwrap());
    }
    let response = builder
        .build()
        .unwrap()
        .get(format!("https://localhost:{}/healthz", addr.port()))
        .send()
        .await
        .ok()?;
    assert_eq!(response.status(), StatusCode::OK);
    response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate().map(<[u8]>::to_vec))
}

#[tokio::test]
async fn the_listener_speaks_tls_and_serves_a_renewed_certificate_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    let (first_pem, first_key, first_der) = certificate();
    write(&cert_path, &first_pem);
    write(&key_path, &first_key);
    let quoted = |p: &std::path::Path| serde_json::to_string(p.to_str().unwrap()).unwrap();
    let app = TestApp::start(
        TestConfig::demo()
            .server("tls_cert_file", quoted(&cert_path))
            .server("tls_key_file", quoted(&key_path)),
    )
    .await;
    let addr: std::net::SocketAddr = app.base_url.trim_start_matches("http://").parse().unwrap();
    let (second_pem, second_key, second_der) = certificate();
    assert_eq!(
        served_certificate(addr, &[&first_pem, &second_pem])
            .await
            .as_deref(),
        Some(first_der.as_slice())
    );
    // Plain HTTP is not answered on a TLS listener.
    assert!(
        reqwest::get(format!("http://{addr}/healthz"))
            .await
            .map_or(true, |r| !r.status().is_success())
    );
    // The certificate is renewed on disk: served within seconds, no restart.
    write(&key_path, &second_key);
    write(&cert_path, &second_pem);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let served = served_certificate(addr, &[&first_pem, &second_pem]).await;
        if served.as_deref() == Some(second_der.as_slice()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the renewed certificate was not served"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // A damaged renewal keeps the working certificate in service.
    write(&cert_path, "not a certificate");
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        served_certificate(addr, &[&first_pem, &second_pem])
            .await
            .as_deref(),
        Some(second_der.as_slice())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callers_traceparent_is_continued_to_the_realm_and_exported_over_otlp() {
    use std::sync::{Arc, Mutex};
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    // A collector that keeps what it is sent.
    let exported: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
    let kept = Arc::clone(&exported);
    let collector = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector_url = format!("http://{}/v1/traces", collector.local_addr().unwrap());
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            kept.lock().unwrap().push(body.to_vec());
            async { "" }
        }),
    );
    tokio::spawn(async move { axum::serve(collector, app).await.unwrap() });
    // A realm that keeps the traceparent headers it receives.
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let noted = Arc::clone(&seen);
    let realm = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}/realms/traced", realm.local_addr().unwrap());
    let metadata = json_metadata(&issuer);
    let app = axum::Router::new().route(
        "/realms/traced/.well-known/openid-configuration",
        axum::routing::get(move |headers: axum::http::HeaderMap| {
            if let Some(parent) = headers.get("traceparent") {
                noted
                    .lock()
                    .unwrap()
                    .push(parent.to_str().unwrap().to_owned());
            }
            let metadata = metadata.clone();
            async move { axum::Json(metadata) }
        }),
    );
    tokio::spawn(async move { axum::serve(realm, app).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let config = dir.path().join("authproxy.toml");
    write(
        &config,
        &format!(
            "{}[tracing]\notlp_endpoint = \"{collector_url}\"\nservice_name = \"authproxy-test\"\n",
            TestConfig::empty().realm("traced", &issuer).render(
                &format!("127.0.0.1:{port}"),
                Some(&base),
                &dir.path().join("authproxy.db")
            )
        ),
    );
    let (child, lines) = serve_with_output(&config);
    lines_until(&lines, "authproxy listening");
    let report: Value = reqwest::Client::new()
        .get(format!("{base}/readyz?verbose"))
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["realms"]["traced"]["status"], "up", "{report}");
    let parents = seen.lock().unwrap().clone();
    assert!(
        parents
            .iter()
            .any(|p| p.starts_with(&format!("00-{trace_id}-")) && !p.contains("00f067aa0ba902b7")),
        "the realm call continues the caller's trace in a span of its own: {parents:?}"
    );
    // Spans are exported (at the latest when the broker stops).
    signal(&child, "TERM");
    let status = tokio::task::spawn_blocking(move || {
        let mut child = child;
        child.wait().unwrap()
    })
    .await
    .unwrap();
    assert!(status.success());
    let raw_id: Vec<u8> = (0..trace_id.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&trace_id[i..i + 2], 16).unwrap())
        .collect();
    let bodies = exported.lock().unwrap().clone();
    assert!(
        bodies
            .iter()
            .any(|b| b.windows(16).any(|w| w == raw_id.as_slice())),
        "{} export(s), none with the trace",
        bodies.len()
    );
}

/// OpenID Connect metadata of a realm at `issuer` (enough to pass the check).
fn json_metadata(issuer: &str) -> Value {
    serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/protocol/openid-connect/auth"),
        "token_endpoint": format!("{issuer}/protocol/openid-connect/token"),
        "jwks_uri": format!("{issuer}/protocol/openid-connect/certs"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    })
}

#[tokio::test]
async fn realms_put_asks_the_realm_first_and_says_what_is_wrong() {
    let app = TestApp::spawn().await;
    let closed = format!("http://127.0.0.1:{}/realms/nowhere", free_port());
    let put = |authority: &str, extra: &[&str]| {
        let mut args = vec!["realms", "put", "checked", "--authority", authority];
        args.extend_from_slice(extra);
        crate::support::cli(&app.config_path, &args)
    };
    let refused = put(&closed, &[]);
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("authority")
            && stderr.contains("could not be reached")
            && stderr.contains("nothing was saved"),
        "{stderr}"
    );
    // A realm name the realm server does not have.
    let missing = crate::support::idp().authority("no-such-realm");
    let refused = put(&missing, &[]);
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("404") || stderr.contains("metadata"),
        "{stderr}"
    );
    // Nothing was saved.
    let listed = crate::support::cli(&app.config_path, &["realms", "list"]);
    assert!(!String::from_utf8_lossy(&listed.stdout).contains("checked"));
    // Asked to, it saves without asking the realm.
    assert!(put(&closed, &["--no-check"]).status.success());
    // The admin API checks the same way, and takes ?check=false.
    let admin = app.admin();
    let body = serde_json::json!({"name": "api-checked", "authority": closed});
    let refused = admin
        .send_json(reqwest::Method::PUT, "/admin/api/realms/api-checked", &body)
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = refused.json().await.unwrap();
    assert!(
        problem.to_string().contains("could not be reached"),
        "{problem}"
    );
    let saved = admin
        .send_json(
            reqwest::Method::PUT,
            "/admin/api/realms/api-checked?check=false",
            &body,
        )
        .await;
    assert_eq!(saved.status(), StatusCode::OK);
}

#[test]
fn realm_secrets_are_read_from_a_folder_of_files_and_a_missing_one_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("realm-secrets");
    std::fs::create_dir(&secrets).unwrap();
    let config = dir.path().join("authproxy.toml");
    let realm = "[[realms]]\nname = \"acme\"\nauthority = \"https://kc.example.com/realms/acme\"\nbroker_client_id = \"authproxy-broker\"\n";
    write(
        &config,
        &format!(
            "[store]\nsqlite_path = {:?}\n[idp]\nrealm_secrets_dir = {:?}\n{realm}",
            dir.path().join("authproxy.db"),
            secrets
        ),
    );
    let check = || {
        Command::new(env!("CARGO_BIN_EXE_authproxy"))
            .args(["check-config", config.to_str().unwrap()])
            .output()
            .unwrap()
    };
    let missing = check();
    assert_eq!(missing.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("realms[0].broker_client_secret")
            && stderr.contains(&secrets.join("acme").display().to_string()),
        "{stderr}"
    );
    write(&secrets.join("acme"), "the-broker-secret\n");
    let found = check();
    assert!(
        found.status.success(),
        "{}",
        String::from_utf8_lossy(&found.stderr)
    );
}
