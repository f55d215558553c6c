//! Randomness, hashing and sealing. Keys come from the OS CSPRNG; per-request
//! values (states, nonces, PKCE verifiers, confirmations, AEAD nonces) from the
//! thread's CSPRNG (`rand`'s ChaCha12, seeded and regularly reseeded from the OS),
//! which spares a system call per value. Values stored at rest that would grant access (tokens, PKCE verifiers, nonces)
//! are sealed with XChaCha20-Poly1305, the row key bound in as associated data so
//! a sealed value cannot be moved to another row.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
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
}

/// Seals and opens values stored at rest.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// A sealer from a base64-encoded 32-byte key.
    pub fn from_base64(key: &SecretString) -> Result<Self, CryptoError> {
        let bytes = STANDARD
            .decode(key.expose_secret().trim())
            .map_err(|_| CryptoError::BadKey)?;
        let key: [u8; KEY_LEN] = bytes.try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(Self {
            cipher: XChaCha20Poly1305::new(&key.into()),
        })
    }

    /// A new random key, base64-encoded.
    pub fn generate_key() -> Result<SecretString, CryptoError> {
        Ok(SecretString::from(
            STANDARD.encode(os_random_bytes::<KEY_LEN>()?),
        ))
    }

    /// `nonce || ciphertext`, bound to `row_key`.
    pub fn seal(&self, row_key: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let nonce = random_bytes::<NONCE_LEN>();
        let sealed = self
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: row_key,
                },
            )
            .map_err(|_| CryptoError::Open)?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens a value sealed for `row_key`.
    pub fn open(&self, row_key: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let (nonce, ciphertext) = sealed
            .split_at_checked(NONCE_LEN)
            .ok_or(CryptoError::Open)?;
        self.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: row_key,
                },
            )
            .map_err(|_| CryptoError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_value_opens_only_under_its_row_key() {
        let sealer = Sealer::from_base64(&Sealer::generate_key().unwrap()).unwrap();
        let ciphertext = sealer.seal(b"row-1", b"secret").unwrap();
        assert_eq!(sealer.open(b"row-1", &ciphertext).unwrap(), b"secret");
        assert!(sealer.open(b"row-2", &ciphertext).is_err());
    }

    #[test]
    fn s256_is_base64url_of_sha256_without_padding() {
        // Expected value computed independently (Python hashlib + base64).
        assert_eq!(
            sha256_b64url("dBjftJeZ4CVP-mJ92K1uQb4d6iU0Ltt1V0iiDEK39sU"),
            "fLfXp-JvaE6p1GHe8x-N4dKhId3F1cEgZdoaXDmKACU"
        );
    }
}
