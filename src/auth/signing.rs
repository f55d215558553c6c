//! The broker's own ES256 keys: they sign the embed session tokens (published at
//! `/.well-known/jwks.json` for the embedded app's backends) and the host tokens
//! that `POST /api/v1/embed/tokens` mints. The private scalars are stored sealed
//! in the durable store, so every replica signs with the same keys. The newest
//! key signs; older ones still verify until they are retired, so a rotation never
//! invalidates a token in flight. Each token says its purpose in `typ`, and a
//! verifier asks for one purpose: one kind of token never passes as another.

use std::sync::{Arc, PoisonError, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use secrecy::{ExposeSecret as _, SecretSlice};
use serde_json::{Map, Value, json};

use super::jwt::{self, ShapeProblem};
use crate::crypto::{self, CryptoError};
use crate::store::tenants::{SigningKeyRecord, TenantStore};
use crate::store::{DurableStore, StoreError};

/// How long a key signs before a rotation makes a new one.
pub const ROTATE_AFTER: TimeDelta = TimeDelta::days(30);
/// How long a replaced key keeps verifying (longer than any token it signed lives).
pub const RETIRE_AFTER: TimeDelta = TimeDelta::days(2);

#[derive(Debug, thiserror::Error)]
/// Why the keys could not be used.
pub enum SigningError {
    #[error(transparent)]
    /// The store failed.
    Store(#[from] StoreError),
    #[error(transparent)]
    /// A key is broken.
    Crypto(#[from] CryptoError),
    #[error("there is no signing key")]
    /// No key exists (the store was emptied under the running service).
    NoKey,
}

struct Key {
    kid: String,
    created_at: DateTime<Utc>,
    signing: crypto::jws::Es256Key,
    public: (Vec<u8>, Value),
}

fn key_of(record: SigningKeyRecord) -> Result<Key, CryptoError> {
    // The key pair derived the public point once; the JWK is read from it.
    let signing = crypto::jws::Es256Key::from_private(record.private.expose_secret())?;
    let point = signing.public_point().to_vec();
    let (x, y) = point
        .get(1..33)
        .zip(point.get(33..65))
        .ok_or(CryptoError::Key)?;
    let jwk = json!({
        "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": record.kid,
        "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
    });
    Ok(Key {
        signing,
        kid: record.kid,
        created_at: record.created_at,
        public: (point, jwk),
    })
}

/// The JWK thumbprint (RFC 7638) of a P-256 key: its `kid`.
fn thumbprint(private: &[u8]) -> Result<String, CryptoError> {
    let (x, y) = crypto::jws::p256_public(private)?;
    let canonical = format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(x),
        URL_SAFE_NO_PAD.encode(y)
    );
    Ok(crypto::sha256_b64url(&canonical))
}

/// Why a token of the broker's own does not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnTokenProblem {
    /// The shape is wrong (including another `typ`).
    Shape(ShapeProblem),
    /// No key of the broker has this `kid` (or it was retired).
    UnknownKey,
    /// `alg` is not ES256.
    AlgMismatch,
    /// The signature does not verify.
    BadSignature,
}

/// The broker's signing keys, newest first.
pub struct BrokerKeys {
    store: Arc<dyn DurableStore>,
    issuer: String,
    keys: RwLock<Arc<Vec<Key>>>,
}

impl BrokerKeys {
    /// Loads the keys, making the first one when there is none.
    pub async fn load(
        store: Arc<dyn DurableStore>,
        issuer: &str,
        now: DateTime<Utc>,
    ) -> Result<Self, SigningError> {
        let keys = Self {
            store,
            issuer: issuer.to_owned(),
            keys: RwLock::new(Arc::new(Vec::new())),
        };
        keys.reload().await?;
        if keys.current().is_empty() {
            keys.add(now).await?;
        }
        Ok(keys)
    }

    fn current(&self) -> Arc<Vec<Key>> {
        Arc::clone(&self.keys.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The issuer of the broker's tokens (its public URL).
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Reads the keys again (another replica may have rotated them).
    pub async fn reload(&self) -> Result<(), SigningError> {
        let keys = self
            .store
            .signing_keys()
            .await?
            .into_iter()
            .map(key_of)
            .collect::<Result<Vec<_>, _>>()?;
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(keys);
        Ok(())
    }

    async fn add(&self, now: DateTime<Utc>) -> Result<String, SigningError> {
        // The newest signs: a new key is always newer than the newest, also when
        // a clock says otherwise (two rotations in one tick, a clock set back).
        let now = self.current().first().map_or(now, |newest| {
            now.max(newest.created_at + TimeDelta::milliseconds(1))
        });
        let private = crypto::jws::generate_p256()?;
        let kid = thumbprint(&private)?;
        self.store
            .put_signing_key(&SigningKeyRecord {
                kid: kid.clone(),
                created_at: now,
                private: SecretSlice::from(private.to_vec()),
            })
            .await?;
        self.reload().await?;
        Ok(kid)
    }

    /// Adds a new signing key and retires keys replaced more than
    /// [`RETIRE_AFTER`] ago; the new key's `kid`.
    pub async fn rotate(&self, now: DateTime<Utc>) -> Result<String, SigningError> {
        let kid = self.add(now).await?;
        self.retire(now).await?;
        Ok(kid)
    }

    /// Rotates when the newest key is older than [`ROTATE_AFTER`], and retires
    /// old keys; whether it rotated.
    pub async fn rotate_if_due(&self, now: DateTime<Utc>) -> Result<bool, SigningError> {
        self.reload().await?;
        let due = self
            .current()
            .first()
            .is_none_or(|newest| now - newest.created_at > ROTATE_AFTER);
        if due {
            self.rotate(now).await?;
        } else {
            self.retire(now).await?;
        }
        Ok(due)
    }

    async fn retire(&self, now: DateTime<Utc>) -> Result<(), SigningError> {
        let keys = self.current();
        // A key is replaced when the next newer one was made; it verifies for
        // RETIRE_AFTER more.
        let mut retired = false;
        for pair in keys.windows(2) {
            if let [newer, older] = pair
                && now - newer.created_at > RETIRE_AFTER
            {
                retired |= self.store.delete_signing_key(&older.kid).await?;
            }
        }
        if retired {
            self.reload().await?;
        }
        Ok(())
    }

    /// Signs `claims` (with `iss` set to the broker) as a token of type `typ`.
    pub fn sign(&self, typ: &str, mut claims: Map<String, Value>) -> Result<String, SigningError> {
        let keys = self.current();
        let key = keys.first().ok_or(SigningError::NoKey)?;
        claims.insert("iss".into(), Value::String(self.issuer.clone()));
        let header = json!({"alg": "ES256", "typ": typ, "kid": key.kid});
        Ok(key.signing.sign(&header, &Value::Object(claims))?)
    }

    /// Whether `kid` is one of the broker's keys.
    #[must_use]
    pub fn knows(&self, kid: &str) -> bool {
        self.current().iter().any(|k| k.kid == kid)
    }

    /// Checks a token of the broker's own of type `typ`: shape and signature (the
    /// caller checks the claims); the claims when it verifies.
    pub fn verify(&self, token: &str, typ: &str) -> Result<Map<String, Value>, OwnTokenProblem> {
        let parsed = jwt::parse(token, typ).map_err(OwnTokenProblem::Shape)?;
        self.verify_parsed(parsed)
    }

    /// [`BrokerKeys::verify`] of a token already read.
    pub fn verify_parsed(
        &self,
        parsed: jwt::Parsed<'_>,
    ) -> Result<Map<String, Value>, OwnTokenProblem> {
        let keys = self.current();
        let key = keys
            .iter()
            .find(|k| k.kid == parsed.kid)
            .ok_or(OwnTokenProblem::UnknownKey)?;
        if parsed.alg != "ES256" {
            return Err(OwnTokenProblem::AlgMismatch);
        }
        if !crypto::jws::verify_es256(
            &key.public.0,
            parsed.signing_input.as_bytes(),
            &parsed.signature,
        ) {
            return Err(OwnTokenProblem::BadSignature);
        }
        Ok(parsed.claims)
    }

    /// The public keys, as a JWKS document.
    #[must_use]
    pub fn jwks(&self) -> Value {
        json!({"keys": self.current().iter().map(|k| k.public.1.clone()).collect::<Vec<_>>()})
    }
}
