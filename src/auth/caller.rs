//! Impersonation callers: HTTP Basic with the caller ID and secret, each
//! form-urlencoded first (RFC 6749 §2.3.1). Secrets are stored only as Argon2id
//! hashes; an unknown caller costs the same hashing time as a known one.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::Outcome;
use crate::crypto::CryptoError;
use crate::domain::CallerId;
use crate::store::{AccessStore, StoreError, StoredCaller};

/// Basic credentials as sent: the caller ID (which may be invalid) and the secret.
pub struct BasicCredentials {
    /// The caller's id.
    pub id: String,
    /// The caller's secret.
    pub secret: String,
}

/// Parses `Authorization: Basic …`; `None` when absent, `Err` when malformed.
pub fn parse_basic(header: Option<&str>) -> Result<Option<BasicCredentials>, &'static str> {
    let Some(header) = header else {
        return Ok(None);
    };
    let Some(encoded) = header
        .strip_prefix("Basic ")
        .or_else(|| header.strip_prefix("basic "))
    else {
        return Ok(None);
    };
    let decoded = STANDARD
        .decode(encoded.trim())
        .map_err(|_| "malformed Basic credentials")?;
    let decoded = String::from_utf8(decoded).map_err(|_| "malformed Basic credentials")?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or("malformed Basic credentials")?;
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some(BasicCredentials {
        id: decode(id),
        secret: decode(secret),
    }))
}

/// An Argon2id hash (PHC string) of `secret`.
pub fn hash_secret(secret: &str) -> Result<String, CryptoError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| CryptoError::Hash(e.to_string()))
}

fn verify(hash: &str, secret: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(secret.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash to verify against when the caller does not exist, so that the answer
/// takes as long as for a known caller.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_secret("decoy-secret-never-matches").unwrap_or_default())
}

/// Authenticates a caller from the `Authorization` header.
pub async fn authenticate(
    store: &dyn AccessStore,
    header: Option<&str>,
) -> Result<(Outcome<StoredCaller>, Option<String>), StoreError> {
    let credentials = match parse_basic(header) {
        Ok(Some(credentials)) => credentials,
        Ok(None) => return Ok((Outcome::NotRequested, None)),
        Err(reason) => return Ok((Outcome::Failed(reason), None)),
    };
    let claimed = CallerId::parse(&credentials.id).ok();
    let caller = match &claimed {
        Some(id) => store.caller(id).await?,
        None => None,
    };
    let hash = caller
        .as_ref()
        .map_or_else(|| decoy_hash().to_owned(), |c| c.secret_hash.clone());
    let secret = credentials.secret;
    let matches = tokio::task::spawn_blocking(move || verify(&hash, &secret))
        .await
        .unwrap_or(false);
    let claimed = claimed.map(|id| id.to_string());
    Ok(match caller {
        Some(caller) if matches => (Outcome::Authenticated(caller), claimed),
        Some(_) => (Outcome::Failed("wrong secret"), claimed),
        None => (Outcome::Failed("unknown caller"), claimed),
    })
}

#[cfg(test)]
mod tests;
