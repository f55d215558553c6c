//! The configuration file's realms (a secret may come from a directory of
//! files), clients and directory rules, each checked as the admin API checks it.

use std::collections::BTreeSet;

use super::Problems;
use crate::config::RawConfig;
use crate::domain::{Client, Realm, RealmName, Rule, RuleField, RuleKind};
use crate::registry::input::RealmInput;

impl RawConfig {
    pub(super) fn validate_realms(&self, problems: &mut Problems) -> Vec<Realm> {
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
    pub(super) fn with_secret_from_dir(&self, input: &RealmInput) -> Result<RealmInput, String> {
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

    pub(super) fn validate_clients(
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

    pub(super) fn validate_directory(
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
