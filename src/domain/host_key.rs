//! A host's signing keys: the key's id as the host chose it ([`KeyId`]), the one
//! algorithm it allows ([`KeyAlgorithm`]) and its verifying half, a public JWK
//! checked when it is added ([`VerifyingKey`], [`HostKey`]); and the keys a
//! configuration file gives its tenants ([`ConfiguredTenant`]).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

use super::tenant::{Tenant, TenantId};

/// A signing key's id as the host chose it (`kid`): 1 to 128 characters of
/// `A-Z a-z 0-9 . _ - : +`.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct KeyId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a key ID (kid) is 1 to 128 characters of A-Z, a-z, 0-9, '.', '_', '-', ':' and '+'")]
/// A `kid` that is not valid.
pub struct KeyIdError;

impl KeyId {
    /// Parses a `kid`.
    pub fn parse(raw: &str) -> Result<Self, KeyIdError> {
        let valid = (1..=128).contains(&raw.len())
            && raw.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':' | b'+')
            });
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(KeyIdError)
        }
    }

    #[must_use]
    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for KeyId {
    type Error = KeyIdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<KeyId> for String {
    fn from(value: KeyId) -> Self {
        value.0
    }
}

/// The one algorithm a signing key allows (RFC 8725 §3.1: the key decides, never
/// the token's header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum KeyAlgorithm {
    /// ECDSA P-256 with SHA-256.
    #[serde(rename = "ES256")]
    Es256,
    /// Ed25519.
    #[serde(rename = "EdDSA")]
    EdDsa,
    /// HMAC-SHA-256 with a shared secret (only where the tenant allows it).
    #[serde(rename = "HS256")]
    Hs256,
}

impl KeyAlgorithm {
    /// The JOSE name (`alg`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
            Self::Hs256 => "HS256",
        }
    }
}

/// The verifying half of a host's key.
#[derive(Debug, Clone)]
pub enum VerifyingKey {
    /// A P-256 point, uncompressed (`04 || x || y`).
    P256(Vec<u8>),
    /// An Ed25519 public key.
    Ed25519([u8; 32]),
    /// An HS256 secret (stored sealed).
    Shared(secrecy::SecretSlice<u8>),
}

/// Why a public JWK is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct JwkProblem(pub &'static str);

fn coordinate(jwk: &serde_json::Value, name: &str) -> Result<[u8; 32], JwkProblem> {
    jwk.get(name)
        .and_then(serde_json::Value::as_str)
        .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
        .and_then(|v| <[u8; 32]>::try_from(v).ok())
        .ok_or(JwkProblem("x (and y) must be 32 bytes of base64url"))
}

impl VerifyingKey {
    /// Reads a public JWK (`kty`/`crv`/`x`/`y`), refusing private members and
    /// requiring `alg`, when present, to be the key's one algorithm.
    pub fn from_public_jwk(jwk: &serde_json::Value) -> Result<(Self, KeyAlgorithm), JwkProblem> {
        if jwk.get("d").is_some() || jwk.get("k").is_some() {
            return Err(JwkProblem(
                "this JWK holds a private key: register only its public half",
            ));
        }
        let kty = jwk.get("kty").and_then(serde_json::Value::as_str);
        let crv = jwk.get("crv").and_then(serde_json::Value::as_str);
        let (key, alg) = match (kty, crv) {
            (Some("EC"), Some("P-256")) => {
                let mut point = vec![4u8];
                point.extend_from_slice(&coordinate(jwk, "x")?);
                point.extend_from_slice(&coordinate(jwk, "y")?);
                if !crate::crypto::jws::is_p256_point(&point) {
                    return Err(JwkProblem("x and y are not a point of P-256"));
                }
                (Self::P256(point), KeyAlgorithm::Es256)
            }
            (Some("OKP"), Some("Ed25519")) => {
                let x = coordinate(jwk, "x")?;
                if !crate::crypto::jws::is_ed25519_key(&x) {
                    return Err(JwkProblem(
                        "x is not a usable Ed25519 public key (not a curve point in canonical form, or of small order)",
                    ));
                }
                (Self::Ed25519(x), KeyAlgorithm::EdDsa)
            }
            _ => {
                return Err(JwkProblem(
                    "only EC P-256 (ES256) and OKP Ed25519 (EdDSA) public keys are accepted",
                ));
            }
        };
        match jwk.get("alg").and_then(serde_json::Value::as_str) {
            None => {}
            Some(named) if named == alg.as_str() => {}
            Some(_) => return Err(JwkProblem("alg does not match the key type")),
        }
        Ok((key, alg))
    }

    /// The public JWK (nothing for a shared secret).
    #[must_use]
    pub fn public_jwk(&self) -> Option<serde_json::Value> {
        match self {
            Self::P256(point) => {
                let x = point.get(1..33)?;
                let y = point.get(33..65)?;
                Some(serde_json::json!({
                    "kty": "EC", "crv": "P-256",
                    "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
                }))
            }
            Self::Ed25519(x) => Some(serde_json::json!({
                "kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(x),
            })),
            Self::Shared(_) => None,
        }
    }
}

/// A host's signing key.
#[derive(Debug, Clone)]
pub struct HostKey {
    /// The tenant it signs for (the `iss` of its tokens).
    pub tenant: TenantId,
    /// Its `kid`, unique within the tenant.
    pub kid: KeyId,
    /// Its one algorithm.
    pub alg: KeyAlgorithm,
    /// The verifying key.
    pub key: VerifyingKey,
    /// Whether it may sign for the tenant's sub-tenants (that grant it).
    pub for_subtenants: bool,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// When it was revoked; a revoked key verifies nothing.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A tenant of the configuration file and its public keys (written at every start).
#[derive(Debug, Clone)]
pub struct ConfiguredTenant {
    /// The tenant.
    pub tenant: Tenant,
    /// Its keys: `kid`, verifying key and algorithm, and the sub-tenant scope.
    pub keys: Vec<ConfiguredKey>,
}

/// A public key of a configured tenant.
#[derive(Debug, Clone)]
pub struct ConfiguredKey {
    /// Its `kid`.
    pub kid: KeyId,
    /// The key.
    pub key: VerifyingKey,
    /// Its one algorithm.
    pub alg: KeyAlgorithm,
    /// Whether it may sign for sub-tenants.
    pub for_subtenants: bool,
}
