//! Impersonation callers: their input (validated into a [`CallerPolicy`], every
//! problem with its field path), creation with a secret shown once, policy
//! replacement and removal.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Operator, OpsError};
use crate::auth;
use crate::crypto;
use crate::domain::{CallerId, CallerPolicy, FieldProblem};
use crate::registry::Snapshot;
use crate::registry::input::{known_realms, problem, realm_list};
use crate::store::StoredCaller;

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
    /// The policy, or every problem (paths under `policy.`).
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
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallerInput {
    /// The caller's id (`[a-z0-9._-]`, as in `caller:<id>` of the audit trail).
    pub caller_id: String,
    /// What the caller may do.
    pub policy: PolicyInput,
}

/// A caller as the API shows it; `secret` only in the answer that creates it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallerView {
    /// The caller's id.
    pub caller_id: String,
    /// What the caller may do.
    pub policy: PolicyInput,
    /// When the caller was created.
    pub created_at: DateTime<Utc>,
    /// The caller's secret, in the answer that creates the caller only.
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
    /// The caller's id and policy, or every problem.
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

impl Operator<'_> {
    /// Every caller (never their secrets).
    pub async fn list_callers(&self) -> Result<Vec<CallerView>, OpsError> {
        Ok(self
            .access
            .callers()
            .await?
            .iter()
            .map(CallerView::from)
            .collect())
    }

    /// Creates a caller and returns it with its secret, shown this once; an
    /// existing caller is never overwritten.
    pub async fn create_caller(&self, input: &CallerInput) -> Result<CallerView, OpsError> {
        let (id, policy) = input
            .validate(&self.registry.snapshot())
            .map_err(OpsError::Invalid)?;
        if self.access.caller(&id).await?.is_some() {
            return Err(OpsError::Exists(format!("Caller {id} exists.")));
        }
        let (secret, hash) = new_secret().await?;
        let caller = StoredCaller {
            id,
            secret_hash: hash,
            policy,
            created_at: self.clock.now(),
        };
        self.access.put_caller(&caller).await?;
        let mut view = CallerView::from(&caller);
        // Recorded before its secret is put in the view: a row never holds one.
        self.record_change("caller.create", caller.id.as_str(), None, &view)
            .await?;
        view.secret = Some(secret);
        Ok(view)
    }

    /// The caller of `id`, or what to fix.
    async fn existing_caller(&self, id: &str) -> Result<(CallerId, StoredCaller), OpsError> {
        let id = parse_id(id)?;
        let caller = self
            .access
            .caller(&id)
            .await?
            .ok_or_else(|| OpsError::NotFound(format!("No caller {id}.")))?;
        Ok((id, caller))
    }

    /// Replaces the policy of an existing caller; its secret stays.
    pub async fn replace_policy(
        &self,
        id: &str,
        input: &PolicyInput,
    ) -> Result<CallerView, OpsError> {
        let (id, mut caller) = self.existing_caller(id).await?;
        let before = CallerView::from(&caller);
        caller.policy = input
            .validate(&self.registry.snapshot())
            .map_err(OpsError::Invalid)?;
        self.access.put_caller(&caller).await?;
        let view = CallerView::from(&caller);
        self.record_change("caller.policy", id.as_str(), Some(&before), &view)
            .await?;
        Ok(view)
    }

    /// Gives a caller a new secret, shown this once; the old one stops working
    /// at once (a backend rolls over by deploying the new secret right after).
    pub async fn rotate_caller_secret(&self, id: &str) -> Result<CallerView, OpsError> {
        let (id, mut caller) = self.existing_caller(id).await?;
        let secret = new_secret().await?;
        caller.secret_hash = secret.1;
        self.access.put_caller(&caller).await?;
        self.record("caller.rotate", id.as_str()).await?;
        let mut view = CallerView::from(&caller);
        view.secret = Some(secret.0);
        Ok(view)
    }

    /// Removes a caller.
    pub async fn delete_caller(&self, id: &str) -> Result<(), OpsError> {
        let id = parse_id(id)?;
        if !self.access.delete_caller(&id).await? {
            return Err(OpsError::NotFound(format!("No caller {id}.")));
        }
        self.record("caller.delete", id.as_str()).await
    }
}

/// A new caller secret and its Argon2id hash (computed off the async threads).
async fn new_secret() -> Result<(String, String), OpsError> {
    let secret = crypto::random_token()?;
    let hash = tokio::task::spawn_blocking({
        let secret = secret.clone();
        move || auth::caller::hash_secret(&secret)
    })
    .await
    .map_err(|e| crypto::CryptoError::Hash(e.to_string()))??;
    Ok((secret, hash))
}

fn parse_id(id: &str) -> Result<CallerId, OpsError> {
    CallerId::parse(id).map_err(|e| OpsError::Invalid(vec![problem("caller_id", e)]))
}
