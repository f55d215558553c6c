//! PostgreSQL and Redis for the tests: the run's own (`AUTHPROXY_TEST_POSTGRES_URL`,
//! `AUTHPROXY_TEST_REDIS_URL`, started by `scripts/test`), or, when those are
//! not set, a pair this process starts once through `scripts/run-services` and
//! that stops when the process ends (its stdin closes). Each test gets its own
//! database and its own key prefix.

use std::io::BufRead as _;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// Where the run's services are.
pub struct Services {
    pub postgres_url: String,
    pub redis_url: String,
}

/// The run's services, started on first use when the environment names none.
pub fn services() -> &'static Services {
    static SERVICES: OnceLock<Services> = OnceLock::new();
    SERVICES.get_or_init(|| {
        if let (Ok(postgres_url), Ok(redis_url)) = (
            std::env::var("AUTHPROXY_TEST_POSTGRES_URL"),
            std::env::var("AUTHPROXY_TEST_REDIS_URL"),
        ) {
            return Services {
                postgres_url,
                redis_url,
            };
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/run-services");
        let mut child = Command::new(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("scripts/run-services starts");
        let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let (mut postgres_url, mut redis_url) = (None, None);
        for line in stdout.lines() {
            let line = line.unwrap();
            if let Some(url) = line.strip_prefix("AUTHPROXY_TEST_POSTGRES_URL=") {
                postgres_url = Some(url.to_owned());
            } else if let Some(url) = line.strip_prefix("AUTHPROXY_TEST_REDIS_URL=") {
                redis_url = Some(url.to_owned());
            } else if line == "ready" {
                break;
            }
        }
        // Kept open until this process ends; then the services stop.
        std::mem::forget(child.stdin.take());
        std::mem::forget(child);
        Services {
            postgres_url: postgres_url.expect("scripts/run-services printed PostgreSQL's URL"),
            redis_url: redis_url.expect("scripts/run-services printed Redis's URL"),
        }
    })
}

/// A fresh, empty database; its URL.
pub async fn fresh_database() -> String {
    let services = services();
    let name = format!(
        "t_{}",
        authproxy::crypto::random_token()
            .unwrap()
            .to_lowercase()
            .replace(['-', '_'], "")
            .chars()
            .take(20)
            .collect::<String>()
    );
    let admin = sqlx::PgPool::connect(&services.postgres_url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let (base, _) = services.postgres_url.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

/// A key prefix no other test uses.
pub fn fresh_prefix() -> String {
    format!("test-{}:", authproxy::crypto::random_token().unwrap())
}

/// The stores several replicas of one test share.
#[derive(Clone)]
pub struct SharedStores {
    pub postgres_url: String,
    pub redis_url: String,
    pub redis_prefix: String,
    pub sealing_key: String,
}

impl SharedStores {
    /// A fresh database and key prefix, and a new sealing key.
    pub async fn fresh() -> Self {
        use secrecy::ExposeSecret as _;
        Self {
            postgres_url: fresh_database().await,
            redis_url: services().redis_url.clone(),
            redis_prefix: fresh_prefix(),
            sealing_key: authproxy::crypto::Sealer::generate_key()
                .unwrap()
                .expose_secret()
                .to_owned(),
        }
    }
}
