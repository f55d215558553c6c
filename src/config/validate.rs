//! Validation: the raw configuration into domain types, every problem reported
//! with the key that holds it.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use crate::domain::console::{
    CONSOLE_SUBJECT_RULE, MAX_CONSOLE_SESSION, MIN_CONSOLE_SESSION, console_subject_is_valid,
};
use crate::domain::{
    Client, ConsoleSettings, FieldProblem, IdpAlias, KeyId, LogSettings, PublicUrl, Realm,
    RealmName, Rule, RuleField, RuleKind, ServerLimits, Tenant, TenantId, TracingSettings,
    TrustedProxies, VerifyingKey,
};

use super::{
    Config, ConfigError, ConfigProblem, ConfiguredKey, ConfiguredTenant, RawConfig, TlsFiles,
};
use crate::registry::input::RealmInput;
use crate::store::{SHARED_STORES_NEED_A_KEY, StoreSettings};

/// The validated settings of running the service.
struct Operations {
    trusted_proxies: TrustedProxies,
    tls: Option<TlsFiles>,
    log: LogSettings,
    metrics_listen: Option<SocketAddr>,
    tracing: Option<TracingSettings>,
}

impl RawConfig {
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
        let store = self.validate_store(&mut problems);
        let operations = self.validate_operations(&mut problems);

        if !(1..=60).contains(&self.idp.timeout_secs) {
            problems.add("idp.timeout_secs", "must be between 1 and 60 seconds");
        }

        let realms = self.validate_realms(&mut problems);
        let realm_names: BTreeSet<RealmName> = realms.iter().map(|r| r.name.clone()).collect();
        let clients = self.validate_clients(&realm_names, &mut problems);
        let directory_seed = self.validate_directory(&realm_names, &mut problems);
        let tenants = self.validate_tenants(&realm_names, &clients, &mut problems);
        let console = self.validate_console(&realm_names, &mut problems);
        if let (Some(_), Some(url)) = (&console, &public_url)
            && let Err(err) = crate::domain::ClientId::parse(&url.console_client_id())
        {
            problems.add(
                "server.public_url",
                &format!("the admin console's client ID is the public URL's host: {err}"),
            );
        }

        match (listen, public_url) {
            (Some(listen), Some(public_url)) if problems.0.is_empty() => Ok(Config {
                listen,
                public_url,
                trusted_proxies: operations.trusted_proxies,
                shutdown_delay: Duration::from_secs(self.server.shutdown_delay_secs),
                tls: operations.tls,
                log: operations.log,
                metrics_listen: operations.metrics_listen,
                tracing: operations.tracing,
                handoff_wait: Duration::from_secs(self.server.handoff_wait_secs),
                limits: ServerLimits {
                    per_ip_per_minute: self.server.per_ip_per_minute,
                    per_ip_burst: self.server.per_ip_burst,
                    header_read_timeout: Duration::from_secs(self.server.header_read_timeout_secs),
                    max_concurrent_requests: self.server.max_concurrent_requests,
                    max_waits_per_ip: self.server.max_waits_per_ip,
                    max_waits: self.server.max_waits,
                },
                directory_cache_entries: self.store.directory_cache_entries,
                store,
                idp_timeout: Duration::from_secs(self.idp.timeout_secs),
                realms,
                clients,
                directory_seed,
                tenants,
                console,
            }),
            _ => Err(ConfigError(problems.0)),
        }
    }

    /// `[console]`: off without a realm; with one, a realm of this file (so no
    /// admin API change can move the console's sign-in) and at least one admin.
    fn validate_console(
        &self,
        realms: &BTreeSet<RealmName>,
        problems: &mut Problems,
    ) -> Option<ConsoleSettings> {
        let section = &self.console;
        if !section.admins.is_empty() {
            problems.add(
                "console.admins",
                "names users by preferred_username, which a realm can let its users change: list their subjects (the user's ID at the realm) in console.admin_subjects instead",
            );
        }
        let Some(raw) = section.realm.as_deref() else {
            if !section.admin_subjects.is_empty() {
                problems.add("console.realm", "name the realm the admins log in at");
            }
            return None;
        };
        let realm = problems.check(
            "console.realm",
            RealmName::parse(raw).map_err(|e| e.to_string()),
        );
        if realm.as_ref().is_some_and(|r| !realms.contains(r)) {
            problems.add(
                "console.realm",
                "must be one of the [[realms]] of this file",
            );
        }
        if section.admin_subjects.is_empty() {
            problems.add(
                "console.admin_subjects",
                "list the subjects (the user's ID at the realm) of the users who may sign in, such as [\"a1f0c1de-0000-4000-8000-00000000a11c\"]",
            );
        }
        for (i, subject) in section.admin_subjects.iter().enumerate() {
            if !console_subject_is_valid(subject) {
                problems.add(
                    &format!("console.admin_subjects[{i}]"),
                    CONSOLE_SUBJECT_RULE,
                );
            }
        }
        let minutes = MIN_CONSOLE_SESSION.num_minutes()..=MAX_CONSOLE_SESSION.num_minutes();
        if !minutes.contains(&section.session_minutes) {
            problems.add(
                "console.session_minutes",
                "must be between 5 and 1440 minutes",
            );
        }
        Some(ConsoleSettings {
            realm: realm?,
            admin_subjects: section.admin_subjects.iter().cloned().collect(),
            session: chrono::TimeDelta::minutes(section.session_minutes),
        })
    }

    /// The settings of running it: proxies, TLS, logs, metrics and traces.
    fn validate_operations(&self, problems: &mut Problems) -> Operations {
        let trusted_proxies = problems.check(
            "server.trusted_proxies",
            TrustedProxies::parse(&self.server.trusted_proxies, self.server.forwarded_header),
        );
        if self.server.shutdown_delay_secs > 300 {
            problems.add("server.shutdown_delay_secs", "must be at most 300 seconds");
        }
        let tls = match (&self.server.tls_cert_file, &self.server.tls_key_file) {
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            }),
            (None, None) => None,
            (Some(_), None) => {
                problems.add(
                    "server.tls_key_file",
                    "is required with server.tls_cert_file",
                );
                None
            }
            (None, Some(_)) => {
                problems.add(
                    "server.tls_cert_file",
                    "is required with server.tls_key_file",
                );
                None
            }
        };
        let log = self.validate_log(problems);
        let metrics_listen = self.metrics.listen.as_deref().and_then(|listen| {
            problems.check(
                "metrics.listen",
                listen.parse::<SocketAddr>().map_err(|_| {
                    "must be an address and port such as 127.0.0.1:9100 or 0.0.0.0:9100".to_owned()
                }),
            )
        });
        let tracing = self.validate_tracing(problems);
        Operations {
            trusted_proxies: trusted_proxies.unwrap_or_default(),
            tls,
            log,
            metrics_listen,
            tracing,
        }
    }

    fn validate_log(&self, problems: &mut Problems) -> LogSettings {
        if !(1..=1_000_000).contains(&self.log.access_sample) {
            problems.add(
                "log.access_sample",
                "must be between 1 and 1000000 (one request in N)",
            );
        }
        if !(1..=3600).contains(&self.log.summary_secs) {
            problems.add("log.summary_secs", "must be between 1 and 3600 seconds");
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            problems.add(
                "log.level",
                "must be a level (error, warn, info, debug, trace) or directives such as `authproxy=debug,info`",
            );
        }
        LogSettings {
            format: self.log.format,
            access: self.log.access,
            access_sample: self.log.access_sample.max(1),
            summary_interval: Duration::from_secs(self.log.summary_secs.max(1)),
            level: self.log.level.clone(),
        }
    }

    fn validate_tracing(&self, problems: &mut Problems) -> Option<TracingSettings> {
        let endpoint = self.tracing.otlp_endpoint.as_deref()?;
        if !(0.0..=1.0).contains(&self.tracing.sample_ratio) {
            problems.add("tracing.sample_ratio", "must be between 0 and 1");
        }
        if self.tracing.service_name.trim().is_empty() {
            problems.add("tracing.service_name", "must not be empty");
        }
        let url = problems.check(
            "tracing.otlp_endpoint",
            url::Url::parse(endpoint)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .ok_or_else(|| {
                    "must be an http(s) URL such as http://otel-collector:4318/v1/traces".to_owned()
                }),
        )?;
        Some(TracingSettings {
            otlp_endpoint: url,
            service_name: self.tracing.service_name.clone(),
            sample_ratio: self.tracing.sample_ratio,
        })
    }

    fn validate_store(&self, problems: &mut Problems) -> StoreSettings {
        let store = StoreSettings {
            sqlite_path: self.store.sqlite_path.clone(),
            postgres_url: self.store.postgres_url.clone(),
            redis_url: self.store.redis_url.clone(),
            redis_prefix: self.store.redis_prefix.clone(),
            sealing_keys: self
                .store
                .sealing_key
                .iter()
                .chain(&self.store.sealing_keys)
                .cloned()
                .collect(),
        };
        // The checks `serve` makes when it opens the store.
        if self.store.sealing_key.is_some() && !self.store.sealing_keys.is_empty() {
            problems.add(
                "store.sealing_key",
                "set either sealing_key or sealing_keys (newest first), not both",
            );
        }
        let key_name = if self.store.sealing_key.is_some() {
            "store.sealing_key"
        } else {
            "store.sealing_keys"
        };
        for (i, key) in store.sealing_keys.iter().enumerate() {
            if let Err(err) = crate::crypto::Sealer::fingerprint(key) {
                let at = if key_name == "store.sealing_key" {
                    key_name.to_owned()
                } else {
                    format!("{key_name}[{i}]")
                };
                problems.add(&at, &err.to_string());
            }
        }
        if store.is_shared() && store.sealing_keys.is_empty() {
            problems.add("store.sealing_keys", SHARED_STORES_NEED_A_KEY);
        }
        let prefix_ok = (1..=64).contains(&self.store.redis_prefix.len())
            && self
                .store
                .redis_prefix
                .bytes()
                .all(|b| b.is_ascii_graphic());
        if !prefix_ok {
            problems.add(
                "store.redis_prefix",
                "must be 1 to 64 visible ASCII characters, without spaces",
            );
        }
        store
    }

    fn validate_realms(&self, problems: &mut Problems) -> Vec<Realm> {
        let mut realms: Vec<Realm> = Vec::new();
        for (i, input) in self.realms.iter().enumerate() {
            let input = match self.with_secret_from_dir(input) {
                Ok(input) => input,
                Err(message) => {
                    problems.add(&format!("realms[{i}].broker_client_secret"), &message);
                    continue;
                }
            };
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

    /// `input`, with its broker secret read from `idp.realm_secrets_dir` when
    /// it names a broker client but no secret.
    fn with_secret_from_dir(&self, input: &RealmInput) -> Result<RealmInput, String> {
        let mut input = input.clone();
        let Some(dir) = &self.idp.realm_secrets_dir else {
            return Ok(input);
        };
        if input.broker_client_id.is_none() || input.broker_client_secret.is_some() {
            return Ok(input);
        }
        let path = dir.join(&input.name);
        let secret = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "not set, and {} could not be read ({e}): put the secret there (idp.realm_secrets_dir) or in the file",
                path.display()
            )
        })?;
        let secret = secret.trim_end_matches(['\n', '\r']);
        if secret.is_empty() {
            return Err(format!("{} is empty", path.display()));
        }
        input.broker_client_secret = Some(secrecy::SecretString::from(secret.to_owned()));
        Ok(input)
    }

    fn validate_tenants(
        &self,
        realms: &BTreeSet<RealmName>,
        clients: &[Client],
        problems: &mut Problems,
    ) -> Vec<ConfiguredTenant> {
        let mut tenants: Vec<ConfiguredTenant> = Vec::new();
        for (i, input) in self.tenants.iter().enumerate() {
            let at = format!("tenants[{i}]");
            let before = problems.0.len();
            let id = problems.check(
                &format!("{at}.id"),
                TenantId::parse(&input.id).map_err(|e| e.to_string()),
            );
            let realm = problems.check(
                &format!("{at}.realm"),
                RealmName::parse(&input.realm)
                    .map_err(|e| e.to_string())
                    .and_then(|r| {
                        if realms.contains(&r) {
                            Ok(r)
                        } else {
                            Err(format!("realm {r} is not defined in this file"))
                        }
                    }),
            );
            let mut client_ids = Vec::new();
            for (j, raw) in input.clients.iter().enumerate() {
                match clients.iter().find(|c| c.id.as_str() == raw) {
                    Some(client) => client_ids.push(client.id.clone()),
                    None => problems.add(
                        &format!("{at}.clients[{j}]"),
                        &format!("client {raw} is not defined in this file"),
                    ),
                }
            }
            let parent = input.parent.as_ref().and_then(|raw| {
                let found = tenants.iter().find(|t| t.tenant.id.as_str() == raw);
                match found {
                    Some(p) if p.tenant.environment != input.environment => {
                        problems.add(
                            &format!("{at}.parent"),
                            "a sub-tenant lives in its parent's environment",
                        );
                        None
                    }
                    Some(p) => Some(p.tenant.id.clone()),
                    None => {
                        problems.add(
                            &format!("{at}.parent"),
                            &format!("tenant {raw} must be defined above this one"),
                        );
                        None
                    }
                }
            });
            let keys = validate_tenant_keys(&at, &input.keys, problems);
            let assertion_grant_idp = input.assertion_grant_idp.as_deref().and_then(|raw| {
                problems.check(
                    &format!("{at}.assertion_grant_idp"),
                    IdpAlias::parse(raw).map_err(|e| e.to_string()),
                )
            });
            let (Some(id), Some(realm)) = (id, realm) else {
                continue;
            };
            let tenant = Tenant {
                id,
                environment: input.environment,
                parent,
                parent_may_act: input.parent_may_act,
                realm,
                clients: client_ids,
                provisioning: input.provisioning,
                max_session_secs: input.max_session_secs,
                allow_hs256: false,
                hosts_vouch_for_emails: input.hosts_vouch_for_emails,
                jwks_url: input.jwks_url.clone(),
                assertion_grant_idp,
                embeds: input.embeds.clone(),
                sso: input.sso.clone(),
            };
            let own = tenant.problems();
            problems.extend(&at, own);
            if tenants.iter().any(|t| t.tenant.id == tenant.id) {
                problems.add(
                    &format!("{at}.id"),
                    &format!("tenant {} is defined twice", tenant.id),
                );
            }
            if problems.0.len() == before {
                tenants.push(ConfiguredTenant { tenant, keys });
            }
        }
        tenants
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

/// The public keys of the tenant at `at`.
fn validate_tenant_keys(
    at: &str,
    keys_in: &[super::schema::TenantKeySection],
    problems: &mut Problems,
) -> Vec<ConfiguredKey> {
    let mut keys = Vec::new();
    for (j, key) in keys_in.iter().enumerate() {
        let kid = problems.check(
            &format!("{at}.keys[{j}].kid"),
            KeyId::parse(&key.kid).map_err(|e| e.to_string()),
        );
        let parsed = problems.check(
            &format!("{at}.keys[{j}].jwk"),
            VerifyingKey::from_public_jwk(&key.jwk).map_err(|e| e.to_string()),
        );
        if let (Some(kid), Some((verifying, alg))) = (kid, parsed) {
            if keys.iter().any(|k: &ConfiguredKey| k.kid == kid) {
                problems.add(&format!("{at}.keys[{j}].kid"), "defined twice");
            }
            keys.push(ConfiguredKey {
                kid,
                key: verifying,
                alg,
                for_subtenants: key.for_subtenants,
            });
        }
    }
    keys
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
