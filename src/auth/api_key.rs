//! Hosts' API keys: `Authorization: Bearer <key_id>:<secret>`. The secret is 256
//! random bits, so its SHA-256 is stored and compared in constant time (a slow
//! hash protects guessable passwords, not random keys). Revoked and expired keys
//! fail at once.

use chrono::{DateTime, Utc};

use super::Outcome;
use crate::crypto;
use crate::domain::{ApiKey, ApiKeyId};
use crate::store::tenants::TenantStore;
use crate::store::{DocumentStore, StoreError};

/// Authenticates an API key from the `Authorization` header.
pub async fn authenticate(
    store: &dyn DocumentStore,
    header: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Outcome<ApiKey>, StoreError> {
    let Some(credential) = header.and_then(|h| {
        h.strip_prefix("Bearer ")
            .or_else(|| h.strip_prefix("bearer "))
    }) else {
        return Ok(Outcome::NotRequested);
    };
    let Some((id, secret)) = credential.trim().split_once(':') else {
        return Ok(Outcome::Failed("malformed API key"));
    };
    let Ok(id) = ApiKeyId::parse(id) else {
        return Ok(Outcome::Failed("unknown API key"));
    };
    let Some(key) = store.api_key(&id).await? else {
        return Ok(Outcome::Failed("unknown API key"));
    };
    if !crypto::constant_time_eq(&crypto::sha256_b64url(secret), &key.secret_sha256) {
        return Ok(Outcome::Failed("wrong secret"));
    }
    if key.revoked_at.is_some() {
        return Ok(Outcome::Failed("revoked API key"));
    }
    if !key.is_live(now) {
        return Ok(Outcome::Failed("expired API key"));
    }
    Ok(Outcome::Authenticated(key))
}
