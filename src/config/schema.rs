//! The configuration file's raw schema, as written, with its defaults: what
//! `serde` reads before any validation.

use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

use crate::registry::input::{ClientInput, RealmInput};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
/// The configuration file as written.
pub struct RawConfig {
    #[serde(default)]
    /// `[server]`.
    pub server: ServerSection,
    #[serde(default)]
    /// `[store]`.
    pub store: StoreSection,
    #[serde(default)]
    /// `[idp]`.
    pub idp: IdpSection,
    /// The same shape as the admin API's realms.
    #[serde(default)]
    pub realms: Vec<RealmInput>,
    /// The same shape as the admin API's clients.
    #[serde(default)]
    pub clients: Vec<ClientInput>,
    #[serde(default)]
    /// `[directory]`.
    pub directory: DirectorySection,
    /// `[[tenants]]`: host organisations of embedded SSO, owned by the file.
    #[serde(default)]
    pub tenants: Vec<TenantSection>,
    #[serde(default)]
    /// `[log]`.
    pub log: LogSection,
    #[serde(default)]
    /// `[metrics]`.
    pub metrics: MetricsSection,
    #[serde(default)]
    /// `[tracing]`.
    pub tracing: TracingSection,
    #[serde(default)]
    /// `[console]`.
    pub console: ConsoleSection,
    /// The entries marked `managed_by = "file"` (taken out before typing).
    #[serde(skip)]
    pub owned: super::owned::FileOwned,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
/// `[console]`: the admin console's sign-in; off until a realm is named.
pub struct ConsoleSection {
    /// The realm (of `[[realms]]` in this file) administrators log in at.
    #[serde(default)]
    pub realm: Option<String>,
    /// The realm users who may use the console, by subject (`sub`).
    #[serde(default)]
    pub admin_subjects: Vec<String>,
    /// Refused: administrators were once named by `preferred_username`, which
    /// a realm can let its users change. Kept to say what replaced it.
    #[serde(default)]
    pub admins: Vec<String>,
    /// How long a console session lasts, in minutes.
    #[serde(default = "default_console_minutes")]
    pub session_minutes: i64,
}

impl Default for ConsoleSection {
    fn default() -> Self {
        Self {
            realm: None,
            admin_subjects: Vec::new(),
            admins: Vec::new(),
            session_minutes: default_console_minutes(),
        }
    }
}

fn default_console_minutes() -> i64 {
    60
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
/// `[log]`: what the service writes to stdout.
pub struct LogSection {
    /// `text` (for people) or `json` (one object per line, for collectors).
    #[serde(default)]
    pub format: crate::domain::LogFormat,
    /// Per-request access lines: `off`, `sampled` (one in `access_sample`) or `on`.
    #[serde(default)]
    pub access: crate::domain::AccessLog,
    /// With `access = "sampled"`: one request in this many is logged.
    #[serde(default = "default_access_sample")]
    pub access_sample: u32,
    /// Refusals and upstream failures are summarised per cause and client
    /// address over this many seconds: the first is logged, the rest counted.
    #[serde(default = "default_summary_secs")]
    pub summary_secs: u64,
    /// The level filter (`info`, `debug`, `authproxy=debug,info`); `RUST_LOG` wins.
    #[serde(default = "default_log_level")]
    pub level: String,
}

impl Default for LogSection {
    fn default() -> Self {
        Self {
            format: crate::domain::LogFormat::default(),
            access: crate::domain::AccessLog::default(),
            access_sample: default_access_sample(),
            summary_secs: default_summary_secs(),
            level: default_log_level(),
        }
    }
}

fn default_access_sample() -> u32 {
    100
}
fn default_summary_secs() -> u64 {
    60
}
fn default_log_level() -> String {
    "info".into()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
/// `[metrics]`: Prometheus metrics on a listener of their own.
pub struct MetricsSection {
    /// Where `/metrics` is served (`127.0.0.1:9100`); off when absent.
    #[serde(default)]
    pub listen: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
/// `[tracing]`: OpenTelemetry traces over OTLP/HTTP.
pub struct TracingSection {
    /// The collector's OTLP/HTTP traces URL (`http://collector:4318/v1/traces`);
    /// off when absent.
    #[serde(default)]
    pub otlp_endpoint: Option<String>,
    /// The `service.name` resource attribute.
    #[serde(default = "default_service_name")]
    pub service_name: String,
    /// The share of new traces recorded (0 to 1); a caller's sampled
    /// `traceparent` is always followed.
    #[serde(default = "default_sample_ratio")]
    pub sample_ratio: f64,
}

impl Default for TracingSection {
    fn default() -> Self {
        Self {
            otlp_endpoint: None,
            service_name: default_service_name(),
            sample_ratio: default_sample_ratio(),
        }
    }
}

fn default_service_name() -> String {
    "authproxy".into()
}
fn default_sample_ratio() -> f64 {
    1.0
}

/// `[[tenants]]`: a tenant and its public signing keys.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSection {
    /// The tenant's id.
    pub id: String,
    /// `sandbox` or `production`.
    pub environment: crate::domain::Environment,
    /// The parent tenant (defined in the file too).
    #[serde(default)]
    pub parent: Option<String>,
    /// Whether the parent's credentials may act for this sub-tenant.
    #[serde(default)]
    pub parent_may_act: bool,
    /// Whether the tenant's hosts may vouch for their users' emails (an email
    /// they send then selects an existing realm user and grants ACL roles).
    #[serde(default)]
    pub hosts_vouch_for_emails: bool,
    /// The realm its users live in (defined in the file).
    pub realm: String,
    /// The embedded-app clients (defined in the file).
    pub clients: Vec<String>,
    /// `existing_only` or `create`.
    pub provisioning: crate::domain::Provisioning,
    /// The longest session, in seconds (default 4 hours).
    #[serde(default = "default_tenant_session")]
    pub max_session_secs: u64,
    /// Where the host publishes its signing keys (a JWKS).
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// The realm's identity provider that trusts the broker's assertions.
    #[serde(default)]
    pub assertion_grant_idp: Option<String>,
    /// `[tenants.embeds]`: embed URLs, registrations and login links.
    #[serde(default)]
    pub embeds: crate::domain::EmbedSettings,
    /// `[tenants.sso]`: the host page's origin and `[[tenants.sso.providers]]`.
    #[serde(default)]
    pub sso: crate::domain::SsoSettings,
    /// `[[tenants.keys]]`: public signing keys.
    #[serde(default)]
    pub keys: Vec<TenantKeySection>,
}

fn default_tenant_session() -> u64 {
    crate::domain::tenant::DEFAULT_SESSION_SECS
}

/// `[[tenants.keys]]`: one public signing key of a tenant.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantKeySection {
    /// Its `kid`.
    pub kid: String,
    /// The public JWK, as an inline table.
    pub jwk: serde_json::Value,
    /// Whether it may sign for sub-tenants that grant it.
    #[serde(default)]
    pub for_subtenants: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
/// `[server]`: listening, public URL and limits.
pub struct ServerSection {
    #[serde(default = "default_listen")]
    /// The address and port to listen on.
    pub listen: String,
    #[serde(default = "default_public_url")]
    /// The broker's public base URL.
    pub public_url: String,
    #[serde(default = "default_handoff_wait_secs")]
    /// The longest a relay long poll waits (1 to 60 seconds).
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
    /// Proxies (CIDRs or addresses) whose forwarded header names the client;
    /// empty: forwarded headers are ignored and the TCP peer is the client.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// The header the trusted proxies write: `x-forwarded-for` or `forwarded`.
    #[serde(default)]
    pub forwarded_header: crate::domain::ForwardedHeader,
    /// On SIGTERM, keep accepting this long before closing the listener (load
    /// balancers take a moment to stop sending), then drain.
    #[serde(default)]
    pub shutdown_delay_secs: u64,
    /// A PEM certificate chain: the listener speaks TLS (reloaded on change).
    #[serde(default)]
    pub tls_cert_file: Option<PathBuf>,
    /// The PEM private key of `tls_cert_file`.
    #[serde(default)]
    pub tls_key_file: Option<PathBuf>,
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
            trusted_proxies: Vec::new(),
            forwarded_header: crate::domain::ForwardedHeader::default(),
            shutdown_delay_secs: 0,
            tls_cert_file: None,
            tls_key_file: None,
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
/// `[store]`: where the data lives.
pub struct StoreSection {
    #[serde(default = "default_sqlite_path")]
    /// The SQLite database file.
    pub sqlite_path: PathBuf,
    /// One sealing key, base64 of 32 bytes (the same as a `sealing_keys` of one).
    #[serde(default)]
    pub sealing_key: Option<SecretString>,
    /// Sealing keys, newest (the one that seals) first; older ones still open.
    /// When neither is set, a single node on SQLite keeps its keys in
    /// `sealing.key` beside the database.
    #[serde(default)]
    pub sealing_keys: Vec<SecretString>,
    /// PostgreSQL for the durable data (`postgres://user:password@host/db`);
    /// SQLite when absent.
    #[serde(default)]
    pub postgres_url: Option<SecretString>,
    /// Redis for logins in flight and shared rate limits (`redis://host:6379`);
    /// this process's memory when absent.
    #[serde(default)]
    pub redis_url: Option<SecretString>,
    /// The prefix of every Redis key, so deployments can share one Redis.
    #[serde(default = "default_redis_prefix")]
    pub redis_prefix: String,
    /// Directory lookups kept in memory (0: none).
    #[serde(default = "default_directory_cache_entries")]
    pub directory_cache_entries: usize,
}

impl Default for StoreSection {
    fn default() -> Self {
        Self {
            sqlite_path: default_sqlite_path(),
            sealing_key: None,
            sealing_keys: Vec::new(),
            postgres_url: None,
            redis_url: None,
            redis_prefix: default_redis_prefix(),
            directory_cache_entries: default_directory_cache_entries(),
        }
    }
}

fn default_redis_prefix() -> String {
    "authproxy:".to_owned()
}

fn default_directory_cache_entries() -> usize {
    100_000
}

fn default_sqlite_path() -> PathBuf {
    PathBuf::from("./data/authproxy.db")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
/// `[idp]`: calls to realms.
pub struct IdpSection {
    #[serde(default = "default_idp_timeout_secs")]
    /// The timeout of every call to a realm, in seconds.
    pub timeout_secs: u64,
    /// A folder holding one file per realm, named as the realm, with its
    /// broker client's secret (a mounted Kubernetes Secret): for realms of this
    /// file that name a `broker_client_id` but no `broker_client_secret`.
    #[serde(default)]
    pub realm_secrets_dir: Option<PathBuf>,
}

impl Default for IdpSection {
    fn default() -> Self {
        Self {
            timeout_secs: default_idp_timeout_secs(),
            realm_secrets_dir: None,
        }
    }
}

fn default_idp_timeout_secs() -> u64 {
    10
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
/// `[directory]`: rules written when the service starts.
pub struct DirectorySection {
    #[serde(default)]
    /// `[[directory.users]]`.
    pub users: Vec<UserRuleSection>,
    #[serde(default)]
    /// `[[directory.domains]]`.
    pub domains: Vec<DomainRuleSection>,
    #[serde(default)]
    /// `[directory.default]`.
    pub default: Option<TargetSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
/// One user's rule.
pub struct UserRuleSection {
    /// The username.
    pub user: String,
    #[serde(default)]
    /// The user's realm.
    pub realm: Option<String>,
    #[serde(default)]
    /// The external IdP's alias in that realm.
    pub idp_hint: Option<String>,
    #[serde(default)]
    /// The user is not enabled for SSO.
    pub not_migrated: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
/// One email domain's rule.
pub struct DomainRuleSection {
    /// The domain.
    pub domain: String,
    /// Its users' realm.
    pub realm: String,
    #[serde(default)]
    /// The external IdP's alias in that realm.
    pub idp_hint: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
/// Where users no other rule names go.
pub struct TargetSection {
    /// The realm.
    pub realm: String,
    #[serde(default)]
    /// The external IdP's alias in that realm.
    pub idp_hint: Option<String>,
}
