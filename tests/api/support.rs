//! Test harness: the shared dev IdP, a log capture, and `TestApp` (one broker on
//! port 0 with its own database, clock and cookie-keeping HTTP client).

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

use authproxy::clock::{Clock as _, ManualClock, SystemClock};
use authproxy::config::RawConfig;
use authproxy::crypto;
use authproxy::startup::Application;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{StatusCode, redirect};
use serde_json::Value;
use url::Url;

pub const CRM_ORIGIN: &str = "http://localhost:8081";
pub const CLIENT_ID: &str = "localhost:8081";
pub const BROKER_CLIENT: (&str, &str) = ("authproxy-broker", "authproxy-broker-secret");

/// The dev IdP process, shared by every test of this binary.
pub struct Idp {
    pub base_url: String,
    _child: Mutex<Child>,
}

impl Idp {
    pub fn authority(&self, realm: &str) -> String {
        format!("{}/realms/{realm}", self.base_url)
    }
}

pub fn idp() -> &'static Idp {
    static IDP: OnceLock<Idp> = OnceLock::new();
    IDP.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/idp");
        assert!(
            std::path::Path::new(dir).join("node_modules").exists(),
            "the dev IdP's packages are missing: run scripts/test (or npm ci in tests/idp)"
        );
        let log = std::fs::File::create(concat!(env!("CARGO_MANIFEST_DIR"), "/target/dev-idp.log"))
            .unwrap();
        let mut child = Command::new("node")
            .args(["server.js", "--port", "0", "--exit-with-stdin"])
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("node must be installed to run the dev IdP");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let base_url = loop {
            line.clear();
            assert!(
                stdout.read_line(&mut line).unwrap() > 0,
                "the dev IdP exited; see target/dev-idp.log"
            );
            if let Some(url) = line.trim().strip_prefix("authproxy-dev-idp listening on ") {
                break url.to_owned();
            }
        };
        // Keep draining its output so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in stdout.lines() {});
        Idp {
            base_url,
            _child: Mutex::new(child),
        }
    })
}

/// Every log line the broker writes during this test binary's run.
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&log_buffer().lock().unwrap()).into_owned()
}

fn log_buffer() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = Arc::clone(&buffer);
        tracing_subscriber::fmt()
            .with_env_filter("debug,hyper=info,h2=info,reqwest=debug,rustls=info")
            .with_ansi(false)
            .with_writer(move || CaptureWriter(Arc::clone(&writer)))
            .try_init()
            .ok();
        buffer
    })
}

struct CaptureWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Registers the demo client at the dev IdP with this broker's redirect URIs,
/// through the IdP's Keycloak-style Admin REST API.
async fn register_client(http: &reqwest::Client, broker: &str) {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _guard = LOCK.lock().await;
    let idp = idp();
    for realm in ["tenant-a", "tenant-b"] {
        let token: Value = http
            .post(format!(
                "{}/protocol/openid-connect/token",
                idp.authority(realm)
            ))
            .basic_auth(BROKER_CLIENT.0, Some(BROKER_CLIENT.1))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let bearer = token["access_token"].as_str().unwrap().to_owned();
        let clients_url = format!("{}/admin/realms/{realm}/clients", idp.base_url);
        let existing: Vec<Value> = http
            .get(&clients_url)
            .query(&[("clientId", CLIENT_ID)])
            .bearer_auth(&bearer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mine = [
            format!("{broker}/authproxy"),
            format!("{broker}/authproxy/{CLIENT_ID}"),
        ];
        match existing.first() {
            None => {
                let created = http
                    .post(&clients_url)
                    .bearer_auth(&bearer)
                    .json(&serde_json::json!({
                        "clientId": CLIENT_ID, "publicClient": true,
                        "redirectUris": mine, "webOrigins": [CRM_ORIGIN],
                        "attributes": {"pkce.code.challenge.method": "S256"},
                    }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(created.status(), StatusCode::CREATED);
            }
            Some(client) => {
                let mut uris: Vec<Value> = client["redirectUris"].as_array().unwrap().clone();
                uris.extend(mine.iter().map(|u| Value::String(u.clone())));
                let updated = http
                    .put(format!("{clients_url}/{}", client["id"].as_str().unwrap()))
                    .bearer_auth(&bearer)
                    .json(&serde_json::json!({"redirectUris": uris}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(updated.status(), StatusCode::NO_CONTENT);
            }
        }
    }
}

/// One broker under test.
pub struct TestApp {
    pub base_url: String,
    pub clock: Arc<ManualClock>,
    /// A browser-like client: keeps cookies, never follows redirects.
    pub browser: reqwest::Client,
    pub db_path: std::path::PathBuf,
    pub config_path: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

/// A login started with `/login`: what the opener holds and where the popup goes.
pub struct StartedLogin {
    pub txn: String,
    pub verifier: String,
    pub authorize_url: Url,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with("").await
    }

    /// Starts a broker whose config is the demo's plus `extra` TOML.
    pub async fn spawn_with(extra: &str) -> Self {
        Self::spawn_with_broker(extra, BROKER_CLIENT).await
    }

    /// As `spawn_with`, with the broker's confidential client in the realms given.
    pub async fn spawn_with_broker(extra: &str, broker: (&str, &str)) -> Self {
        Self::spawn_configured("", extra, broker).await
    }

    /// A broker with extra `[server]` keys (limits, timeouts).
    pub async fn spawn_with_server(server: &str) -> Self {
        Self::spawn_configured(server, "", BROKER_CLIENT).await
    }

    async fn spawn_configured(server: &str, extra: &str, broker: (&str, &str)) -> Self {
        log_buffer();
        let idp = idp();
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let db_path = dir.path().join("authproxy.db");
        let toml = format!(
            r#"
[server]
listen = "127.0.0.1:0"
public_url = "{base_url}"
handoff_wait_secs = 5
{server}
[store]
sqlite_path = "{db}"
[[realms]]
name = "tenant-a"
authority = "{a}"
broker_client_id = "{broker_id}"
broker_client_secret = "{broker_secret}"
[[realms]]
name = "tenant-b"
authority = "{b}"
broker_client_id = "{broker_id}"
broker_client_secret = "{broker_secret}"
[[clients]]
client_id = "{CLIENT_ID}"
realms = ["tenant-a", "tenant-b"]
origins = ["{CRM_ORIGIN}"]
[[directory.users]]
user = "alice@tenant-a.test"
realm = "tenant-a"
[[directory.users]]
user = "bob@tenant-b.test"
realm = "tenant-b"
[[directory.users]]
user = "legacy@tenant-a.test"
not_migrated = true
[[directory.domains]]
domain = "corp.test"
realm = "tenant-a"
idp_hint = "corp-idp"
{extra}
"#,
            db = db_path.display(),
            a = idp.authority("tenant-a"),
            b = idp.authority("tenant-b"),
            broker_id = broker.0,
            broker_secret = broker.1,
        );
        let config_path = dir.path().join("authproxy.toml");
        std::fs::write(&config_path, toml).unwrap();
        let config = RawConfig::load(&config_path).unwrap().validate().unwrap();
        let clock = Arc::new(ManualClock::starting_at(SystemClock.now()));
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(redirect::Policy::none())
            .build()
            .unwrap();
        register_client(&browser, &base_url).await;
        let app = Application::build_with(config, listener, clock.clone())
            .await
            .unwrap();
        tokio::spawn(app.run_until(std::future::pending()));
        Self {
            base_url,
            clock,
            browser,
            db_path,
            config_path,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub async fn discover(&self, user: &str) -> reqwest::Response {
        self.browser
            .get(self.url("/api/user/"))
            .query(&[("user", user)])
            .send()
            .await
            .unwrap()
    }

    /// `GET /login` as the popup would, returning the response itself.
    pub async fn login_response(
        &self,
        user: &str,
        origin: &str,
        txn: &str,
        challenge: &str,
    ) -> reqwest::Response {
        self.browser
            .get(self.url("/login"))
            .query(&[
                ("client_id", CLIENT_ID),
                ("user", user),
                ("origin", origin),
                ("txn", txn),
                ("txn_challenge", challenge),
            ])
            .send()
            .await
            .unwrap()
    }

    /// Starts a login for `user` from the CRM origin; expects the redirect.
    pub async fn start_login(&self, user: &str) -> StartedLogin {
        self.start_login_for(CLIENT_ID, user).await
    }

    /// Starts a login through `client_id` from the CRM origin; expects the redirect.
    pub async fn start_login_for(&self, client_id: &str, user: &str) -> StartedLogin {
        let txn = crypto::random_token().unwrap();
        let verifier = crypto::random_token().unwrap();
        let response = self
            .browser
            .get(self.url("/login"))
            .query(&[
                ("client_id", client_id),
                ("user", user),
                ("origin", CRM_ORIGIN),
                ("txn", &txn),
                ("txn_challenge", &crypto::sha256_b64url(&verifier)),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::FOUND,
            "{}",
            response.text().await.unwrap()
        );
        let authorize_url = Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
        StartedLogin {
            txn,
            verifier,
            authorize_url,
        }
    }

    /// Drives the dev IdP's pages as a user would: follows its redirects, fills in
    /// the login form (at the external IdP too, when the realm sends us there) and
    /// returns the URL the realm redirects back to (the broker's callback).
    pub async fn sign_in_at_idp(&self, authorize_url: &Url, username: &str, password: &str) -> Url {
        let mut response = self
            .browser
            .get(authorize_url.clone())
            .send()
            .await
            .unwrap();
        loop {
            let status = response.status();
            if status.is_redirection() {
                let next = response
                    .url()
                    .join(response.headers()["location"].to_str().unwrap())
                    .unwrap();
                if next.as_str().starts_with(&self.base_url) {
                    return next;
                }
                response = self.browser.get(next).send().await.unwrap();
                continue;
            }
            let page_url = response.url().clone();
            let html = response.text().await.unwrap();
            assert_eq!(status, StatusCode::OK, "unexpected IdP page: {html}");
            assert!(
                !html.contains("id=\"input-error\""),
                "the IdP refused the credentials"
            );
            let action = html
                .split("action=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .expect("a login form");
            response = self
                .browser
                .post(page_url.join(action).unwrap())
                .form(&[("username", username), ("password", password)])
                .send()
                .await
                .unwrap();
        }
    }

    /// `POST /api/handoff/confirm`, as the SDK does when the completion page's
    /// message reaches it.
    pub async fn confirm(&self, txn: &str, confirmation: &str) -> reqwest::Response {
        self.browser
            .post(self.url("/api/handoff/confirm"))
            .header("origin", CRM_ORIGIN)
            .json(&serde_json::json!({"txn": txn, "confirmation": confirmation}))
            .send()
            .await
            .unwrap()
    }

    /// The page at `url`, as this browser loads it.
    pub async fn page(&self, url: Url) -> String {
        self.browser
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Loads the completion page at `callback` and confirms its login as the
    /// opener of the registered origin would; returns the page's HTML.
    pub async fn complete_and_confirm(&self, callback: Url, txn: &str) -> String {
        let html = self.page(callback).await;
        let confirmed = self.confirm(txn, &confirmation_in(&html)).await;
        assert_eq!(confirmed.status(), StatusCode::OK, "{html}");
        html
    }

    /// A whole login of `user` as the SDK does it (popup, sign-in at the realm,
    /// completion page, confirmation, redemption); returns the redeemed tokens.
    pub async fn log_in(&self, user: &str, username: &str, password: &str) -> Value {
        let login = self.start_login(user).await;
        let callback = self
            .sign_in_at_idp(&login.authorize_url, username, password)
            .await;
        self.complete_and_confirm(callback, &login.txn).await;
        let redeemed = self
            .handoff("/api/handoff", &login.txn, &login.verifier)
            .await;
        assert_eq!(redeemed.status(), StatusCode::OK);
        redeemed.json().await.unwrap()
    }

    pub async fn handoff(&self, path: &str, txn: &str, verifier: &str) -> reqwest::Response {
        self.browser
            .post(self.url(path))
            .header("origin", CRM_ORIGIN)
            .json(&serde_json::json!({"txn": txn, "txn_verifier": verifier}))
            .send()
            .await
            .unwrap()
    }
}

/// The confirmation a completion page hands to its opener.
pub fn confirmation_in(html: &str) -> String {
    html.split("data-confirmation=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("no confirmation in the page: {html}"))
        .to_owned()
}

/// The decoded payload of a JWT (signature not checked here).
pub fn jwt_claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// Verifies a JWT's signature against the realm's published keys.
pub async fn verify_against_realm_keys(jwt: &str, realm: &str) {
    use openidconnect::JsonWebKey as _;
    use openidconnect::core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm};
    let keys: CoreJsonWebKeySet = reqwest::get(format!(
        "{}/protocol/openid-connect/certs",
        idp().authority(realm)
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let parts: Vec<&str> = jwt.split('.').collect();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "RS256");
    let key = keys
        .keys()
        .iter()
        .find(|k| k.key_id().map(|id| id.as_str()) == header["kid"].as_str())
        .expect("the token's kid is among the realm's keys");
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    key.verify_signature(
        &CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        format!("{}.{}", parts[0], parts[1]).as_bytes(),
        &signature,
    )
    .expect("the signature verifies against the realm's JWKS");
}

/// Asserts an HTML page is a refusal: the status, the stable code, no script.
pub async fn assert_refused_page(response: reqwest::Response, status: StatusCode, code: &str) {
    assert_eq!(response.status(), status);
    assert!(response.headers().get("location").is_none());
    let html = response.text().await.unwrap();
    assert!(
        html.contains(&format!("<code id=\"code\">{code}</code>")),
        "expected code {code} in: {html}"
    );
    assert!(
        !html.contains("<script"),
        "an error page must not carry script: {html}"
    );
    assert!(!html.contains("postMessage"));
}

pub fn write(path: &std::path::Path, text: &str) {
    std::fs::File::create(path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
}

/// A new admin token for the store of `config`, made with `authproxy admin create-token`.
pub fn admin_token_for(config: &std::path::Path) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_authproxy"))
        .env("AUTHPROXY_ACTOR", "tests")
        .args(["admin", "create-token", "--label", "tests", "--config"])
        .arg(config)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

impl TestApp {
    /// Runs the real `authproxy` binary against this app's configuration.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_authproxy"))
            .env("AUTHPROXY_ACTOR", "tests")
            .args(args)
            .arg("--config")
            .arg(&self.config_path)
            .output()
            .unwrap()
    }

    /// A new admin token, made with `authproxy admin create-token`.
    pub fn admin_token(&self) -> String {
        admin_token_for(&self.config_path)
    }

    /// Creates an impersonation caller through the admin API; returns its secret.
    pub async fn create_caller(&self, token: &str, caller_id: &str, policy: Value) -> String {
        let response = self
            .browser
            .post(self.url("/admin/api/callers"))
            .bearer_auth(token)
            .json(&serde_json::json!({"caller_id": caller_id, "policy": policy}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json::<Value>().await.unwrap()["secret"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The audit trail, through the admin API.
    pub async fn audit(&self, token: &str) -> Vec<Value> {
        self.browser
            .get(self.url("/admin/api/audit"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn impersonate(&self, caller: &str, secret: &str, body: Value) -> reqwest::Response {
        self.browser
            .post(self.url("/api/impersonation"))
            .basic_auth(caller, Some(secret))
            .json(&body)
            .send()
            .await
            .unwrap()
    }
}

/// Asserts a completion page of a failed login (after the state was consumed): the
/// status and stable code, a message for the opener that carries only the txn and
/// its confirmation. Returns the page.
pub async fn assert_failed_login_page(
    response: reqwest::Response,
    status: StatusCode,
    code: &str,
) -> String {
    assert_eq!(response.status(), status);
    assert!(response.headers().get("location").is_none());
    let html = response.text().await.unwrap();
    assert!(
        html.contains(&format!("<code id=\"code\">{code}</code>")),
        "expected code {code} in: {html}"
    );
    assert!(html.contains("data-confirmation=\""), "{html}");
    html
}

/// Asserts an error page of either kind: a refusal before any login was consumed
/// (no script at all) or the completion page of a failed login (whose only script
/// hands the confirmation to the bound origin).
pub async fn assert_error_page(response: reqwest::Response, status: StatusCode, code: &str) {
    assert_eq!(response.status(), status);
    let html = response.text().await.unwrap();
    assert!(
        html.contains(&format!("<code id=\"code\">{code}</code>")),
        "expected code {code} in: {html}"
    );
    assert!(
        !html.contains("<script") || html.contains("data-confirmation=\""),
        "only the completion page carries script: {html}"
    );
}

/// The status of an answer and its stable error code (`<no code>` when it has none).
pub async fn code_of(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (
        status,
        body["error"].as_str().unwrap_or("<no code>").to_owned(),
    )
}
