//! Host backends' API keys: the secret shown once and kept as its SHA-256, the
//! operations the key may call and its rate. Revocation keeps the record,
//! marked, so the audit trail and listings still name it.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Operator, OpsError};
use crate::crypto;
use crate::domain::{ApiKey, ApiKeyId, Operation};
use crate::registry::input::problem;
use crate::store::tenants::TenantStore;

/// An API key to make.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyInput {
    /// What it may call (`mint_tokens`, `logout`, `update_users`, `debug`).
    #[schema(value_type = Vec<String>)]
    pub operations: Vec<Operation>,
    /// Whether it may act for sub-tenants that grant it.
    #[serde(default)]
    pub for_subtenants: bool,
    /// Days until it stops working (none: until revoked).
    #[serde(default)]
    pub expires_in_days: Option<u32>,
    /// Requests per minute (default 600).
    #[serde(default = "default_api_rate")]
    pub rate_per_minute: u32,
}

fn default_api_rate() -> u32 {
    600
}

/// An API key as shown; `credential` only in the answer that makes it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    /// The public id.
    pub key_id: String,
    /// The tenant.
    pub tenant_id: String,
    /// What it may call.
    #[schema(value_type = Vec<String>)]
    pub operations: Vec<Operation>,
    /// Whether it may act for sub-tenants.
    pub for_subtenants: bool,
    /// When it stops working.
    pub expires_at: Option<DateTime<Utc>>,
    /// Requests per minute.
    pub rate_per_minute: u32,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When it was last used (to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// The `Bearer` credential (`<key_id>:<secret>`), this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

impl From<&ApiKey> for ApiKeyView {
    fn from(k: &ApiKey) -> Self {
        Self {
            key_id: k.id.to_string(),
            tenant_id: k.tenant.to_string(),
            operations: k.operations.clone(),
            for_subtenants: k.for_subtenants,
            expires_at: k.expires_at,
            rate_per_minute: k.rate_per_minute,
            created_at: k.created_at,
            revoked_at: k.revoked_at,
            last_used_at: k.last_used_at,
            credential: None,
        }
    }
}

impl Operator<'_> {
    /// The tenant's API keys.
    pub async fn list_api_keys(&self, tenant: &str) -> Result<Vec<ApiKeyView>, OpsError> {
        let tenant = self.existing_tenant(tenant).await?;
        Ok(self
            .tenants
            .api_keys(&tenant.id)
            .await?
            .iter()
            .map(ApiKeyView::from)
            .collect())
    }

    /// Makes an API key; the credential is in the answer, this once.
    pub async fn create_api_key(
        &self,
        tenant: &str,
        input: &ApiKeyInput,
    ) -> Result<ApiKeyView, OpsError> {
        let tenant = self.existing_tenant(tenant).await?;
        let mut problems = Vec::new();
        if input.operations.is_empty() {
            problems.push(problem(
                "operations",
                "list at least one of mint_tokens, logout, update_users, debug",
            ));
        }
        if !(1..=100_000).contains(&input.rate_per_minute) {
            problems.push(problem("rate_per_minute", "between 1 and 100000"));
        }
        if input
            .expires_in_days
            .is_some_and(|d| !(1..=3650).contains(&d))
        {
            problems.push(problem("expires_in_days", "between 1 and 3650"));
        }
        if !problems.is_empty() {
            return Err(OpsError::Invalid(problems));
        }
        let now = self.clock.now();
        // A public, unique id: `ak-` and 64 random bits in hex.
        let random = crypto::sha256(&crypto::random_token()?);
        let hex = crypto::hex(random.get(..8).unwrap_or_default());
        let id = ApiKeyId::parse(&format!("ak-{hex}"))
            .map_err(|e| OpsError::Invalid(vec![problem("key_id", e)]))?;
        let secret = crypto::random_token()?;
        let key = ApiKey {
            id,
            tenant: tenant.id.clone(),
            for_subtenants: input.for_subtenants,
            operations: input.operations.clone(),
            secret_sha256: crypto::sha256_b64url(&secret),
            expires_at: input
                .expires_in_days
                .map(|d| now + TimeDelta::days(i64::from(d))),
            rate_per_minute: input.rate_per_minute,
            created_at: now,
            revoked_at: None,
            last_used_at: None,
        };
        self.tenants.put_api_key(&key).await?;
        let mut view = ApiKeyView::from(&key);
        // Recorded before its credential is put in the view: a row never holds one.
        self.record_change("tenant.api_key.create", key.id.as_str(), None, &view)
            .await?;
        view.credential = Some(format!("{}:{secret}", key.id));
        Ok(view)
    }

    /// Revokes an API key, at once.
    pub async fn revoke_api_key(&self, tenant: &str, id: &str) -> Result<ApiKeyView, OpsError> {
        let tenant = self.existing_tenant(tenant).await?;
        let id = ApiKeyId::parse(id).map_err(|e| OpsError::Invalid(vec![problem("key_id", e)]))?;
        let mut key = self
            .tenants
            .api_key(&id)
            .await?
            .filter(|k| k.tenant == tenant.id)
            .ok_or_else(|| {
                OpsError::NotFound(format!("No API key {id} for tenant {}.", tenant.id))
            })?;
        key.revoked_at.get_or_insert(self.clock.now());
        self.tenants.put_api_key(&key).await?;
        self.record("tenant.api_key.revoke", id.as_str()).await?;
        Ok(ApiKeyView::from(&key))
    }
}
