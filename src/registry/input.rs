//! What an administrator sends to register realms and clients (the admin API,
//! the CLI and the configuration file alike), validated into domain types with
//! every problem reported by its field path; and how the API shows them back.

use std::collections::BTreeSet;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Snapshot;
use crate::domain::realm::{Authority, parse_scope};
use crate::domain::{
    Approval, BrokerClient, Client, ClientAuth, ClientId, FieldProblem, Origin, Realm, RealmName,
};

#[expect(
    clippy::needless_pass_by_value,
    reason = "errors arrive by value from `map_err`"
)]
pub(crate) fn problem(path: impl Into<String>, message: impl ToString) -> FieldProblem {
    FieldProblem {
        path: path.into(),
        message: message.to_string(),
    }
}

pub(crate) fn known_realms(registry: &Snapshot) -> BTreeSet<RealmName> {
    registry.realms.keys().cloned().collect()
}

pub(crate) fn realm_list(
    path: &str,
    names: &[String],
    known: &BTreeSet<RealmName>,
    problems: &mut Vec<FieldProblem>,
) -> Vec<RealmName> {
    names
        .iter()
        .enumerate()
        .filter_map(|(i, name)| match RealmName::parse(name) {
            Ok(realm) if known.contains(&realm) => Some(realm),
            Ok(_) => {
                problems.push(problem(
                    format!("{path}[{i}]"),
                    format!("realm {name:?} is not configured"),
                ));
                None
            }
            Err(e) => {
                problems.push(problem(format!("{path}[{i}]"), e));
                None
            }
        })
        .collect()
}

/// A client to register: the embedding web application.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientInput {
    /// The application's host, lowercase, optional port (`crm.example.com`).
    pub client_id: String,
    /// The realms its users may log in to.
    pub realms: Vec<String>,
    /// Canonical `https://host[:port]` (http only for loopback).
    pub origins: Vec<String>,
    #[serde(default, serialize_with = "crate::crypto::serialize_secret")]
    #[schema(value_type = Option<String>)]
    /// The client's secret, when it is confidential at the realms.
    pub client_secret: Option<SecretString>,
    /// `ask` (default): a login window that lost its opener asks the user
    /// where the result goes; `off`: it never asks (for pages that keep the
    /// opener: no `Cross-Origin-Opener-Policy` on the way).
    #[serde(default)]
    pub approval: Approval,
}

/// The most origins one client may register.
pub const MAX_ORIGINS: usize = 100;

impl ClientInput {
    /// The client, or every problem.
    pub fn validate(&self, registry: &Snapshot) -> Result<Client, Vec<FieldProblem>> {
        self.validate_against(&known_realms(registry))
    }

    /// Validates against the names of the realms that exist.
    pub fn validate_against(
        &self,
        known: &BTreeSet<RealmName>,
    ) -> Result<Client, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let id = ClientId::parse(&self.client_id)
            .map_err(|e| problems.push(problem("client_id", e)))
            .ok();
        if self.realms.is_empty() {
            problems.push(problem("realms", "list at least one configured realm"));
        }
        let realms = realm_list("realms", &self.realms, known, &mut problems);
        if self.origins.is_empty() {
            problems.push(problem(
                "origins",
                "list at least one origin, such as https://crm.example.com",
            ));
        }
        if self.origins.len() > MAX_ORIGINS {
            problems.push(problem(
                "origins",
                format!("at most {MAX_ORIGINS} origins per client"),
            ));
        }
        let origins: Vec<Origin> = self
            .origins
            .iter()
            .take(MAX_ORIGINS)
            .enumerate()
            .filter_map(|(i, o)| {
                Origin::parse(o)
                    .map_err(|e| problems.push(problem(format!("origins[{i}]"), e)))
                    .ok()
            })
            .collect();
        match id {
            Some(id) if problems.is_empty() => Ok(Client {
                id,
                realms,
                origins,
                secret: self.client_secret.clone(),
                approval: self.approval,
            }),
            _ => Err(problems),
        }
    }
}

/// A client as the API shows it (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientView {
    /// The client's id.
    pub client_id: String,
    /// Its realms.
    pub realms: Vec<String>,
    /// Its origins.
    pub origins: Vec<String>,
    /// Whether it has a secret (never shown).
    pub confidential: bool,
    /// Whether a login window without its opener asks the user (`ask`) or not (`off`).
    pub approval: Approval,
}

impl From<&Client> for ClientView {
    fn from(c: &Client) -> Self {
        Self {
            client_id: c.id.to_string(),
            realms: c.realms.iter().map(ToString::to_string).collect(),
            origins: c.origins.iter().map(ToString::to_string).collect(),
            confidential: c.secret.is_some(),
            approval: c.approval,
        }
    }
}

/// A Keycloak realm the broker may use.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RealmInput {
    /// The realm's name.
    pub name: String,
    /// The realm URL, exactly as its issuer (`https://HOST/realms/REALM`).
    pub authority: String,
    #[serde(default)]
    /// Scopes to request besides `openid`.
    pub extra_scopes: Vec<String>,
    #[serde(default)]
    /// The broker's confidential client in this realm.
    pub broker_client_id: Option<String>,
    #[serde(default, serialize_with = "crate::crypto::serialize_secret")]
    #[schema(value_type = Option<String>)]
    /// That client's secret.
    pub broker_client_secret: Option<SecretString>,
    /// How the broker's and confidential clients' secrets reach the token
    /// endpoint: `client_secret_basic` (default) or `client_secret_post`.
    #[serde(default)]
    pub token_endpoint_auth_method: ClientAuth,
}

impl RealmInput {
    /// The realm, or every problem.
    pub fn validate(&self) -> Result<Realm, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let name = RealmName::parse(&self.name)
            .map_err(|e| problems.push(problem("name", e)))
            .ok();
        let authority = Authority::parse(&self.authority)
            .map_err(|e| problems.push(problem("authority", e)))
            .ok();
        let extra_scopes: Vec<String> = self
            .extra_scopes
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                parse_scope(s)
                    .map_err(|e| problems.push(problem(format!("extra_scopes[{i}]"), e)))
                    .ok()
            })
            .collect();
        let broker_client = match (&self.broker_client_id, &self.broker_client_secret) {
            (Some(id), Some(secret)) => Some(BrokerClient {
                client_id: id.clone(),
                secret: secret.clone(),
            }),
            (None, None) => None,
            _ => {
                problems.push(problem(
                    "broker_client_id",
                    "give both broker_client_id and broker_client_secret, or neither",
                ));
                None
            }
        };
        match (name, authority) {
            (Some(name), Some(authority)) if problems.is_empty() => Ok(Realm {
                name,
                authority,
                extra_scopes,
                broker_client,
                client_auth: self.token_endpoint_auth_method,
            }),
            _ => Err(problems),
        }
    }
}

/// A realm as the API shows it (never the broker's secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct RealmView {
    /// The realm's name.
    pub name: String,
    /// Its authority.
    pub authority: String,
    /// Scopes requested besides `openid`.
    pub extra_scopes: Vec<String>,
    /// The broker's client in the realm.
    pub broker_client_id: Option<String>,
    /// How that client authenticates.
    pub token_endpoint_auth_method: ClientAuth,
}

impl From<&Realm> for RealmView {
    fn from(r: &Realm) -> Self {
        Self {
            name: r.name.to_string(),
            authority: r.authority.as_str().to_owned(),
            extra_scopes: r.extra_scopes.clone(),
            broker_client_id: r.broker_client.as_ref().map(|b| b.client_id.clone()),
            token_endpoint_auth_method: r.client_auth,
        }
    }
}
