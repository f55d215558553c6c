//! Configuration: defaults, then a TOML file, then `AUTHPROXY__`-prefixed
//! environment variables (`AUTHPROXY__SERVER__LISTEN` sets `server.listen`).
//! Unknown keys are errors. [`RawConfig::validate`] turns the file into domain
//! types and reports every problem with the key that holds it, before any port
//! is bound. The raw schema and its defaults are in [`schema`], reading the
//! sources in `load`, the checks in `validate`.

mod load;
pub mod owned;
pub mod schema;
mod seed;
mod validate;

use std::net::SocketAddr;
use std::time::Duration;

use crate::domain::{Client, PublicUrl, Realm, Rule, ServerLimits};
use crate::store::StoreSettings;

pub use schema::RawConfig;

/// One problem in the configuration, with the key that holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The key (`clients[0].origins[1]`) or environment variable.
    pub key: String,
    /// What is wrong, and what to write instead.
    pub message: String,
}

impl std::fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the configuration has {} problem(s):\n{}", .0.len(), .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
/// Every problem of a configuration.
pub struct ConfigError(pub Vec<ConfigProblem>);

/// The validated configuration.
#[derive(Debug)]
pub struct Config {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// Where browsers and realms reach the broker.
    pub public_url: PublicUrl,
    /// Proxies whose forwarded headers name the client.
    pub trusted_proxies: crate::domain::TrustedProxies,
    /// How long SIGTERM keeps the listener open before draining.
    pub shutdown_delay: Duration,
    /// TLS on the listener, when configured.
    pub tls: Option<TlsFiles>,
    /// Logging.
    pub log: crate::domain::LogSettings,
    /// Where Prometheus metrics are served, when they are.
    pub metrics_listen: Option<SocketAddr>,
    /// OpenTelemetry export, when configured.
    pub tracing: Option<crate::domain::TracingSettings>,
    /// The longest a relay long poll waits.
    pub handoff_wait: Duration,
    /// Limits on requests and waits.
    pub limits: ServerLimits,
    /// Where the data lives: SQLite, or PostgreSQL and Redis for several replicas.
    pub store: StoreSettings,
    /// Directory lookups cached in memory (0: no cache).
    pub directory_cache_entries: usize,
    /// The timeout of every call to a realm.
    pub idp_timeout: Duration,
    /// The realms the file defines: seeded once, or owned where marked.
    pub realms: Vec<Realm>,
    /// The clients the file defines: seeded once, or owned where marked.
    pub clients: Vec<Client>,
    /// Directory rules written when the service starts.
    pub directory_seed: Vec<Rule>,
    /// The tenants the file defines, with their keys: seeded once, or owned
    /// where marked.
    pub tenants: Vec<ConfiguredTenant>,
    /// The entries the file owns (`managed_by = "file"`, and the console's
    /// realm): written at every start, refused to the API and the CLI.
    pub owned: crate::registry::Managed,
    /// The admin console's sign-in, when configured.
    pub console: Option<crate::domain::ConsoleSettings>,
}

pub use crate::domain::host_key::{ConfiguredKey, ConfiguredTenant};

/// The listener's certificate and key files.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// The PEM certificate chain.
    pub cert: std::path::PathBuf,
    /// The PEM private key.
    pub key: std::path::PathBuf,
}
