//! Administrative operations shared by the admin API and the CLI: input types
//! that validate into domain types (reporting every problem with its field path),
//! and the writes, each recorded in the audit trail.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth;
use crate::crypto;
use crate::domain::{
    CallerId, CallerPolicy, EmailDomain, FieldProblem, Rule, RuleKey, RuleKind, Username,
};
use crate::registry::Snapshot;
use crate::registry::input::{known_realms, problem, realm_list};
use crate::store::{AccessStore, AuditEntry, AuditLog, StoreError, StoredCaller};

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
        let kind = RuleKind::parse(&self.kind).map_err(|p| vec![problem("kind", p)])?;
        let realm = self.realm.as_deref().filter(|v| !v.is_empty());
        let idp_hint = self.idp_hint.as_deref().filter(|v| !v.is_empty());
        Rule::from_parts(kind, &self.key, realm, idp_hint, &realms).map_err(|problems| {
            problems
                .into_iter()
                .map(|p| problem(crate::admin::directory_csv::column(p.field), p.message))
                .collect()
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
