//! JWS signatures (RFC 7515, RFC 7518 §3): the broker signs with ES256 keys of
//! its own and verifies hosts' ES256, EdDSA and HS256 signatures. The algorithm
//! is always the caller's choice from the key, never from a token's header.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, ED25519, EcdsaKeyPair,
    UnparsedPublicKey,
};

use super::CryptoError;

/// A fresh P-256 private scalar, from the OS CSPRNG.
pub fn generate_p256() -> Result<[u8; 32], CryptoError> {
    // Almost every 32-byte value is a valid scalar; retry the rare one that is not.
    for _ in 0..8 {
        let candidate = super::os_random_bytes::<32>()?;
        if p256::ecdsa::SigningKey::from_slice(&candidate).is_ok() {
            return Ok(candidate);
        }
    }
    Err(CryptoError::Rng)
}

fn signing_key(private: &[u8]) -> Result<p256::ecdsa::SigningKey, CryptoError> {
    p256::ecdsa::SigningKey::from_slice(private).map_err(|_| CryptoError::Key)
}

/// The public point of a P-256 private scalar: `(x, y)`.
pub fn p256_public(private: &[u8]) -> Result<([u8; 32], [u8; 32]), CryptoError> {
    let point = signing_key(private)?
        .verifying_key()
        .to_sec1_point(false)
        .to_bytes();
    let x = point.get(1..33).and_then(|s| <[u8; 32]>::try_from(s).ok());
    let y = point.get(33..65).and_then(|s| <[u8; 32]>::try_from(s).ok());
    x.zip(y).ok_or(CryptoError::Key)
}

/// Whether `point` (`04 || x || y`) is a point of P-256.
#[must_use]
pub fn is_p256_point(point: &[u8]) -> bool {
    p256::ecdsa::VerifyingKey::from_sec1_bytes(point).is_ok()
}

/// Whether `x` is an Ed25519 public key worth verifying against: a point of
/// the curve in its canonical encoding and not of small order. A small-order
/// key (the identity, say) "verifies" signatures made with no private key at
/// all (RFC 8032 §5.1.7 leaves the check to the verifier).
#[must_use]
pub fn is_ed25519_key(x: &[u8; 32]) -> bool {
    let compressed = curve25519_dalek::edwards::CompressedEdwardsY(*x);
    compressed
        .decompress()
        .is_some_and(|point| !point.is_small_order() && point.compress().to_bytes() == *x)
}

/// A P-256 signing key, parsed once into ring's native form (parsing derives
/// and checks the public point, a scalar multiplication as costly as a
/// signature), shared by every clone.
#[derive(Clone)]
pub struct Es256Key(std::sync::Arc<EcdsaKeyPair>);

impl Es256Key {
    /// The key of a private scalar.
    pub fn from_private(private: &[u8]) -> Result<Self, CryptoError> {
        let (x, y) = p256_public(private)?;
        let mut point = [4u8; 65];
        point
            .get_mut(1..33)
            .ok_or(CryptoError::Key)?
            .copy_from_slice(&x);
        point
            .get_mut(33..65)
            .ok_or(CryptoError::Key)?
            .copy_from_slice(&y);
        EcdsaKeyPair::from_private_key_and_public_key(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            private,
            &point,
            &SystemRandom::new(),
        )
        .map(|pair| Self(std::sync::Arc::new(pair)))
        .map_err(|_| CryptoError::Key)
    }

    /// The public point, `04 || x || y`.
    #[must_use]
    pub fn public_point(&self) -> &[u8] {
        ring::signature::KeyPair::public_key(self.0.as_ref()).as_ref()
    }

    /// A compact ES256 JWS of `header` and `claims` (JSON objects).
    pub fn sign(
        &self,
        header: &serde_json::Value,
        claims: &serde_json::Value,
    ) -> Result<String, CryptoError> {
        let mut jws = URL_SAFE_NO_PAD.encode(header.to_string());
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(claims.to_string(), &mut jws);
        let signature = self
            .0
            .sign(&SystemRandom::new(), jws.as_bytes())
            .map_err(|_| CryptoError::Rng)?;
        jws.push('.');
        URL_SAFE_NO_PAD.encode_string(signature.as_ref(), &mut jws);
        Ok(jws)
    }
}

/// A compact ES256 JWS of `header` and `claims` (JSON objects).
pub fn sign_es256(
    private: &[u8],
    header: &serde_json::Value,
    claims: &serde_json::Value,
) -> Result<String, CryptoError> {
    Es256Key::from_private(private)?.sign(header, claims)
}

/// Verifies an ES256 signature (`r || s`, 64 bytes) by an uncompressed point.
#[must_use]
pub fn verify_es256(point: &[u8], input: &[u8], signature: &[u8]) -> bool {
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
        .verify(input, signature)
        .is_ok()
}

/// Verifies an Ed25519 signature.
#[must_use]
pub fn verify_ed25519(public: &[u8], input: &[u8], signature: &[u8]) -> bool {
    // Defence in depth: keys are checked when read, and again here.
    let Ok(key) = <[u8; 32]>::try_from(public) else {
        return false;
    };
    if !is_ed25519_key(&key) {
        return false;
    }
    UnparsedPublicKey::new(&ED25519, public)
        .verify(input, signature)
        .is_ok()
}

/// Verifies an RS256 signature (RSASSA-PKCS1-v1_5 with SHA-256) by a key of
/// 2048 to 8192 bits given as its modulus and exponent (big-endian).
#[must_use]
pub fn verify_rs256(n: &[u8], e: &[u8], input: &[u8], signature: &[u8]) -> bool {
    ring::signature::RsaPublicKeyComponents { n, e }
        .verify(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            input,
            signature,
        )
        .is_ok()
}

/// Verifies an HMAC-SHA-256 tag in constant time.
#[must_use]
pub fn verify_hs256(secret: &[u8], input: &[u8], tag: &[u8]) -> bool {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    ring::hmac::verify(&key, input, tag).is_ok()
}
