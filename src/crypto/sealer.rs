//! Sealing at rest: XChaCha20-Poly1305 under a keyring (the newest key seals,
//! every key opens, so keys rotate without a flag day), the row key bound in
//! as associated data so a sealed value cannot be moved to another row; the
//! keys are read again when a value opens with none of them (another process
//! rotated the key file).

use std::sync::{Arc, Mutex, PoisonError, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::{CryptoError, KEY_LEN, NONCE_LEN, hex, os_random_bytes, random_bytes};

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
