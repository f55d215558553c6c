//! Randomness, hashing and sealing. Keys come from the OS CSPRNG; per-request
//! values (states, nonces, PKCE verifiers, confirmations, AEAD nonces) from the
//! thread's CSPRNG (`rand`'s ChaCha12, seeded and regularly reseeded from the OS),
//! which spares a system call per value. Values stored at rest that would grant access (tokens, PKCE verifiers, nonces)
//! are sealed with XChaCha20-Poly1305, the row key bound in as associated data so
//! a sealed value cannot be moved to another row.

pub mod jws;
mod sealer;

pub use sealer::{KeyReload, Sealer};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::rngs::OsRng;
use rand::{RngCore as _, TryRngCore as _};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;

/// Fills `N` bytes from the OS CSPRNG (for keys).
fn os_random_bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut bytes = [0u8; N];
    OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|_| CryptoError::Rng)?;
    Ok(bytes)
}

/// Fills `N` bytes from this thread's CSPRNG (for per-request values).
fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// A fresh 256-bit random value, base64url without padding (43 characters).
pub fn random_token() -> Result<String, CryptoError> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<32>()))
}

/// `BASE64URL(SHA-256(input))`, as PKCE's S256 (RFC 7636 §4.2).
#[must_use]
pub fn sha256_b64url(input: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(input.as_bytes()))
}

/// Raw SHA-256, used as the storage key of secrets (states, txn ids) so the store
/// never holds them in clear.
#[must_use]
pub fn sha256(input: &str) -> [u8; 32] {
    Sha256::digest(input.as_bytes()).into()
}

/// Writes an optional secret in clear, for the one place a secret is sent on
/// purpose: a request body to the admin API over TLS.
pub fn serialize_secret<S: serde::Serializer>(
    secret: &Option<SecretString>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match secret {
        Some(secret) => serializer.serialize_some(secret.expose_secret()),
        None => serializer.serialize_none(),
    }
}

/// Lower-case hex of `bytes`.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// Compares two strings in time independent of where they differ.
#[must_use]
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[derive(Debug, thiserror::Error)]
/// Why a cryptographic operation failed.
pub enum CryptoError {
    #[error("the operating system's random generator failed")]
    /// The OS random generator failed.
    Rng,
    #[error("the sealing key must be 32 bytes, base64-encoded")]
    /// The sealing key is malformed.
    BadKey,
    #[error("a sealed value could not be opened (wrong key or tampered data)")]
    /// A sealed value does not open.
    Open,
    #[error("hashing a secret failed: {0}")]
    /// Hashing a secret failed.
    Hash(String),
    #[error("a signing key is not a valid P-256 private key")]
    /// A stored signing key does not parse.
    Key,
}

#[cfg(test)]
mod tests;
