//! Configuration: defaults, then a TOML file, then `AUTHPROXY__`-prefixed
//! environment variables (`AUTHPROXY__SERVER__LISTEN` sets `server.listen`).
//! Unknown keys are errors. [`RawConfig::validate`] turns the file into domain
//! types and reports every problem with the key that holds it, before any port
//! is bound. The raw schema and its defaults are in [`schema`], reading the
//! sources in `load`, the checks in `validate`.

mod load;
pub mod schema;
mod validate;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

use crate::domain::{Client, PublicUrl, Realm, Rule, ServerLimits};

pub use schema::RawConfig;

/// One problem in the configuration, with the key that holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub key: String,
    pub message: String,
}

impl std::fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the configuration has {} problem(s):\n{}", .0.len(), .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError(pub Vec<ConfigProblem>);

/// The validated configuration.
#[derive(Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub public_url: PublicUrl,
    pub handoff_wait: Duration,
    pub limits: ServerLimits,
    pub sqlite_path: PathBuf,
    pub sealing_key: Option<SecretString>,
    pub directory_cache_entries: usize,
    pub idp_timeout: Duration,
    pub realms: Vec<Realm>,
    pub clients: Vec<Client>,
    pub directory_seed: Vec<Rule>,
}
