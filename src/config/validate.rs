//! Validation: the raw configuration into domain types, every problem reported
//! with the key that holds it.

mod registry;
mod tenants;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use crate::domain::console::{
    CONSOLE_SUBJECT_RULE, MAX_CONSOLE_SESSION, MIN_CONSOLE_SESSION, console_subject_is_valid,
};
use crate::domain::{
    ConsoleSettings, FieldProblem, LogSettings, PublicUrl, RealmName, ServerLimits,
    TracingSettings, TrustedProxies,
};

use super::{Config, ConfigError, ConfigProblem, RawConfig, TlsFiles};
use crate::registry::Managed;
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
                owned: self.owned_entries(console.as_ref()),
                tenants,
                console,
            }),
            _ => Err(ConfigError(problems.0)),
        }
    }

    /// The names the file owns: the entries marked `managed_by = "file"`, and
    /// the console's realm, which no admin API change may move.
    fn owned_entries(&self, console: Option<&ConsoleSettings>) -> Managed {
        let realms = self
            .owned
            .realms
            .iter()
            .filter_map(|i| self.realms.get(*i))
            .filter_map(|r| RealmName::parse(&r.name).ok())
            .chain(console.map(|c| c.realm.clone()));
        let clients = self
            .owned
            .clients
            .iter()
            .filter_map(|i| self.clients.get(*i))
            .filter_map(|c| crate::domain::ClientId::parse(&c.client_id).ok());
        let tenants = self
            .owned
            .tenants
            .iter()
            .filter_map(|i| self.tenants.get(*i))
            .filter_map(|t| crate::domain::TenantId::parse(&t.id).ok());
        Managed {
            realms: realms.collect(),
            clients: clients.collect(),
            tenants: tenants.collect(),
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
