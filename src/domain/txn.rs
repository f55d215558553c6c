//! The login transaction that ties a popup login to the page (or frame) waiting
//! for it. As in PKCE (RFC 7636 §4), the opener keeps a secret `txn_verifier` and
//! sends only `txn_challenge = BASE64URL(SHA-256(txn_verifier))` through the popup;
//! only the holder of the verifier can redeem the result.
//!
//! Holding the verifier is not enough, though: anyone can generate a txn and open
//! `/login` with it (docs/src/developers/protocol-facts.md). A result is also released only once it is
//! *confirmed* with a [`Confirmation`], a one-time secret the completion page hands
//! to the registered origin by `postMessage` (which the browser delivers to that
//! origin only) or submits when the user approves the login in the broker's window.

use std::fmt;

use crate::crypto;

#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
/// The opener's transaction id: 43 base64url characters (256 bits).
pub struct TxnId(String);

#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
/// The challenge of a transaction verifier: its SHA-256, base64url.
pub struct TxnChallenge(String);

#[derive(Clone)]
/// A transaction verifier: 43 to 128 base64url characters.
pub struct TxnVerifier(String);

/// The one-time secret that releases a completed login's result (see the module
/// doc). Stored only as its SHA-256.
#[derive(Clone)]
pub struct Confirmation(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
/// Why a transaction value is not valid.
pub enum TxnError {
    #[error("txn must be 16 to 128 characters of A-Z, a-z, 0-9, '-' and '_'")]
    /// The id.
    Id,
    #[error(
        "txn_challenge must be BASE64URL(SHA-256(txn_verifier)): 43 characters of A-Z, a-z, 0-9, '-' and '_'"
    )]
    /// The challenge.
    Challenge,
    #[error("txn_verifier must be 43 to 128 characters of A-Z, a-z, 0-9, '-', '.', '_' and '~'")]
    /// The verifier.
    Verifier,
    #[error("confirmation must be the 43 characters the completion page sent")]
    /// The confirmation.
    Confirmation,
}

fn is_base64url(raw: &str) -> bool {
    raw.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl TxnId {
    /// Parses a transaction id.
    pub fn parse(raw: &str) -> Result<Self, TxnError> {
        if (16..=128).contains(&raw.len()) && is_base64url(raw) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(TxnError::Id)
        }
    }

    #[must_use]
    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key under which the store keeps this transaction: a hash, so the
    /// store never holds the id in clear.
    #[must_use]
    pub fn storage_key(&self) -> [u8; 32] {
        crypto::sha256(&self.0)
    }
}

impl TxnChallenge {
    /// Parses a challenge.
    pub fn parse(raw: &str) -> Result<Self, TxnError> {
        if raw.len() == 43 && is_base64url(raw) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(TxnError::Challenge)
        }
    }

    /// Constant-time check of `BASE64URL(SHA-256(verifier)) == challenge`.
    #[must_use]
    pub fn is_answered_by(&self, verifier: &TxnVerifier) -> bool {
        crypto::constant_time_eq(&crypto::sha256_b64url(&verifier.0), &self.0)
    }

    #[must_use]
    /// The challenge.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TxnVerifier {
    /// The challenge this verifier answers: `BASE64URL(SHA-256(verifier))`.
    #[must_use]
    pub fn challenge(&self) -> String {
        crypto::sha256_b64url(&self.0)
    }

    /// Parses a verifier.
    pub fn parse(raw: &str) -> Result<Self, TxnError> {
        let valid = (43..=128).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(TxnError::Verifier)
        }
    }
}

impl Confirmation {
    /// A fresh confirmation secret (256 random bits).
    pub fn generate() -> Result<Self, crypto::CryptoError> {
        crypto::random_token().map(Self)
    }

    /// Parses a confirmation.
    pub fn parse(raw: &str) -> Result<Self, TxnError> {
        if raw.len() == 43 && is_base64url(raw) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(TxnError::Confirmation)
        }
    }

    /// The value the completion page carries.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the store keeps.
    #[must_use]
    pub fn hash(&self) -> [u8; 32] {
        crypto::sha256(&self.0)
    }

    /// Constant-time comparison with a stored hash.
    #[must_use]
    pub fn matches(&self, stored: &[u8]) -> bool {
        use subtle::ConstantTimeEq as _;
        stored.len() == 32 && bool::from(self.hash().as_slice().ct_eq(stored))
    }
}

// Secrets and secret-derived ids never print.
impl fmt::Debug for Confirmation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Confirmation(..)")
    }
}
impl fmt::Debug for TxnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TxnId(..)")
    }
}
impl fmt::Debug for TxnChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TxnChallenge(..)")
    }
}
impl fmt::Debug for TxnVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TxnVerifier(..)")
    }
}

#[cfg(test)]
mod tests;
