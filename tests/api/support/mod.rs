//! Test harness: `TestApp` (one broker on port 0 with its own database, clock
//! and cookie-keeping HTTP client) and the browser's side of a login. The dev
//! IdP, the configuration builder, the admin helpers, the log capture and the
//! assertions on answers and pages are in the submodules.

mod admin;
mod assertions;
mod config;
pub mod idp;
mod logs;
pub mod providers;
pub mod services;

use std::sync::Arc;

use authproxy::clock::{Clock as _, ManualClock, SystemClock};
use authproxy::config::RawConfig;
use authproxy::crypto;
use authproxy::startup::Application;
use reqwest::{StatusCode, redirect};
use serde_json::Value;
use url::Url;

pub use admin::{AdminApi, admin_token_for};
pub use assertions::*;
pub use config::TestConfig;
pub use idp::idp;
pub use logs::captured_logs;

pub const CRM_ORIGIN: &str = "http://localhost:8081";
pub const CLIENT_ID: &str = "localhost:8081";
pub const BROKER_CLIENT: (&str, &str) = ("authproxy-broker", "authproxy-broker-secret");

/// The audit trail of a broker's SQLite file refusing every row, as a full or
/// broken disk would, until this is dropped.
pub struct AuditTrailDown(rusqlite::Connection);

impl Drop for AuditTrailDown {
    fn drop(&mut self) {
        self.0.execute_batch("DROP TRIGGER audit_down;").unwrap();
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
    /// Where `/metrics` is served, when the configuration asks for it.
    pub metrics_addr: Option<std::net::SocketAddr>,
    _dir: tempfile::TempDir,
}

/// What stops a broker started with [`TestApp::start_stoppable`].
pub struct Stopper {
    /// Resolves the broker's shutdown signal (SIGTERM's stand-in).
    pub stop: tokio::sync::oneshot::Sender<()>,
    /// Ends when the broker has stopped.
    pub stopped: tokio::task::JoinHandle<()>,
}

/// Builds the broker on `listener` and runs it until its [`Stopper`] says.
async fn serve(
    config: authproxy::config::Config,
    listener: tokio::net::TcpListener,
    clock: &Arc<ManualClock>,
) -> (Option<std::net::SocketAddr>, Stopper) {
    let app = Application::build_with(config, listener, clock.clone())
        .await
        .unwrap();
    let metrics_addr = app.metrics_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let stopped = tokio::spawn(async move {
        app.run_until(async move {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    (metrics_addr, Stopper { stop, stopped })
}

/// The auto-submitted form of a page (the logout page's POST to the realm): its
/// action and hidden fields, HTML escapes undone.
pub fn form_of(html: &str) -> (String, std::collections::HashMap<String, String>) {
    let unescape = |s: &str| {
        s.replace("&#x2f;", "/")
            .replace("&#47;", "/")
            .replace("&amp;", "&")
    };
    let action = html
        .split("action=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .map_or_else(|| panic!("a form: {html}"), unescape);
    let fields = html
        .split("<input type=\"hidden\" name=\"")
        .skip(1)
        .map(|field| {
            let name = field.split('"').next().unwrap().to_owned();
            let value = field
                .split("value=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .map(unescape)
                .unwrap();
            (name, value)
        })
        .collect();
    (action, fields)
}

/// A browser of its own: a cookie jar, and redirects left to the test.
pub fn new_browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(redirect::Policy::none())
        .build()
        .unwrap()
}

/// How a sign-in at the realm went: where it came back, and the pages whose form
/// was filled in on the way.
pub struct SignIn {
    /// The broker's callback URL the realm redirected to.
    pub callback: Url,
    /// The pages whose login form was filled in.
    pub forms: Vec<Url>,
}

/// A login started with `/login`: what the opener holds and where the popup goes.
pub struct StartedLogin {
    pub txn: String,
    pub verifier: String,
    pub authorize_url: Url,
    /// The binding cookie `/login` set, as `name=value` (the sealed pending login).
    pub binding_cookie: String,
}

impl TestApp {
    /// Makes the audit table refuse inserts until the guard is dropped.
    pub fn audit_trail_down(&self) -> AuditTrailDown {
        let db = rusqlite::Connection::open(&self.db_path).unwrap();
        db.execute_batch(
            "CREATE TRIGGER audit_down BEFORE INSERT ON audit BEGIN SELECT RAISE(FAIL, 'audit trail down'); END;",
        )
        .unwrap();
        AuditTrailDown(db)
    }

    /// A broker with the demo configuration.
    pub async fn spawn() -> Self {
        Self::start(TestConfig::demo()).await
    }

    /// A broker with `config`, on port 0, with its own database and clock.
    pub async fn start(config: TestConfig) -> Self {
        let (app, stopper) = Self::start_stoppable(config).await;
        // Never stopped: the test's end ends it.
        std::mem::forget(stopper.stop);
        app
    }

    /// The same, with what stops it as SIGTERM would.
    pub async fn start_stoppable(config: TestConfig) -> (Self, Stopper) {
        logs::log_buffer();
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let db_path = dir.path().join("authproxy.db");
        let config_path = dir.path().join("authproxy.toml");
        std::fs::write(
            &config_path,
            config.render("127.0.0.1:0", Some(&base_url), &db_path),
        )
        .unwrap();
        let dev_idp = config.dev_idp;
        let config = RawConfig::load(&config_path).unwrap().validate().unwrap();
        let clock = Arc::new(ManualClock::starting_at(SystemClock.now()));
        let browser = new_browser();
        if dev_idp {
            idp::register_client(&browser, &base_url).await;
        }
        let (metrics_addr, stopper) = serve(config, listener, &clock).await;
        (
            Self {
                base_url,
                clock,
                browser,
                db_path,
                config_path,
                metrics_addr,
                _dir: dir,
            },
            stopper,
        )
    }

    /// Stops this broker and starts it again on the same address, files and
    /// clock: what a restart of a single node does (everything in its memory is
    /// gone).
    pub async fn restart(self, stopper: Stopper) -> (Self, Stopper) {
        let _ = stopper.stop.send(());
        stopper.stopped.await.unwrap();
        let address = self.base_url.trim_start_matches("http://").to_owned();
        let listener = tokio::net::TcpListener::bind(&address).await.unwrap();
        let config = RawConfig::load(&self.config_path)
            .unwrap()
            .validate()
            .unwrap();
        let (metrics_addr, stopper) = serve(config, listener, &self.clock).await;
        (
            Self {
                metrics_addr,
                ..self
            },
            stopper,
        )
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// `GET path` on this broker, its body as JSON (whatever the status).
    pub async fn get_json(&self, path: &str) -> Value {
        self.browser
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
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
        self.start_login_with(client_id, user, &[]).await
    }

    /// Starts a silent login (`prompt=none`) for `user` from the CRM origin;
    /// expects the redirect.
    pub async fn start_silent_login(&self, user: &str) -> StartedLogin {
        self.start_login_with(CLIENT_ID, user, &[("prompt", "none")])
            .await
    }

    /// Starts a login with further `/login` parameters; expects the redirect.
    async fn start_login_with(
        &self,
        client_id: &str,
        user: &str,
        extra: &[(&str, &str)],
    ) -> StartedLogin {
        start_login_in(&self.browser, &self.base_url, client_id, user, extra).await
    }

    /// Drives the realm's pages as a user would: follows its redirects, fills in
    /// the login form (at the external IdP too, when the realm sends us there) and
    /// returns the URL the realm redirects back to (the broker's callback).
    pub async fn sign_in_at_idp(&self, authorize_url: &Url, username: &str, password: &str) -> Url {
        self.sign_in(authorize_url, username, password)
            .await
            .callback
    }

    /// Signs `user` in to the admin console through the admin realm's form
    /// (PKCE S256, the console's callback, the broker's host as client ID); the
    /// callback's answer.
    pub async fn console_sign_in(&self, user: &str, password: &str) -> reqwest::Response {
        self.console_sign_in_from(&self.browser, user, password)
            .await
    }

    /// As [`TestApp::console_sign_in`], in another browser (its own cookies at
    /// the broker and at the realm).
    pub async fn console_sign_in_from(
        &self,
        browser: &reqwest::Client,
        user: &str,
        password: &str,
    ) -> reqwest::Response {
        let start = browser.get(self.url("/admin/login")).send().await.unwrap();
        assert_eq!(start.status(), reqwest::StatusCode::FOUND);
        let authorize = Url::parse(start.headers()["location"].to_str().unwrap()).unwrap();
        let query: std::collections::HashMap<_, _> = authorize.query_pairs().into_owned().collect();
        assert_eq!(query["code_challenge_method"], "S256");
        assert_eq!(query["redirect_uri"], self.url("/admin/callback"));
        assert_eq!(
            query["client_id"],
            self.base_url.trim_start_matches("http://")
        );
        let callback = sign_in_as(browser, &self.base_url, &authorize, user, password)
            .await
            .callback;
        browser.get(callback).send().await.unwrap()
    }

    /// As [`TestApp::sign_in_at_idp`], also telling where forms were filled in.
    pub async fn sign_in(&self, authorize_url: &Url, username: &str, password: &str) -> SignIn {
        sign_in_as(
            &self.browser,
            &self.base_url,
            authorize_url,
            username,
            password,
        )
        .await
    }

    /// `POST /api/impersonation` as the caller `caller` with its secret.
    pub async fn impersonate(&self, caller: &str, secret: &str, body: Value) -> reqwest::Response {
        self.browser
            .post(self.url("/api/impersonation"))
            .basic_auth(caller, Some(secret))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// `POST /api/handoff/confirm`, as the SDK does when the completion page's
    /// message reaches it.
    pub async fn confirm(&self, txn: &str, confirmation: &str) -> reqwest::Response {
        self.confirm_as(CLIENT_ID, txn, confirmation).await
    }

    /// [`TestApp::confirm`] for a login of `client_id`.
    pub async fn confirm_as(
        &self,
        client_id: &str,
        txn: &str,
        confirmation: &str,
    ) -> reqwest::Response {
        self.browser
            .post(self.url("/api/handoff/confirm"))
            .header("origin", CRM_ORIGIN)
            .json(&serde_json::json!({"client_id": client_id, "txn": txn, "confirmation": confirmation}))
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
        self.complete_and_confirm_as(CLIENT_ID, callback, txn).await
    }

    /// [`TestApp::complete_and_confirm`] for a login of `client_id`.
    pub async fn complete_and_confirm_as(
        &self,
        client_id: &str,
        callback: Url,
        txn: &str,
    ) -> String {
        let html = self.page(callback).await;
        let confirmed = self
            .confirm_as(client_id, txn, &confirmation_in(&html))
            .await;
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
        self.handoff_as(CLIENT_ID, path, txn, verifier).await
    }

    /// [`TestApp::handoff`] for a login of `client_id`.
    pub async fn handoff_as(
        &self,
        client_id: &str,
        path: &str,
        txn: &str,
        verifier: &str,
    ) -> reqwest::Response {
        self.browser
            .post(self.url(path))
            .header("origin", CRM_ORIGIN)
            .json(
                &serde_json::json!({"client_id": client_id, "txn": txn, "txn_verifier": verifier}),
            )
            .send()
            .await
            .unwrap()
    }
}

/// Drives the realm's pages in `browser` as a user would, until the realm
/// redirects back to the broker at `broker_base`.
pub async fn sign_in_as(
    browser: &reqwest::Client,
    broker_base: &str,
    authorize_url: &Url,
    username: &str,
    password: &str,
) -> SignIn {
    let mut forms = Vec::new();
    let mut response = browser.get(authorize_url.clone()).send().await.unwrap();
    loop {
        let status = response.status();
        if status.is_redirection() {
            let next = response
                .url()
                .join(response.headers()["location"].to_str().unwrap())
                .unwrap();
            if next.as_str().starts_with(broker_base) {
                return SignIn {
                    callback: next,
                    forms,
                };
            }
            response = browser.get(next).send().await.unwrap();
            continue;
        }
        let page_url = response.url().clone();
        let html = response.text().await.unwrap();
        assert_eq!(status, StatusCode::OK, "unexpected IdP page: {html}");
        assert!(
            !html.contains("id=\"input-error\""),
            "the IdP refused the credentials: {html}"
        );
        let action = html
            .split("action=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or_else(|| panic!("a login form at {page_url}: {html}"))
            .replace("&amp;", "&");
        forms.push(page_url.clone());
        assert!(forms.len() < 5, "the realm keeps asking: {html}");
        response = browser
            .post(page_url.join(&action).unwrap())
            .form(&[("username", username), ("password", password)])
            .send()
            .await
            .unwrap();
    }
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `authproxy serve` on `config`; the child and its base URL.
pub fn serve_binary(config: &std::path::Path) -> (std::process::Child, String) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_authproxy"))
        .args(["serve", "--config", config.to_str().unwrap()])
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let addr = loop {
        let mut line = String::new();
        assert!(
            std::io::BufRead::read_line(&mut stdout, &mut line).unwrap() > 0,
            "the broker exited"
        );
        if let Some(rest) = line.split("addr=").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    std::thread::spawn(move || for _ in std::io::BufRead::lines(stdout) {});
    (child, format!("http://{addr}"))
}

/// Starts a login in `browser` at the broker at `broker_base`, for `user`
/// through `client_id` from the CRM origin, with further `/login` parameters;
/// expects the redirect to the realm.
pub async fn start_login_in(
    browser: &reqwest::Client,
    broker_base: &str,
    client_id: &str,
    user: &str,
    extra: &[(&str, &str)],
) -> StartedLogin {
    let txn = crypto::random_token().unwrap();
    let verifier = crypto::random_token().unwrap();
    let challenge = crypto::sha256_b64url(&verifier);
    let mut query = vec![
        ("client_id", client_id),
        ("user", user),
        ("origin", CRM_ORIGIN),
        ("txn", txn.as_str()),
        ("txn_challenge", challenge.as_str()),
    ];
    query.extend_from_slice(extra);
    let response = browser
        .get(format!("{broker_base}/login"))
        .query(&query)
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
    let binding_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    StartedLogin {
        txn,
        verifier,
        authorize_url,
        binding_cookie,
    }
}

/// `authproxy ARGS --config CONFIG`, as the actor `tests`.
pub fn cli(config: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_authproxy"))
        .env("AUTHPROXY_ACTOR", "tests")
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .unwrap()
}
