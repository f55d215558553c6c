//! Administrators: bearer admin tokens made by `authproxy admin create-token`
//! or the admin API. A token is 256 random bits, so the store keeps only its
//! SHA-256; an expired token is refused like an unknown one.

use chrono::{DateTime, Utc};

use super::Outcome;
use crate::crypto;
use crate::store::{AccessStore, StoreError};

/// Prefix that makes admin tokens recognisable in a secret scanner.
pub const TOKEN_PREFIX: &str = "apx_admin_";

/// A new admin token and the hash to store.
pub fn new_token() -> Result<(String, [u8; 32]), crypto::CryptoError> {
    let token = format!("{TOKEN_PREFIX}{}", crypto::random_token()?);
    let hash = crypto::sha256(&token);
    Ok((token, hash))
}

/// A token's public id: the first 16 hex digits of its hash, which name it in
/// listings without revealing anything of its value.
#[must_use]
pub fn token_id(hash: &[u8; 32]) -> String {
    crypto::hex(hash.split_at(8).0)
}

/// Authenticates `Authorization: Bearer <admin token>` at `now`; returns the
/// token's label.
pub async fn authenticate(
    store: &dyn AccessStore,
    header: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Outcome<String>, StoreError> {
    let Some(token) = header.and_then(|h| h.strip_prefix("Bearer ")) else {
        return Ok(Outcome::NotRequested);
    };
    Ok(
        match store.admin_token(crypto::sha256(token.trim())).await? {
            Some(stored) if stored.is_live(now) => Outcome::Authenticated(stored.label),
            Some(_) => Outcome::Failed("expired admin token"),
            None => Outcome::Failed("unknown admin token"),
        },
    )
}
