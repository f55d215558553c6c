//! Administrative operations shared by the admin API and the CLI: input types
//! that validate into domain types (reporting every problem with its field path),
//! and the writes, each recorded in the audit trail.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth;
use crate::crypto;
use crate::domain::realm::{Authority, parse_scope};
use crate::domain::{
    BrokerClient, CallerId, CallerPolicy, Client, ClientAuth, ClientId, EmailDomain, FieldProblem,
    Origin, Realm, RealmName, Rule, RuleKey, Username,
};
use crate::registry::Snapshot;
use crate::store::{AccessStore, AuditEntry, AuditLog, StoreError, StoredCaller};

#[allow(clippy::needless_pass_by_value)] // errors arrive by value from `map_err`
fn problem(path: impl Into<String>, message: impl ToString) -> FieldProblem {
    FieldProblem {
        path: path.into(),
        message: message.to_string(),
    }
}

fn known_realms(registry: &Snapshot) -> BTreeSet<RealmName> {
    registry.realms.keys().cloned().collect()
}

fn realm_list(
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
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientInput {
    /// The application's host, lowercase, optional port (`crm.example.com`).
    pub client_id: String,
    pub realms: Vec<String>,
    /// Canonical `https://host[:port]` (http only for loopback).
    pub origins: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub client_secret: Option<SecretString>,
}

/// The most origins one client may register.
pub const MAX_ORIGINS: usize = 100;

impl ClientInput {
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
            }),
            _ => Err(problems),
        }
    }
}

/// A client as the API shows it (never its secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientView {
    pub client_id: String,
    pub realms: Vec<String>,
    pub origins: Vec<String>,
    pub confidential: bool,
}

impl From<&Client> for ClientView {
    fn from(c: &Client) -> Self {
        Self {
            client_id: c.id.to_string(),
            realms: c.realms.iter().map(ToString::to_string).collect(),
            origins: c.origins.iter().map(ToString::to_string).collect(),
            confidential: c.secret.is_some(),
        }
    }
}

/// A Keycloak realm the broker may use.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RealmInput {
    pub name: String,
    /// The realm URL, exactly as its issuer (`https://HOST/realms/REALM`).
    pub authority: String,
    #[serde(default)]
    pub extra_scopes: Vec<String>,
    #[serde(default)]
    pub broker_client_id: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub broker_client_secret: Option<SecretString>,
    /// How the broker's and confidential clients' secrets reach the token
    /// endpoint: `client_secret_basic` (default) or `client_secret_post`.
    #[serde(default)]
    pub token_endpoint_auth_method: ClientAuth,
}

impl RealmInput {
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
    pub name: String,
    pub authority: String,
    pub extra_scopes: Vec<String>,
    pub broker_client_id: Option<String>,
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

/// A caller's policy: deny by default.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyInput {
    /// Realms the caller may act in.
    pub realms: Vec<String>,
    /// Realms whose every user the caller may act as.
    #[serde(default)]
    pub all_users_of: Vec<String>,
    /// Email domains whose users the caller may act as.
    #[serde(default)]
    pub domains: Vec<String>,
    /// Users the caller may act as.
    #[serde(default)]
    pub users: Vec<String>,
    /// `audience` values the caller may ask for.
    #[serde(default)]
    pub audiences: Vec<String>,
    /// Longest token lifetime the caller may receive (seconds, default 300).
    #[serde(default = "default_max_lifetime")]
    pub max_lifetime_secs: u64,
    /// Sustained requests per minute (default 60).
    #[serde(default = "default_rate")]
    pub rate_per_minute: u32,
    /// Burst allowed above the sustained rate (default 10).
    #[serde(default = "default_burst")]
    pub burst: u32,
}

fn default_max_lifetime() -> u64 {
    300
}
fn default_rate() -> u32 {
    60
}
fn default_burst() -> u32 {
    10
}

impl PolicyInput {
    pub fn validate(&self, registry: &Snapshot) -> Result<CallerPolicy, Vec<FieldProblem>> {
        let mut problems = Vec::new();
        let known = known_realms(registry);
        let policy = CallerPolicy {
            realms: realm_list("policy.realms", &self.realms, &known, &mut problems),
            all_users_of: realm_list(
                "policy.all_users_of",
                &self.all_users_of,
                &known,
                &mut problems,
            ),
            domains: self
                .domains
                .iter()
                .map(|d| d.to_ascii_lowercase())
                .collect(),
            users: self.users.iter().map(|u| u.to_ascii_lowercase()).collect(),
            audiences: self.audiences.clone(),
            max_lifetime_secs: self.max_lifetime_secs,
            rate_per_minute: self.rate_per_minute,
            burst: self.burst,
        };
        problems.extend(
            policy
                .problems()
                .into_iter()
                .map(|p| problem(format!("policy.{}", p.path), p.message)),
        );
        if problems.is_empty() {
            Ok(policy)
        } else {
            Err(problems)
        }
    }
}

impl From<&CallerPolicy> for PolicyInput {
    fn from(p: &CallerPolicy) -> Self {
        Self {
            realms: p.realms.iter().map(ToString::to_string).collect(),
            all_users_of: p.all_users_of.iter().map(ToString::to_string).collect(),
            domains: p.domains.clone(),
            users: p.users.clone(),
            audiences: p.audiences.clone(),
            max_lifetime_secs: p.max_lifetime_secs,
            rate_per_minute: p.rate_per_minute,
            burst: p.burst,
        }
    }
}

/// A new caller.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallerInput {
    pub caller_id: String,
    pub policy: PolicyInput,
}

/// A caller as the API shows it; `secret` only in the answer that creates it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallerView {
    pub caller_id: String,
    pub policy: PolicyInput,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl From<&StoredCaller> for CallerView {
    fn from(c: &StoredCaller) -> Self {
        Self {
            caller_id: c.id.to_string(),
            policy: PolicyInput::from(&c.policy),
            created_at: c.created_at,
            secret: None,
        }
    }
}

impl CallerInput {
    pub fn validate(
        &self,
        registry: &Snapshot,
    ) -> Result<(CallerId, CallerPolicy), Vec<FieldProblem>> {
        let id = CallerId::parse(&self.caller_id).map_err(|e| problem("caller_id", e));
        match (id, self.policy.validate(registry)) {
            (Ok(id), Ok(policy)) => Ok((id, policy)),
            (id, policy) => Err(id
                .err()
                .into_iter()
                .chain(policy.err().unwrap_or_default())
                .collect()),
        }
    }
}

/// Creates a caller and returns it with its secret, shown this once.
pub async fn create_caller(
    access: &dyn AccessStore,
    id: CallerId,
    policy: CallerPolicy,
    now: DateTime<Utc>,
) -> Result<CallerView, StoreError> {
    let secret = crypto::random_token().map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let hash = tokio::task::spawn_blocking({
        let secret = secret.clone();
        move || auth::caller::hash_secret(&secret)
    })
    .await
    .map_err(|e| StoreError::Unavailable(e.to_string()))??;
    let caller = StoredCaller {
        id,
        secret_hash: hash,
        policy,
        created_at: now,
    };
    access.put_caller(&caller).await?;
    let mut view = CallerView::from(&caller);
    view.secret = Some(secret);
    Ok(view)
}

/// One directory rule.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    /// `user`, `domain`, `not_migrated` or `default`.
    pub kind: String,
    /// The username or domain; empty for `default`.
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub realm: Option<String>,
    #[serde(default)]
    pub idp_hint: Option<String>,
}

impl RuleInput {
    pub fn validate(&self, registry: &Snapshot) -> Result<Rule, Vec<FieldProblem>> {
        let realms = known_realms(registry);
        crate::admin::directory_csv::parse_row(
            &[
                &self.kind,
                &self.key,
                self.realm.as_deref().unwrap_or(""),
                self.idp_hint.as_deref().unwrap_or(""),
            ],
            &realms,
        )
        .map_err(|message| {
            let path = message
                .split_once(':')
                .map_or("kind", |(field, _)| field)
                .to_owned();
            vec![problem(path, message)]
        })
    }

    /// The key of the rule to delete.
    pub fn key(&self) -> Result<RuleKey, Vec<FieldProblem>> {
        match self.kind.as_str() {
            "user" | "not_migrated" => Username::parse(&self.key)
                .map(RuleKey::User)
                .map_err(|e| vec![problem("key", e)]),
            "domain" => EmailDomain::parse(&self.key)
                .map(RuleKey::Domain)
                .map_err(|e| vec![problem("key", e)]),
            "default" => Ok(RuleKey::Default),
            _ => Err(vec![problem(
                "kind",
                "one of user, domain, not_migrated, default",
            )]),
        }
    }
}

/// Records an administrative change.
pub async fn record(
    audit: &dyn AuditLog,
    actor: &str,
    action: &str,
    subject: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    audit
        .append(&AuditEntry {
            at: now,
            actor: actor.to_owned(),
            action: action.to_owned(),
            subject: Some(subject.to_owned()),
            outcome: "changed".into(),
            ..AuditEntry::default()
        })
        .await
}
