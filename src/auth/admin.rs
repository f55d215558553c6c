//! Administrators: bearer admin tokens made by `authproxy admin create-token`.
//! A token is 256 random bits, so the store keeps only its SHA-256.

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

/// Authenticates `Authorization: Bearer <admin token>`; returns the token's label.
pub async fn authenticate(
    store: &dyn AccessStore,
    header: Option<&str>,
) -> Result<Outcome<String>, StoreError> {
    let Some(token) = header.and_then(|h| h.strip_prefix("Bearer ")) else {
        return Ok(Outcome::NotRequested);
    };
    Ok(
        match store.admin_token(crypto::sha256(token.trim())).await? {
            Some(label) => Outcome::Authenticated(label),
            None => Outcome::Failed("unknown admin token"),
        },
    )
}
