//! Configuration: defaults, then a TOML file, then `AUTHPROXY__`-prefixed
//! environment variables (`AUTHPROXY__SERVER__LISTEN` sets `server.listen`).
//! Unknown keys are errors. [`RawConfig::validate`] turns the file into domain
//! types and reports every problem with the key that holds it, before any port
//! is bound.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format as _, Toml};
use secrecy::SecretString;
use serde::Deserialize;

use crate::domain::{
    Client, FieldProblem, PublicUrl, Realm, RealmName, Rule, RuleField, RuleKind, ServerLimits,
};
use crate::registry::input::{ClientInput, RealmInput};

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub server: ServerSection,
    #[serde(default)]
    pub store: StoreSection,
    #[serde(default)]
    pub idp: IdpSection,
    /// The same shape as the admin API's realms.
    #[serde(default)]
    pub realms: Vec<RealmInput>,
    /// The same shape as the admin API's clients.
    #[serde(default)]
    pub clients: Vec<ClientInput>,
    #[serde(default)]
    pub directory: DirectorySection,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    #[serde(default = "default_listen")]
    pub listen: String,
    #[serde(default = "default_public_url")]
    pub public_url: String,
    #[serde(default = "default_handoff_wait_secs")]
    pub handoff_wait_secs: u64,
    /// Per client IP on discovery and /login: sustained requests per minute...
    #[serde(default = "default_per_ip_per_minute")]
    pub per_ip_per_minute: u32,
    /// ...and the burst above it.
    #[serde(default = "default_per_ip_burst")]
    pub per_ip_burst: u32,
    /// A connection that has not sent a request's headers within this time is closed.
    #[serde(default = "default_header_read_timeout_secs")]
    pub header_read_timeout_secs: u64,
    /// Requests handled at once; more wait for a free slot.
    #[serde(default = "default_max_concurrent_requests")]
    pub max_concurrent_requests: usize,
    /// Long polls of the relay parked at once from one client address...
    #[serde(default = "default_max_waits_per_ip")]
    pub max_waits_per_ip: usize,
    /// ...and overall. Counted apart from `max_concurrent_requests`.
    #[serde(default = "default_max_waits")]
    pub max_waits: usize,
}

impl Default for ServerSection {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            public_url: default_public_url(),
            handoff_wait_secs: default_handoff_wait_secs(),
            per_ip_per_minute: default_per_ip_per_minute(),
            per_ip_burst: default_per_ip_burst(),
            header_read_timeout_secs: default_header_read_timeout_secs(),
            max_concurrent_requests: default_max_concurrent_requests(),
            max_waits_per_ip: default_max_waits_per_ip(),
            max_waits: default_max_waits(),
        }
    }
}

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}
fn default_public_url() -> String {
    "http://127.0.0.1:8080".into()
}
fn default_handoff_wait_secs() -> u64 {
    25
}
fn default_per_ip_per_minute() -> u32 {
    600
}
fn default_per_ip_burst() -> u32 {
    120
}
fn default_header_read_timeout_secs() -> u64 {
    10
}
fn default_max_concurrent_requests() -> usize {
    4096
}
fn default_max_waits_per_ip() -> usize {
    32
}
fn default_max_waits() -> usize {
    16384
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    #[serde(default = "default_sqlite_path")]
    pub sqlite_path: PathBuf,
    /// Base64 of 32 bytes; when absent a key is generated into the data directory.
    #[serde(default)]
    pub sealing_key: Option<SecretString>,
    /// Directory lookups kept in memory (0: none).
    #[serde(default = "default_directory_cache_entries")]
    pub directory_cache_entries: usize,
}

impl Default for StoreSection {
    fn default() -> Self {
        Self {
            sqlite_path: default_sqlite_path(),
            sealing_key: None,
            directory_cache_entries: default_directory_cache_entries(),
        }
    }
}

fn default_directory_cache_entries() -> usize {
    100_000
}

fn default_sqlite_path() -> PathBuf {
    PathBuf::from("./data/authproxy.db")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdpSection {
    #[serde(default = "default_idp_timeout_secs")]
    pub timeout_secs: u64,
}

impl Default for IdpSection {
    fn default() -> Self {
        Self {
            timeout_secs: default_idp_timeout_secs(),
        }
    }
}

fn default_idp_timeout_secs() -> u64 {
    10
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectorySection {
    #[serde(default)]
    pub users: Vec<UserRuleSection>,
    #[serde(default)]
    pub domains: Vec<DomainRuleSection>,
    #[serde(default)]
    pub default: Option<TargetSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserRuleSection {
    pub user: String,
    #[serde(default)]
    pub realm: Option<String>,
    #[serde(default)]
    pub idp_hint: Option<String>,
    #[serde(default)]
    pub not_migrated: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainRuleSection {
    pub domain: String,
    pub realm: String,
    #[serde(default)]
    pub idp_hint: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSection {
    pub realm: String,
    #[serde(default)]
    pub idp_hint: Option<String>,
}

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

impl Config {
    /// Loads and validates `path` plus the environment: what `serve` and
    /// `check-config` both run. A problem in a value set by an environment
    /// variable names that variable, not the file's key.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let figment = RawConfig::sources(path);
        let source = path.display().to_string();
        let (raw, mut unknown) = extract_reporting_unknown_keys(&figment, &source)
            .map_err(|e| attribute(e, &figment))?;
        match raw.validate() {
            Ok(config) if unknown.is_empty() => Ok(config),
            Ok(_) => Err(attribute(ConfigError(unknown), &figment)),
            Err(ConfigError(problems)) => {
                unknown.extend(problems);
                Err(attribute(ConfigError(unknown), &figment))
            }
        }
    }
}

/// Extracts the configuration, setting unknown keys aside so that one of them does
/// not hide every other problem (serde stops at the first): each unknown key is
/// removed and the extraction tried again. The unknown keys come back as problems.
fn extract_reporting_unknown_keys(
    figment: &Figment,
    source: &str,
) -> Result<(RawConfig, Vec<ConfigProblem>), ConfigError> {
    use figment::value::Value;
    let mut value: Value = figment.extract().map_err(|_| {
        RawConfig::extract(figment, source)
            .err()
            .unwrap_or(ConfigError(Vec::new()))
    })?;
    let mut unknown = Vec::new();
    // Each round removes at least one key; a file has far fewer than this.
    for _ in 0..256 {
        let attempt = Figment::from(figment::providers::Serialized::defaults(&value));
        match attempt.extract::<RawConfig>() {
            Ok(raw) => return Ok((raw, unknown)),
            Err(errors) => {
                let mut removed = false;
                for error in errors {
                    if matches!(error.kind, figment::error::Kind::UnknownField(..))
                        && remove_key(&mut value, &error.path)
                    {
                        unknown.push(ConfigProblem {
                            key: key_of(&error.path),
                            message: error.kind.to_string(),
                        });
                        removed = true;
                    }
                }
                if !removed {
                    let ConfigError(mut rest) = RawConfig::extract(&attempt, source)
                        .err()
                        .unwrap_or(ConfigError(Vec::new()));
                    unknown.append(&mut rest);
                    return Err(ConfigError(unknown));
                }
            }
        }
    }
    Err(ConfigError(unknown))
}

/// A key path as the problem names it; an empty TOML key (`[""]`) as written.
fn key_of(path: &[String]) -> String {
    path.iter()
        .map(|part| {
            if part.is_empty() {
                "\"\""
            } else {
                part.as_str()
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Removes the key at `path` (`realms.0.weird`); whether there was one.
fn remove_key(value: &mut figment::value::Value, path: &[String]) -> bool {
    use figment::value::Value;
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut current = value;
    for part in parents {
        current = match current {
            Value::Dict(_, dict) => match dict.get_mut(part) {
                Some(next) => next,
                None => return false,
            },
            Value::Array(_, items) => {
                match part.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                    Some(next) => next,
                    None => return false,
                }
            }
            _ => return false,
        };
    }
    match current {
        Value::Dict(_, dict) => dict.remove(last).is_some(),
        _ => false,
    }
}

/// Renames the keys of problems whose value came from the environment.
fn attribute(err: ConfigError, figment: &Figment) -> ConfigError {
    ConfigError(
        err.0
            .into_iter()
            .map(|mut problem| {
                if let Some(metadata) = figment.find_metadata(&problem.key)
                    && metadata.name.contains("environment")
                {
                    let variable = problem
                        .key
                        .split('.')
                        .map(str::to_ascii_uppercase)
                        .collect::<Vec<_>>()
                        .join("__");
                    problem.key = format!("AUTHPROXY__{variable} (environment variable)");
                }
                problem
            })
            .collect(),
    )
}

impl RawConfig {
    /// The TOML file, then the `AUTHPROXY__` environment variables.
    fn sources(path: &Path) -> Figment {
        Figment::from(Toml::file_exact(path)).merge(Env::prefixed("AUTHPROXY__").split("__"))
    }

    /// Reads the TOML file then the `AUTHPROXY__` environment variables.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        Self::extract(&Self::sources(path), &path.display().to_string())
    }

    /// Reads a TOML text alone (no environment): for tools and tests.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        Self::extract(&Figment::from(Toml::string(text)), "the configuration")
    }

    /// Problems without a key (the file itself) are reported under `source`.
    fn extract(figment: &Figment, source: &str) -> Result<Self, ConfigError> {
        figment.extract().map_err(|err| {
            ConfigError(
                err.into_iter()
                    .map(|e| ConfigProblem {
                        key: if e.path.is_empty() {
                            source.to_owned()
                        } else {
                            key_of(&e.path)
                        },
                        message: e.kind.to_string(),
                    })
                    .collect(),
            )
        })
    }

    /// Validates everything, collecting every problem rather than stopping at the first.
    pub fn validate(self) -> Result<Config, ConfigError> {
        let mut problems = Problems::default();

        let listen = problems.check(
            "server.listen",
            self.server.listen.parse::<SocketAddr>().map_err(|_| {
                "must be an address and port such as 127.0.0.1:8080 or 0.0.0.0:8080".to_owned()
            }),
        );
        let public_url = problems.check(
            "server.public_url",
            PublicUrl::parse(&self.server.public_url),
        );
        if !(1..=60).contains(&self.server.handoff_wait_secs) {
            problems.add(
                "server.handoff_wait_secs",
                "must be between 1 and 60 seconds",
            );
        }
        if !(1..=1_000_000).contains(&self.server.per_ip_per_minute) {
            problems.add("server.per_ip_per_minute", "must be between 1 and 1000000");
        }
        if !(1..=1_000_000).contains(&self.server.per_ip_burst) {
            problems.add("server.per_ip_burst", "must be between 1 and 1000000");
        }
        if !(1..=300).contains(&self.server.header_read_timeout_secs) {
            problems.add(
                "server.header_read_timeout_secs",
                "must be between 1 and 300 seconds",
            );
        }
        if self.store.directory_cache_entries > 10_000_000 {
            problems.add(
                "store.directory_cache_entries",
                "must be at most 10000000 (0 turns the cache off)",
            );
        }
        if !(1..=1_000_000).contains(&self.server.max_concurrent_requests) {
            problems.add(
                "server.max_concurrent_requests",
                "must be between 1 and 1000000",
            );
        }
        if !(1..=100_000).contains(&self.server.max_waits_per_ip) {
            problems.add("server.max_waits_per_ip", "must be between 1 and 100000");
        }
        if !(1..=1_000_000).contains(&self.server.max_waits) {
            problems.add("server.max_waits", "must be between 1 and 1000000");
        }
        // The check `serve` makes when it opens the store.
        if let Some(key) = &self.store.sealing_key
            && let Err(err) = crate::crypto::Sealer::from_base64(key)
        {
            problems.add("store.sealing_key", &err.to_string());
        }
        if !(1..=60).contains(&self.idp.timeout_secs) {
            problems.add("idp.timeout_secs", "must be between 1 and 60 seconds");
        }

        let realms = self.validate_realms(&mut problems);
        let realm_names: BTreeSet<RealmName> = realms.iter().map(|r| r.name.clone()).collect();
        let clients = self.validate_clients(&realm_names, &mut problems);
        let directory_seed = self.validate_directory(&realm_names, &mut problems);

        match (listen, public_url) {
            (Some(listen), Some(public_url)) if problems.0.is_empty() => Ok(Config {
                listen,
                public_url,
                handoff_wait: Duration::from_secs(self.server.handoff_wait_secs),
                limits: ServerLimits {
                    per_ip_per_minute: self.server.per_ip_per_minute,
                    per_ip_burst: self.server.per_ip_burst,
                    header_read_timeout: Duration::from_secs(self.server.header_read_timeout_secs),
                    max_concurrent_requests: self.server.max_concurrent_requests,
                    max_waits_per_ip: self.server.max_waits_per_ip,
                    max_waits: self.server.max_waits,
                },
                sqlite_path: self.store.sqlite_path,
                directory_cache_entries: self.store.directory_cache_entries,
                sealing_key: self.store.sealing_key,
                idp_timeout: Duration::from_secs(self.idp.timeout_secs),
                realms,
                clients,
                directory_seed,
            }),
            _ => Err(ConfigError(problems.0)),
        }
    }

    fn validate_realms(&self, problems: &mut Problems) -> Vec<Realm> {
        let mut realms: Vec<Realm> = Vec::new();
        for (i, input) in self.realms.iter().enumerate() {
            match input.validate() {
                Ok(realm) if realms.iter().any(|r| r.name == realm.name) => {
                    problems.add(
                        &format!("realms[{i}].name"),
                        &format!("realm {} is defined twice", realm.name),
                    );
                }
                Ok(realm) => realms.push(realm),
                Err(fields) => problems.extend(&format!("realms[{i}]"), fields),
            }
        }
        realms
    }

    fn validate_clients(
        &self,
        realms: &BTreeSet<RealmName>,
        problems: &mut Problems,
    ) -> Vec<Client> {
        let mut clients: Vec<Client> = Vec::new();
        for (i, input) in self.clients.iter().enumerate() {
            match input.validate_against(realms) {
                Ok(client) if clients.iter().any(|c| c.id == client.id) => {
                    problems.add(
                        &format!("clients[{i}].client_id"),
                        &format!("client {} is defined twice", client.id),
                    );
                }
                Ok(client) => clients.push(client),
                Err(fields) => problems.extend(&format!("clients[{i}]"), fields),
            }
        }
        clients
    }

    fn validate_directory(
        &self,
        realms: &BTreeSet<RealmName>,
        problems: &mut Problems,
    ) -> Vec<Rule> {
        let mut rules = Vec::new();
        let mut add = |prefix: String,
                       key_field: &str,
                       parts: (RuleKind, &str, Option<&str>, Option<&str>)| {
            let (kind, key, realm, idp_hint) = parts;
            match Rule::from_parts(kind, key, realm, idp_hint, realms) {
                Ok(rule) => rules.push(rule),
                Err(found) => {
                    for problem in found {
                        let field = match problem.field {
                            // A user section says "not migrated" with a flag, not a kind.
                            RuleField::Kind => "not_migrated",
                            RuleField::Key => key_field,
                            RuleField::Realm => "realm",
                            RuleField::IdpHint => "idp_hint",
                        };
                        problems.add(&format!("{prefix}.{field}"), &problem.message);
                    }
                }
            }
        };
        for (i, user) in self.directory.users.iter().enumerate() {
            let kind = if user.not_migrated {
                RuleKind::NotMigrated
            } else {
                RuleKind::User
            };
            add(
                format!("directory.users[{i}]"),
                "user",
                (
                    kind,
                    &user.user,
                    user.realm.as_deref(),
                    user.idp_hint.as_deref(),
                ),
            );
        }
        for (i, domain) in self.directory.domains.iter().enumerate() {
            add(
                format!("directory.domains[{i}]"),
                "domain",
                (
                    RuleKind::Domain,
                    &domain.domain,
                    Some(&domain.realm),
                    domain.idp_hint.as_deref(),
                ),
            );
        }
        if let Some(section) = &self.directory.default {
            add(
                "directory.default".to_owned(),
                "key",
                (
                    RuleKind::Default,
                    "",
                    Some(&section.realm),
                    section.idp_hint.as_deref(),
                ),
            );
        }
        rules
    }
}

#[derive(Default)]
struct Problems(Vec<ConfigProblem>);

impl Problems {
    fn add(&mut self, key: &str, message: &str) {
        self.0.push(ConfigProblem {
            key: key.to_owned(),
            message: message.to_owned(),
        });
    }

    /// Adds field problems found under `prefix` (`clients[0]` + `origins[1]`).
    fn extend(&mut self, prefix: &str, fields: Vec<FieldProblem>) {
        for field in fields {
            self.add(&format!("{prefix}.{}", field.path), &field.message);
        }
    }

    fn check<T>(&mut self, key: &str, result: Result<T, String>) -> Option<T> {
        result.map_err(|message| self.add(key, &message)).ok()
    }
}
