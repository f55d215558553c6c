//! One builder for every broker configuration the tests use: the demo setup
//! (two realms of the dev IdP, the CRM client, a small directory) or an empty
//! one, plus realms, clients, directory rules and `[server]` keys added by name.

use std::fmt::Display;
use std::path::Path;

use super::{BROKER_CLIENT, CLIENT_ID, CRM_ORIGIN, idp};

/// A broker configuration, rendered to TOML.
pub struct TestConfig {
    /// Whether the realms are the dev IdP's (whose demo client is registered).
    pub(super) dev_idp: bool,
    server: Vec<String>,
    store: Vec<String>,
    sections: Vec<String>,
    realms: Vec<String>,
    clients: Vec<String>,
    directory: Vec<String>,
}

/// A TOML basic string (JSON's string syntax is TOML's).
fn q(value: &str) -> String {
    serde_json::to_string(value).unwrap()
}

fn list(values: &[&str]) -> String {
    format!(
        "[{}]",
        values.iter().map(|v| q(v)).collect::<Vec<_>>().join(", ")
    )
}

impl TestConfig {
    /// Nothing configured but what is added.
    pub fn empty() -> Self {
        Self {
            dev_idp: false,
            server: Vec::new(),
            store: Vec::new(),
            sections: Vec::new(),
            realms: Vec::new(),
            clients: Vec::new(),
            directory: Vec::new(),
        }
    }

    /// The demo: realms `tenant-a` and `tenant-b` of the dev IdP (with the
    /// broker's confidential client), the CRM client in both, and users alice,
    /// bob and legacy plus the `corp.test` domain in the directory.
    pub fn demo() -> Self {
        Self::demo_with_broker(BROKER_CLIENT)
    }

    /// The demo, with another broker client in its realms.
    pub fn demo_with_broker((id, secret): (&str, &str)) -> Self {
        let idp = idp();
        let broker = [("broker_client_id", id), ("broker_client_secret", secret)];
        let mut config = Self::empty();
        config.dev_idp = true;
        config
            .server("handoff_wait_secs", 5)
            .realm_with("tenant-a", &idp.authority("tenant-a"), &broker)
            .realm_with("tenant-b", &idp.authority("tenant-b"), &broker)
            .client(CLIENT_ID, &["tenant-a", "tenant-b"], &[CRM_ORIGIN])
            .user("alice@tenant-a.test", "tenant-a")
            .user("bob@tenant-b.test", "tenant-b")
            .not_migrated("legacy@tenant-a.test")
            .domain_via("corp.test", "tenant-a", "corp-idp")
    }

    /// A `[server]` key; `value` is written as TOML (quote strings yourself).
    pub fn server(mut self, key: &str, value: impl Display) -> Self {
        self.server
            .retain(|line| !line.starts_with(&format!("{key} =")));
        self.server.push(format!("{key} = {value}"));
        self
    }

    /// A `[store]` key, as a TOML string.
    pub fn store(mut self, key: &str, value: &str) -> Self {
        self.store
            .retain(|line| !line.starts_with(&format!("{key} =")));
        self.store.push(format!("{key} = {}", q(value)));
        self
    }

    /// The stores of several replicas: a fresh PostgreSQL database, a fresh Redis
    /// key prefix and a configured sealing key.
    pub async fn on_postgres_and_redis(self) -> Self {
        self.shared_with(&super::services::SharedStores::fresh().await)
    }

    /// The stores `shared` names (every replica of a test gets the same).
    pub fn shared_with(self, shared: &super::services::SharedStores) -> Self {
        self.store("postgres_url", &shared.postgres_url)
            .store("redis_url", &shared.redis_url)
            .store("redis_prefix", &shared.redis_prefix)
            .store("sealing_key", &shared.sealing_key)
    }

    /// A TOML section written as given (after the realms and clients).
    pub fn raw(mut self, toml: &str) -> Self {
        self.directory.push(toml.to_owned());
        self
    }

    /// `[idp] timeout_secs`.
    pub fn idp_timeout_secs(mut self, secs: u64) -> Self {
        self.sections.push(format!("[idp]\ntimeout_secs = {secs}"));
        self
    }

    /// A realm with only its name and authority.
    pub fn realm(self, name: &str, authority: &str) -> Self {
        self.realm_with(name, authority, &[])
    }

    /// A realm with further string keys (`broker_client_id`, …).
    pub fn realm_with(mut self, name: &str, authority: &str, keys: &[(&str, &str)]) -> Self {
        let mut lines = vec![
            "[[realms]]".to_owned(),
            format!("name = {}", q(name)),
            format!("authority = {}", q(authority)),
        ];
        lines.extend(
            keys.iter()
                .map(|(key, value)| format!("{key} = {}", q(value))),
        );
        self.realms.push(lines.join("\n"));
        self
    }

    /// A client of `realms`, embedded at `origins`.
    pub fn client(mut self, client_id: &str, realms: &[&str], origins: &[&str]) -> Self {
        self.clients.push(format!(
            "[[clients]]\nclient_id = {}\nrealms = {}\norigins = {}",
            q(client_id),
            list(realms),
            list(origins)
        ));
        self
    }

    /// Every realm and client so far marked `managed_by = "file"`: owned by the
    /// file instead of seeded once.
    pub fn managed_by_file(mut self) -> Self {
        for entry in self.realms.iter_mut().chain(self.clients.iter_mut()) {
            entry.push_str("\nmanaged_by = \"file\"");
        }
        self
    }

    /// A directory rule: `user` belongs to `realm`.
    pub fn user(mut self, user: &str, realm: &str) -> Self {
        self.directory.push(format!(
            "[[directory.users]]\nuser = {}\nrealm = {}",
            q(user),
            q(realm)
        ));
        self
    }

    /// A directory rule: `user` is not enabled for SSO.
    pub fn not_migrated(mut self, user: &str) -> Self {
        self.directory.push(format!(
            "[[directory.users]]\nuser = {}\nnot_migrated = true",
            q(user)
        ));
        self
    }

    /// A directory rule: users of `domain` belong to `realm`.
    pub fn domain(mut self, domain: &str, realm: &str) -> Self {
        self.directory.push(format!(
            "[[directory.domains]]\ndomain = {}\nrealm = {}",
            q(domain),
            q(realm)
        ));
        self
    }

    /// A directory rule: users of `domain` log in to `realm` through `idp_hint`.
    pub fn domain_via(mut self, domain: &str, realm: &str, idp_hint: &str) -> Self {
        self.directory.push(format!(
            "[[directory.domains]]\ndomain = {}\nrealm = {}\nidp_hint = {}",
            q(domain),
            q(realm),
            q(idp_hint)
        ));
        self
    }

    /// The TOML for a broker on `listen` (and `public_url`, when given) whose
    /// database is `db`.
    pub fn render(&self, listen: &str, public_url: Option<&str>, db: &Path) -> String {
        let mut server = vec![format!("listen = {}", q(listen))];
        if let Some(url) = public_url {
            server.push(format!("public_url = {}", q(url)));
        }
        server.extend(self.server.iter().cloned());
        let mut parts = vec![
            format!("[server]\n{}", server.join("\n")),
            format!(
                "[store]\nsqlite_path = {}\n{}",
                q(&db.display().to_string()),
                self.store.join("\n")
            ),
        ];
        parts.extend(self.sections.iter().cloned());
        parts.extend(self.realms.iter().cloned());
        parts.extend(self.clients.iter().cloned());
        parts.extend(self.directory.iter().cloned());
        parts.join("\n") + "\n"
    }
}
