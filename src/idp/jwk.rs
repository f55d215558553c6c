//! A realm's signing key, as openidconnect selects it (by `kid`, type, use and
//! `alg`, unchanged) but verified with ring: its P-256, P-384 and RSA
//! verification is several times faster than the pure-Rust verifiers
//! openidconnect calls, and verifying the ID token was most of the callback's
//! CPU. What ring does not cover falls back to openidconnect's own verification.

use openidconnect::core::{CoreJsonWebKey, CoreJsonWebKeyUse, CoreJwsSigningAlgorithm};
use openidconnect::{JsonWebKey, JsonWebKeyAlgorithm, JsonWebKeyId, SignatureVerificationError};
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The public key material ring verifies with, read from the JWK once.
#[derive(Clone, Debug)]
enum Material {
    /// An EC key: its curve (`crv`) and the uncompressed point `04 || x || y`.
    Ec { curve: Curve, point: Vec<u8> },
    /// An RSA key: modulus and exponent, big-endian.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// Anything else: openidconnect verifies (or refuses) it.
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Curve {
    P256,
    P384,
}

/// A JWK of a realm's key set.
#[derive(Clone, Debug)]
pub struct RealmKey {
    core: CoreJsonWebKey,
    material: Material,
}

fn field(jwk: &Value, name: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(jwk.get(name)?.as_str()?).ok()
}

impl RealmKey {
    fn material(jwk: &Value) -> Material {
        match jwk.get("kty").and_then(Value::as_str) {
            Some("EC") => {
                let curve = match jwk.get("crv").and_then(Value::as_str) {
                    Some("P-256") => Curve::P256,
                    Some("P-384") => Curve::P384,
                    _ => return Material::Other,
                };
                let (Some(x), Some(y)) = (field(jwk, "x"), field(jwk, "y")) else {
                    return Material::Other;
                };
                let mut point = Vec::with_capacity(1 + x.len() + y.len());
                point.push(4);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                Material::Ec { curve, point }
            }
            Some("RSA") => match (field(jwk, "n"), field(jwk, "e")) {
                (Some(n), Some(e)) => Material::Rsa { n, e },
                _ => Material::Other,
            },
            _ => Material::Other,
        }
    }
}

impl<'de> Deserialize<'de> for RealmKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let jwk = Value::deserialize(deserializer)?;
        let core = CoreJsonWebKey::deserialize(&jwk).map_err(serde::de::Error::custom)?;
        Ok(Self {
            material: Self::material(&jwk),
            core,
        })
    }
}

impl Serialize for RealmKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.core.serialize(serializer)
    }
}

impl JsonWebKey for RealmKey {
    type KeyUse = CoreJsonWebKeyUse;
    type SigningAlgorithm = CoreJwsSigningAlgorithm;

    fn key_id(&self) -> Option<&JsonWebKeyId> {
        self.core.key_id()
    }

    fn key_type(
        &self,
    ) -> &<CoreJwsSigningAlgorithm as openidconnect::JwsSigningAlgorithm>::KeyType {
        self.core.key_type()
    }

    fn key_use(&self) -> Option<&CoreJsonWebKeyUse> {
        self.core.key_use()
    }

    fn signing_alg(&self) -> JsonWebKeyAlgorithm<&CoreJwsSigningAlgorithm> {
        self.core.signing_alg()
    }

    fn new_symmetric(key: Vec<u8>) -> Self {
        Self {
            core: CoreJsonWebKey::new_symmetric(key),
            material: Material::Other,
        }
    }

    fn verify_signature(
        &self,
        alg: &CoreJwsSigningAlgorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), SignatureVerificationError> {
        use CoreJwsSigningAlgorithm as Alg;
        let verified = match (alg, &self.material) {
            (
                Alg::EcdsaP256Sha256,
                Material::Ec {
                    curve: Curve::P256,
                    point,
                },
            ) => UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                .verify(message, signature),
            (
                Alg::EcdsaP384Sha384,
                Material::Ec {
                    curve: Curve::P384,
                    point,
                },
            ) => UnparsedPublicKey::new(&signature::ECDSA_P384_SHA384_FIXED, point)
                .verify(message, signature),
            (Alg::RsaSsaPkcs1V15Sha256, Material::Rsa { n, e }) => RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, signature),
            (Alg::RsaSsaPkcs1V15Sha384, Material::Rsa { n, e }) => RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA384, message, signature),
            (Alg::RsaSsaPkcs1V15Sha512, Material::Rsa { n, e }) => RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA512, message, signature),
            (Alg::RsaSsaPssSha256, Material::Rsa { n, e }) => RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PSS_2048_8192_SHA256, message, signature),
            (Alg::RsaSsaPssSha384, Material::Rsa { n, e }) => RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PSS_2048_8192_SHA384, message, signature),
            (Alg::RsaSsaPssSha512, Material::Rsa { n, e }) => RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PSS_2048_8192_SHA512, message, signature),
            // Another algorithm, or a key that does not fit it: openidconnect
            // verifies, or says why not.
            _ => return self.core.verify_signature(alg, message, signature),
        };
        verified.map_err(|_| SignatureVerificationError::CryptoError("bad signature".into()))
    }

    fn hash_bytes(&self, bytes: &[u8], alg: &CoreJwsSigningAlgorithm) -> Result<Vec<u8>, String> {
        self.core.hash_bytes(bytes, alg)
    }
}

#[cfg(test)]
mod tests;
