//! Three `authproxy serve` processes on one PostgreSQL and one Redis, against the
//! suite's Keycloak: each step of a login may land on any replica, a replica may
//! die at any moment, and Redis and PostgreSQL may restart under them. One test
//! at a time: they restart the run's services.

use std::path::PathBuf;
use std::process::Child;
use std::time::{Duration, Instant};

use reqwest::{StatusCode, Url};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::conformance::shared;
use crate::server::{BROKER, keycloak, with_log};
use crate::support::services::{SharedStores, services};
use crate::support::{
    CRM_ORIGIN, StartedLogin, TestConfig, admin_token_for, cli, confirmation_in, free_port,
    serve_binary, sign_in_as, start_login_in, write,
};

/// The page client of these tests (apart from the conformance tests' client,
/// whose syncs would race with ours).
const CLIENT: &str = "replicas.localhost";

static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// One replica: its process (gone once killed) and where it listens.
struct Node {
    child: Option<Child>,
    base: String,
}

/// Three replicas behind one public URL (nothing listens there: each test picks
/// the replica every request goes to, as a load balancer would).
struct Replicas {
    nodes: Vec<Node>,
    configs: Vec<PathBuf>,
    public_url: String,
    /// A browser: keeps cookies (for every port of 127.0.0.1), follows no redirect.
    browser: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Replicas {
    async fn start() -> Self {
        let kc = keycloak();
        let shared = SharedStores::fresh().await;
        let dir = tempfile::tempdir().unwrap();
        let public_url = format!("http://127.0.0.1:{}", free_port());
        let keys = [
            ("broker_client_id", BROKER.0),
            ("broker_client_secret", BROKER.1),
        ];
        let config = TestConfig::empty()
            .server("handoff_wait_secs", 10)
            .server("per_ip_burst", 100_000)
            .server("per_ip_per_minute", 100_000)
            .idp_timeout_secs(5)
            .realm_with("tenant-a", &kc.authority("tenant-a"), &keys)
            .client(CLIENT, &["tenant-a"], &[CRM_ORIGIN])
            .user("alice@tenant-a.test", "tenant-a")
            .shared_with(&shared);
        let configs: Vec<PathBuf> = (0..3)
            .map(|i| {
                let path = dir.path().join(format!("authproxy-{i}.toml"));
                let listen = format!("127.0.0.1:{}", free_port());
                let unused = dir.path().join("unused.db");
                write(&path, &config.render(&listen, Some(&public_url), &unused));
                path
            })
            .collect();
        let nodes = configs
            .iter()
            .map(|config| {
                let (child, base) = serve_binary(config);
                Node {
                    child: Some(child),
                    base,
                }
            })
            .collect();
        let replicas = Self {
            nodes,
            configs,
            public_url,
            browser: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            _dir: dir,
        };
        replicas.sync();
        replicas
    }

    /// `clients sync`, through the first replica's configuration.
    fn sync(&self) {
        let output = cli(&self.configs[0], &["clients", "sync"]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn url(&self, node: usize, path: &str) -> String {
        format!("{}{path}", self.nodes[node].base)
    }

    /// SIGKILL.
    fn kill(&mut self, node: usize) {
        let mut child = self.nodes[node].child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    async fn start_login(&self, node: usize) -> StartedLogin {
        let base = &self.nodes[node].base;
        start_login_in(&self.browser, base, CLIENT, "alice@tenant-a.test", &[]).await
    }

    /// Alice signs in at Keycloak's form; the callback URL Keycloak sends her
    /// to, aimed at `node`.
    async fn sign_in(&self, login: &StartedLogin, node: usize) -> Url {
        let signed = sign_in_as(
            &self.browser,
            &self.public_url,
            &login.authorize_url,
            "alice",
            "alice",
        )
        .await;
        let base = Url::parse(&self.nodes[node].base).unwrap();
        let mut callback = signed.callback;
        callback.set_port(base.port()).unwrap();
        callback
    }

    /// The completion page on `node`; its confirmation.
    async fn complete(&self, callback: Url) -> String {
        let page = self.browser.get(callback).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        confirmation_in(&page.text().await.unwrap())
    }

    async fn post(&self, node: usize, path: &str, body: Value) -> reqwest::Response {
        self.browser
            .post(self.url(node, path))
            .header("origin", CRM_ORIGIN)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn confirm(&self, node: usize, txn: &str, confirmation: &str) -> reqwest::Response {
        self.post(
            node,
            "/api/handoff/confirm",
            json!({"client_id": CLIENT, "txn": txn, "confirmation": confirmation}),
        )
        .await
    }

    async fn redeem(&self, node: usize, path: &str, login: &StartedLogin) -> reqwest::Response {
        self.post(
            node,
            path,
            json!({"client_id": CLIENT, "txn": login.txn, "txn_verifier": login.verifier}),
        )
        .await
    }
}

impl Drop for Replicas {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// The answers of redemptions: how many released the tokens, and the rest.
async fn tokens_released(answers: Vec<reqwest::Response>) -> (usize, Vec<(StatusCode, Value)>) {
    let mut released = 0;
    let mut others = Vec::new();
    for answer in answers {
        let status = answer.status();
        let body: Value = answer.json().await.unwrap();
        if status == StatusCode::OK && body["access_token"].is_string() {
            assert_eq!(body["username"], "alice");
            released += 1;
        } else {
            others.push((status, body));
        }
    }
    (released, others)
}

#[tokio::test]
async fn login_on_a_callback_on_b_waits_on_c_and_b_answer_at_once_and_release_it_once() {
    with_log(async {
        let _turn = ONE_AT_A_TIME.lock().await;
        let _kc = shared().await;
        let replicas = Replicas::start().await;
        let login = replicas.start_login(0).await;
        let callback = replicas.sign_in(&login, 1).await;
        // The opener waits on C, and (a retry elsewhere) on B, before the callback.
        let waits = [2, 1].map(|node| {
            let request = replicas
                .browser
                .post(replicas.url(node, "/api/handoff/wait"))
                .header("origin", CRM_ORIGIN)
                .json(
                    &json!({"client_id": CLIENT, "txn": login.txn, "txn_verifier": login.verifier}),
                );
            tokio::spawn(async move {
                let response = request.send().await.unwrap();
                (Instant::now(), response)
            })
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let confirmation = replicas.complete(callback).await;
        let confirmed_at = Instant::now();
        assert_eq!(
            replicas
                .confirm(0, &login.txn, &confirmation)
                .await
                .status(),
            StatusCode::OK
        );
        let mut answers = Vec::new();
        for wait in waits {
            let (answered_at, response) = wait.await.unwrap();
            // Woken through Redis, not by the 5 s re-check nor the 10 s deadline.
            let after = answered_at - confirmed_at;
            assert!(
                after < Duration::from_secs(2),
                "a wait answered {after:?} after the confirmation"
            );
            answers.push(response);
        }
        let (released, others) = tokens_released(answers).await;
        assert_eq!(
            released, 1,
            "exactly one of the racing waits gets the tokens: {others:?}"
        );
        assert_eq!(others[0].0, StatusCode::BAD_REQUEST);
        assert_eq!(others[0].1["error"], "invalid_grant");
    })
    .await;
}

#[tokio::test]
async fn a_replica_killed_mid_login_or_mid_wait_loses_nothing() {
    with_log(async {
        let _turn = ONE_AT_A_TIME.lock().await;
        let _kc = shared().await;
        let mut replicas = Replicas::start().await;
        // A dies while alice is at Keycloak's form: B finishes the login.
        let login = replicas.start_login(0).await;
        replicas.kill(0);
        let callback = replicas.sign_in(&login, 1).await;
        // C dies while the opener waits on it.
        let on_c = tokio::spawn(
            replicas
                .browser
                .post(replicas.url(2, "/api/handoff/wait"))
                .header("origin", CRM_ORIGIN)
                .json(
                    &json!({"client_id": CLIENT, "txn": login.txn, "txn_verifier": login.verifier}),
                )
                .send(),
        );
        let confirmation = replicas.complete(callback).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        replicas.kill(2);
        let cut = tokio::time::timeout(Duration::from_secs(5), on_c).await;
        assert!(
            matches!(cut, Ok(Ok(Err(_)))),
            "the wait on C ended with its connection when C died"
        );
        // The SDK's retry reaches B; the result is still there, once.
        assert_eq!(
            replicas
                .confirm(1, &login.txn, &confirmation)
                .await
                .status(),
            StatusCode::OK
        );
        let retried = replicas.redeem(1, "/api/handoff/wait", &login).await;
        let again = replicas.redeem(1, "/api/handoff", &login).await;
        let (released, others) = tokens_released(vec![retried, again]).await;
        assert_eq!(released, 1, "{others:?}");
        assert_eq!(others[0].1["error"], "invalid_grant");
    })
    .await;
}

/// A whole login through `nodes` (start, callback, confirm, redeem), as the SDK
/// would do it; the redemption's answer.
async fn log_in(
    replicas: &Replicas,
    [start, callback, confirm, redeem]: [usize; 4],
) -> reqwest::Response {
    let login = replicas.start_login(start).await;
    let url = replicas.sign_in(&login, callback).await;
    let confirmation = replicas.complete(url).await;
    replicas.confirm(confirm, &login.txn, &confirmation).await;
    replicas.redeem(redeem, "/api/handoff", &login).await
}

#[tokio::test]
async fn redis_and_postgres_restarting_under_the_replicas_cost_at_most_one_login() {
    with_log(async {
        let _turn = ONE_AT_A_TIME.lock().await;
        let _kc = shared().await;
        let replicas = Replicas::start().await;
        // Redis restarts between /login and the callback: /login wrote nothing,
        // so the login completes.
        let login = replicas.start_login(0).await;
        restart_redis().await;
        let callback = replicas.sign_in(&login, 1).await;
        let confirmation = replicas.complete(callback).await;
        // Redis restarts after the callback: the result is lost, and both the
        // confirmation and the redemption say so cleanly (4xx, not 5xx).
        restart_redis().await;
        let confirm = replicas.confirm(2, &login.txn, &confirmation).await;
        assert_eq!(confirm.status(), StatusCode::BAD_REQUEST);
        assert_eq!(confirm.json::<Value>().await.unwrap()["error"], "invalid_confirmation");
        let redeem = replicas.redeem(2, "/api/handoff", &login).await;
        assert_eq!(redeem.status(), StatusCode::BAD_REQUEST);
        assert_eq!(redeem.json::<Value>().await.unwrap()["error"], "invalid_grant");
        // The user logs in again, through the reconnected replicas.
        let again = log_in(&replicas, [2, 0, 1, 2]).await;
        assert_eq!(again.status(), StatusCode::OK);

        // PostgreSQL restarts: every pooled connection is cut; the replicas
        // reconnect by themselves, for reads and for writes.
        restart_postgres().await;
        let token = admin_token_for(&replicas.configs[0]);
        for node in 0..3 {
            let ready = replicas.browser.get(replicas.url(node, "/readyz")).send().await.unwrap();
            assert_eq!(ready.status(), StatusCode::OK, "replica {node} after the restart");
            let written = replicas
                .browser
                .post(replicas.url(node, "/admin/api/directory/rules"))
                .bearer_auth(&token)
                .json(&json!({"kind": "user", "key": format!("n{node}@tenant-a.test"), "realm": "tenant-a"}))
                .send()
                .await
                .unwrap();
            assert!(written.status().is_success(), "replica {node} writes: {}", written.status());
        }
        assert_eq!(log_in(&replicas, [1, 2, 0, 1]).await.status(), StatusCode::OK);
    })
    .await;
}

#[tokio::test]
async fn an_admin_change_through_a_takes_effect_on_b_and_c_within_a_second() {
    with_log(async {
        let _turn = ONE_AT_A_TIME.lock().await;
        let _kc = shared().await;
        let replicas = Replicas::start().await;
        let token = admin_token_for(&replicas.configs[0]);
        let discover = |node: usize, user: &str| {
            replicas
                .browser
                .get(replicas.url(node, "/api/user/"))
                .query(&[("user", user)])
                .send()
        };
        // Each replica has cached the answer for this user.
        for node in 1..3 {
            assert_eq!(discover(node, "newcomer@elsewhere.test").await.unwrap().status(), StatusCode::NOT_FOUND);
        }
        let rule = replicas
            .browser
            .post(replicas.url(0, "/admin/api/directory/rules"))
            .bearer_auth(&token)
            .json(&json!({"kind": "user", "key": "newcomer@elsewhere.test", "realm": "tenant-a"}))
            .send()
            .await
            .unwrap();
        let status = rule.status();
        assert!(status.is_success(), "{status}: {}", rule.text().await.unwrap());
        let client = replicas
            .browser
            .post(replicas.url(0, "/admin/api/clients"))
            .bearer_auth(&token)
            .json(&json!({"client_id": "added.example", "realms": ["tenant-a"], "origins": ["https://added.example"]}))
            .send()
            .await
            .unwrap();
        let status = client.status();
        assert!(status.is_success(), "{status}: {}", client.text().await.unwrap());
        let changed_at = Instant::now();
        for node in 1..3 {
            loop {
                let found = discover(node, "newcomer@elsewhere.test").await.unwrap().status() == StatusCode::OK;
                let login = replicas
                    .browser
                    .get(replicas.url(node, "/login"))
                    .query(&[
                        ("client_id", "added.example"),
                        ("user", "alice@tenant-a.test"),
                        ("origin", "https://added.example"),
                        ("txn", &authproxy::crypto::random_token().unwrap()),
                        ("txn_challenge", &"c".repeat(43)),
                    ])
                    .send()
                    .await
                    .unwrap();
                if found && login.status() == StatusCode::FOUND {
                    break;
                }
                let waited = changed_at.elapsed();
                assert!(waited < Duration::from_secs(1), "replica {node} still had the old registry or directory after {waited:?}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    })
    .await;
}

/// Stops the run's Redis, losing what it held (scripts/run-services starts it
/// again on the same port); returns once it answers again.
pub async fn restart_redis() {
    let client = redis::Client::open(services().redis_url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    // The server closes the connection instead of answering.
    let _ = redis::cmd("SHUTDOWN")
        .arg("NOSAVE")
        .query_async::<()>(&mut conn)
        .await;
    wait_until(|| async {
        let mut conn = client.get_multiplexed_async_connection().await.ok()?;
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .ok()
    })
    .await;
}

/// Stops the run's PostgreSQL (a fast shutdown: every connection is cut);
/// scripts/run-services starts it again. Returns once it accepts connections.
pub async fn restart_postgres() {
    // The server's own lock file names its main process.
    let pool = sqlx::PgPool::connect(&services().postgres_url)
        .await
        .unwrap();
    let data: String =
        sqlx::query_scalar("SELECT setting FROM pg_settings WHERE name = 'data_directory'")
            .fetch_one(&pool)
            .await
            .unwrap();
    pool.close().await;
    let pid = std::fs::read_to_string(std::path::Path::new(&data).join("postmaster.pid")).unwrap();
    let pid = pid.lines().next().unwrap().trim().to_owned();
    let stopped = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(stopped.success());
    // Gone first, then back.
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    wait_until(|| async {
        let pool = sqlx::PgPool::connect(&services().postgres_url).await.ok()?;
        sqlx::query("SELECT 1").execute(&pool).await.ok()
    })
    .await;
}

async fn wait_until<F, Fut, T>(mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    for _ in 0..300 {
        if probe().await.is_some() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the service did not come back within 30 s");
}
