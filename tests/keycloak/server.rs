//! The Keycloak the conformance suite runs against: one per test run, started on
//! first use by `scripts/run-keycloak` (the installation `scripts/setup-keycloak`
//! makes, realms imported from `tests/keycloak/*.json`, a fresh data folder, HTTP
//! and management on free ports, its log in a file), and stopped when the test
//! process ends, even on a panic: it runs under a shell that stops it once the
//! process's pipe closes.
//!
//! With `AUTHPROXY_TEST_KEYCLOAK_URL` (and `AUTHPROXY_TEST_KEYCLOAK_ADMIN` /
//! `AUTHPROXY_TEST_KEYCLOAK_PASSWORD`, default `admin`/`admin`), the suite runs
//! against that server instead: the realms are created there through Admin REST
//! (an existing realm of the same name is replaced only with
//! `AUTHPROXY_TEST_KEYCLOAK_REPLACE_REALMS=yes`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::free_port;

/// The realms the suite imports.
pub const REALMS: [&str; 3] = ["tenant-a", "tenant-b", "corp-idp"];

/// The broker's confidential client in the tenant realms, with the
/// `impersonation` role, and one without it.
pub const BROKER: (&str, &str) = ("authproxy-broker", "authproxy-broker-secret");
pub const BROKER_WITHOUT_IMPERSONATION: (&str, &str) = (
    "authproxy-no-impersonation",
    "authproxy-no-impersonation-secret",
);

/// A Keycloak server and how to reach it.
pub struct Keycloak {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base_url: String,
    /// Where `/health/ready` answers (the management port), when started here.
    pub management_url: Option<String>,
    admin: (String, String),
    /// The server's log, when started here.
    pub log: Option<PathBuf>,
    /// What starts it (again): the command line, when started here.
    launch: Option<Launch>,
    /// The shell that runs it; dropping its stdin stops it.
    child: Mutex<Option<Child>>,
}

struct Launch {
    /// `scripts/run-keycloak --until-stdin-closes` takes these.
    args: Vec<String>,
    log: PathBuf,
}

impl Keycloak {
    /// The issuer of `realm`.
    pub fn authority(&self, realm: &str) -> String {
        format!("{}/realms/{realm}", self.base_url)
    }

    /// The last lines of the server's log, for a failed test.
    pub fn log_tail(&self, lines: usize) -> String {
        let Some(log) = &self.log else {
            return String::from("(the Keycloak was not started by the tests: no log here)");
        };
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        let from = all.len().saturating_sub(lines);
        format!(
            "--- {} (last {lines} lines) ---\n{}",
            log.display(),
            all[from..].join("\n")
        )
    }

    /// An access token of the master realm's admin, for Admin REST.
    pub async fn admin_token(&self) -> String {
        let http = reqwest::Client::new();
        let response: Value = http
            .post(format!(
                "{}/realms/master/protocol/openid-connect/token",
                self.base_url
            ))
            .form(&[
                ("grant_type", "password"),
                ("client_id", "admin-cli"),
                ("username", &self.admin.0),
                ("password", &self.admin.1),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        response["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no admin token from Keycloak: {response}"))
            .to_owned()
    }

    /// `GET {base}/admin/realms/{path}` as the admin, as JSON.
    pub async fn admin_get(&self, path: &str) -> Value {
        let response = reqwest::Client::new()
            .get(format!("{}/admin/realms/{path}", self.base_url))
            .bearer_auth(self.admin_token().await)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "GET {path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    /// `method {base}/admin/realms/{path}` with a JSON body, as the admin.
    pub async fn admin_send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
    ) -> reqwest::Response {
        reqwest::Client::new()
            .request(method, format!("{}/admin/realms/{path}", self.base_url))
            .bearer_auth(self.admin_token().await)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Stops the server (only one started here), waiting until it is gone.
    pub fn stop(&self) {
        let mut child = self.child.lock().unwrap();
        if let Some(mut child) = child.take() {
            // Closing its stdin makes run-keycloak stop Keycloak and wait for it.
            drop(child.stdin.take());
            child.wait().unwrap();
        }
    }

    /// Starts the server again after [`Keycloak::stop`], on the same ports and data.
    pub fn start_again(&self) {
        let launch = self
            .launch
            .as_ref()
            .expect("only a Keycloak started by the tests can be restarted");
        let child = spawn(launch);
        *self.child.lock().unwrap() = Some(child);
        let management = self.management_url.clone().unwrap_or_default();
        let log = launch.log.clone();
        // Its own thread: this runs inside a test's runtime.
        std::thread::spawn(move || wait_ready(&management, &log))
            .join()
            .unwrap_or_else(|_| panic!("Keycloak did not start again (see above)"));
    }
}

/// The suite's Keycloak, or why it could not be started.
static KEYCLOAK: OnceLock<Result<Keycloak, String>> = OnceLock::new();

/// The suite's Keycloak, started (or reached) on first use.
pub fn keycloak() -> &'static Keycloak {
    // A failed start is remembered: the other tests fail at once instead of each
    // trying (and waiting) again.
    let started = KEYCLOAK.get_or_init(|| {
        // Its own thread and runtime: this may run inside a test's runtime.
        std::thread::spawn(|| match std::env::var("AUTHPROXY_TEST_KEYCLOAK_URL") {
            Ok(url) => external(url.trim_end_matches('/').to_owned()),
            Err(_) => start_here(),
        })
        .join()
        .map_err(|panic| {
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default()
        })
    });
    match started {
        Ok(keycloak) => keycloak,
        Err(why) => panic!("Keycloak could not be started: {why}"),
    }
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The realm files, with the server's URL in place of `{{KEYCLOAK_URL}}`.
fn realm_files(base_url: &str) -> Vec<(String, String)> {
    REALMS
        .iter()
        .map(|name| {
            let path = repo().join(format!("tests/keycloak/{name}.json"));
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (
                (*name).to_owned(),
                text.replace("{{KEYCLOAK_URL}}", base_url),
            )
        })
        .collect()
}

/// Runs `scripts/setup-keycloak` (a no-op once installed), printing how long it took.
fn install() {
    let started = Instant::now();
    let output = Command::new(repo().join("scripts/setup-keycloak"))
        .stderr(Stdio::inherit())
        .output()
        .expect("scripts/setup-keycloak could not run");
    assert!(
        output.status.success(),
        "scripts/setup-keycloak failed (its messages are above)"
    );
    eprintln!("keycloak: installation ready in {:?}", started.elapsed());
}

fn start_here() -> Keycloak {
    // Fails fast, with what is missing, before anything is started.
    install();
    let runs = repo().join("target/keycloak-run");
    // Folders of earlier runs whose process is gone.
    for entry in std::fs::read_dir(&runs).into_iter().flatten().flatten() {
        let pid = entry.file_name().to_string_lossy().to_string();
        if !Path::new("/proc").join(&pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    let run = runs.join(std::process::id().to_string());
    let _ = std::fs::remove_dir_all(&run);
    std::fs::create_dir_all(&run).unwrap();
    let port = free_port();
    let management = free_port();
    let base_url = format!("http://127.0.0.1:{port}");
    let log = run.join("keycloak.log");
    let launch = Launch {
        args: vec![
            port.to_string(),
            management.to_string(),
            run.display().to_string(),
        ],
        log: log.clone(),
    };
    let started = Instant::now();
    let child = spawn(&launch);
    let management_url = format!("http://127.0.0.1:{management}");
    wait_ready(&management_url, &log);
    eprintln!(
        "keycloak: started at {base_url} in {:?} (log: {})",
        started.elapsed(),
        log.display()
    );
    Keycloak {
        base_url,
        management_url: Some(management_url),
        admin: ("admin".into(), "admin".into()),
        log: Some(log),
        launch: Some(launch),
        child: Mutex::new(Some(child)),
    }
}

fn spawn(launch: &Launch) -> Child {
    // Our end of its stdin is the stop signal: it closes when we stop it or end.
    Command::new(repo().join("scripts/run-keycloak"))
        .arg("--until-stdin-closes")
        .args(&launch.args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("scripts/run-keycloak runs Keycloak")
}

/// Waits until the management port says ready, or fails with the log.
fn wait_ready(management_url: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_mins(5);
    let url = format!("{management_url}/health/ready");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        loop {
            if let Ok(response) = http.get(&url).send().await
                && response.status().is_success()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "Keycloak was not ready within 5 minutes; its log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
}

fn external(base_url: String) -> Keycloak {
    let admin = (
        std::env::var("AUTHPROXY_TEST_KEYCLOAK_ADMIN").unwrap_or_else(|_| "admin".into()),
        std::env::var("AUTHPROXY_TEST_KEYCLOAK_PASSWORD").unwrap_or_else(|_| "admin".into()),
    );
    let keycloak = Keycloak {
        base_url,
        management_url: None,
        admin,
        log: None,
        launch: None,
        child: Mutex::new(None),
    };
    let replace = std::env::var("AUTHPROXY_TEST_KEYCLOAK_REPLACE_REALMS").as_deref() == Ok("yes");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        for (name, text) in realm_files(&keycloak.base_url) {
            let token = keycloak.admin_token().await;
            let http = reqwest::Client::new();
            let url = format!("{}/admin/realms/{name}", keycloak.base_url);
            let exists = http.get(&url).bearer_auth(&token).send().await.unwrap();
            if exists.status().is_success() {
                assert!(
                    replace,
                    "realm {name} exists on {}: set AUTHPROXY_TEST_KEYCLOAK_REPLACE_REALMS=yes to replace it \
                     (only on a server for tests)",
                    keycloak.base_url
                );
                let deleted = http.delete(&url).bearer_auth(&token).send().await.unwrap();
                assert!(deleted.status().is_success(), "deleting realm {name}");
            }
            let created = http
                .post(format!("{}/admin/realms", keycloak.base_url))
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(text)
                .send()
                .await
                .unwrap();
            assert!(
                created.status().is_success(),
                "creating realm {name}: {} {}",
                created.status(),
                created.text().await.unwrap_or_default()
            );
        }
    });
    keycloak
}

/// Runs a test body; when it fails, the end of Keycloak's log is printed with it.
pub async fn with_log<F>(body: F)
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    if let Err(err) = tokio::spawn(body).await {
        if let Some(Ok(keycloak)) = KEYCLOAK.get() {
            eprintln!("{}", keycloak.log_tail(80));
        }
        match err.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(err) => panic!("the test was cancelled: {err}"),
        }
    }
}
