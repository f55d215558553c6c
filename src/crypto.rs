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
use std::sync::{Arc, Mutex, PoisonError, RwLock};

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

/// One sealing key: its cipher and its public fingerprint.
struct SealingKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl SealingKey {
    fn from_base64(key: &SecretString) -> Result<Self, CryptoError> {
        let bytes = STANDARD
            .decode(key.expose_secret().trim())
            .map_err(|_| CryptoError::BadKey)?;
        let key: [u8; KEY_LEN] = bytes.try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(Self {
            id: key_id(&key),
            cipher: XChaCha20Poly1305::new(&key.into()),
        })
    }
}

/// A key's fingerprint: the first 8 hex digits of SHA-256 of the key, safe to
/// print (it tells keys apart and reveals nothing usable).
fn key_id(key: &[u8]) -> String {
    let digest = Sha256::digest(key);
    hex(digest.get(..4).unwrap_or_default())
}

/// Where a [`Sealer`] reads its keys again when a value opens with none of
/// them (another process rotated the key file).
pub type KeyReload = Arc<dyn Fn() -> Result<Vec<SecretString>, CryptoError> + Send + Sync>;

/// Seals and opens values stored at rest: a keyring, newest key first. The
/// newest seals; every key opens (AEAD tells a wrong key apart), so values
/// sealed before a rotation keep opening until they are sealed again.
#[derive(Clone)]
pub struct Sealer {
    keys: Arc<RwLock<Arc<Vec<SealingKey>>>>,
    reload: Option<KeyReload>,
    last_reload: Arc<Mutex<Option<std::time::Instant>>>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sealer({})", self.key_ids().join(", "))
    }
}

impl Sealer {
    /// A sealer from a base64-encoded 32-byte key.
    pub fn from_base64(key: &SecretString) -> Result<Self, CryptoError> {
        Self::from_keys(std::slice::from_ref(key))
    }

    /// A sealer from several keys, newest (the one that seals) first.
    pub fn from_keys(keys: &[SecretString]) -> Result<Self, CryptoError> {
        let keys = parse_keys(keys)?;
        Ok(Self {
            keys: Arc::new(RwLock::new(Arc::new(keys))),
            reload: None,
            last_reload: Arc::new(Mutex::new(None)),
        })
    }

    #[must_use]
    /// Reads the keys again with `reload` when a value opens with none of them
    /// (at most once a second).
    pub fn with_reload(mut self, reload: KeyReload) -> Self {
        self.reload = Some(reload);
        self
    }

    fn current(&self) -> Arc<Vec<SealingKey>> {
        Arc::clone(&self.keys.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The fingerprints of the keys, newest first.
    #[must_use]
    pub fn key_ids(&self) -> Vec<String> {
        self.current().iter().map(|k| k.id.clone()).collect()
    }

    /// A new random key, base64-encoded.
    pub fn generate_key() -> Result<SecretString, CryptoError> {
        Ok(SecretString::from(
            STANDARD.encode(os_random_bytes::<KEY_LEN>()?),
        ))
    }

    /// The fingerprint of a base64-encoded key.
    pub fn fingerprint(key: &SecretString) -> Result<String, CryptoError> {
        SealingKey::from_base64(key).map(|k| k.id)
    }

    /// `nonce || ciphertext` under the newest key, bound to `row_key`.
    pub fn seal(&self, row_key: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let keys = self.current();
        let key = keys.first().ok_or(CryptoError::BadKey)?;
        let nonce = random_bytes::<NONCE_LEN>();
        let sealed = key
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

    /// `value` as JSON, sealed for `binding`, as base64url (a cookie's value).
    pub fn seal_json<T: serde::Serialize>(
        &self,
        binding: &[u8],
        value: &T,
    ) -> Result<String, CryptoError> {
        let json = serde_json::to_vec(value).map_err(|_| CryptoError::Open)?;
        Ok(URL_SAFE_NO_PAD.encode(self.seal(binding, &json)?))
    }

    /// Opens what [`Sealer::seal_json`] sealed for the same `binding`; `None`
    /// when it was sealed for another binding or key, or tampered with.
    #[must_use]
    pub fn open_json<T: serde::de::DeserializeOwned>(
        &self,
        binding: &[u8],
        text: &str,
    ) -> Option<T> {
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        let json = self.open(binding, &bytes).ok()?;
        serde_json::from_slice(&json).ok()
    }

    /// Opens a value sealed for `row_key` under any key of the ring.
    pub fn open(&self, row_key: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.open_with_index(row_key, sealed)
            .map(|(plain, _)| plain)
    }

    /// Opens a value and says whether it is sealed under the newest key.
    pub fn open_and_check(
        &self,
        row_key: &[u8],
        sealed: &[u8],
    ) -> Result<(Vec<u8>, bool), CryptoError> {
        self.open_with_index(row_key, sealed)
            .map(|(plain, index)| (plain, index == 0))
    }

    fn open_with_index(
        &self,
        row_key: &[u8],
        sealed: &[u8],
    ) -> Result<(Vec<u8>, usize), CryptoError> {
        match try_open(&self.current(), row_key, sealed) {
            Err(CryptoError::Open) if self.reload_keys() => {
                try_open(&self.current(), row_key, sealed)
            }
            other => other,
        }
    }

    /// Reads the keys again (a rotation by another process), when a reload is
    /// set and none happened in the last second; whether the ring changed.
    #[must_use]
    pub fn refresh(&self) -> bool {
        self.reload_keys()
    }

    fn reload_keys(&self) -> bool {
        let Some(reload) = &self.reload else {
            return false;
        };
        {
            let mut last = self
                .last_reload
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if last.is_some_and(|at| at.elapsed() < std::time::Duration::from_secs(1)) {
                return false;
            }
            *last = Some(std::time::Instant::now());
        }
        let Ok(keys) = reload().and_then(|keys| parse_keys(&keys)) else {
            return false;
        };
        let changed = keys
            .iter()
            .map(|k| &k.id)
            .ne(self.current().iter().map(|k| &k.id));
        if changed {
            *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(keys);
        }
        changed
    }
}

fn parse_keys(keys: &[SecretString]) -> Result<Vec<SealingKey>, CryptoError> {
    if keys.is_empty() {
        return Err(CryptoError::BadKey);
    }
    keys.iter().map(SealingKey::from_base64).collect()
}

fn try_open(
    keys: &[SealingKey],
    row_key: &[u8],
    sealed: &[u8],
) -> Result<(Vec<u8>, usize), CryptoError> {
    let (nonce, ciphertext) = sealed
        .split_at_checked(NONCE_LEN)
        .ok_or(CryptoError::Open)?;
    keys.iter()
        .enumerate()
        .find_map(|(index, key)| {
            key.cipher
                .decrypt(
                    XNonce::from_slice(nonce),
                    Payload {
                        msg: ciphertext,
                        aad: row_key,
                    },
                )
                .ok()
                .map(|plain| (plain, index))
        })
        .ok_or(CryptoError::Open)
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
    fn the_newest_key_seals_and_every_key_opens() {
        let old = Sealer::generate_key().unwrap();
        let new = Sealer::generate_key().unwrap();
        let before = Sealer::from_base64(&old)
            .unwrap()
            .seal(b"row", b"secret")
            .unwrap();
        let ring = Sealer::from_keys(&[new.clone(), old]).unwrap();
        assert_eq!(
            ring.open_and_check(b"row", &before).unwrap(),
            (b"secret".to_vec(), false)
        );
        let after = ring.seal(b"row", b"secret").unwrap();
        assert_eq!(
            ring.open_and_check(b"row", &after).unwrap(),
            (b"secret".to_vec(), true)
        );
        assert!(
            Sealer::from_base64(&new)
                .unwrap()
                .open(b"row", &before)
                .is_err()
        );
        assert_eq!(ring.key_ids().len(), 2);
    }

    #[test]
    fn a_ring_reads_its_keys_again_when_nothing_opens() {
        let old = Sealer::generate_key().unwrap();
        let new = Sealer::generate_key().unwrap();
        let sealed = Sealer::from_base64(&new)
            .unwrap()
            .seal(b"row", b"v")
            .unwrap();
        let reloaded = new.clone();
        let ring = Sealer::from_base64(&old)
            .unwrap()
            .with_reload(Arc::new(move || Ok(vec![reloaded.clone()])));
        assert_eq!(ring.open(b"row", &sealed).unwrap(), b"v");
        assert_eq!(ring.key_ids(), vec![Sealer::fingerprint(&new).unwrap()]);
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

/// JWS signatures (RFC 7515, RFC 7518 §3): the broker signs with ES256 keys of
/// its own and verifies hosts' ES256, EdDSA and HS256 signatures. The algorithm
/// is always the caller's choice from the key, never from a token's header.
pub mod jws {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use p256::ecdsa::signature::Signer as _;
    use ring::signature::{ECDSA_P256_SHA256_FIXED, ED25519, UnparsedPublicKey};

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

    /// A P-256 signing key, parsed once (parsing derives the public point, a
    /// scalar multiplication as costly as a signature).
    #[derive(Clone)]
    pub struct Es256Key(p256::ecdsa::SigningKey);

    impl Es256Key {
        /// The key of a private scalar.
        pub fn from_private(private: &[u8]) -> Result<Self, CryptoError> {
            signing_key(private).map(Self)
        }

        /// A compact ES256 JWS of `header` and `claims` (JSON objects).
        #[must_use]
        pub fn sign(&self, header: &serde_json::Value, claims: &serde_json::Value) -> String {
            let input = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(header.to_string()),
                URL_SAFE_NO_PAD.encode(claims.to_string())
            );
            let signature: p256::ecdsa::Signature = self.0.sign(input.as_bytes());
            format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
        }
    }

    /// A compact ES256 JWS of `header` and `claims` (JSON objects).
    pub fn sign_es256(
        private: &[u8],
        header: &serde_json::Value,
        claims: &serde_json::Value,
    ) -> Result<String, CryptoError> {
        Ok(Es256Key::from_private(private)?.sign(header, claims))
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
}
