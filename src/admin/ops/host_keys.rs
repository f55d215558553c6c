//! Hosts' signing keys: a public JWK; or a pair made here, the private JWK
//! shown once; or an HS256 secret where the tenant allows it. A `kid` is never
//! reused within its tenant; revocation keeps the record, marked.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use secrecy::SecretSlice;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Operator, OpsError};
use crate::crypto;
use crate::domain::{HostKey, KeyAlgorithm, KeyId, VerifyingKey};
use crate::registry::input::problem;
use crate::store::tenants::TenantStore;

/// A signing key to register: exactly one of `jwk`, `generate` and `secret`.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HostKeyInput {
    /// The `kid` the host's tokens name.
    pub kid: String,
    /// The public JWK (EC P-256 for ES256, OKP Ed25519 for EdDSA).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub jwk: Option<serde_json::Value>,
    /// Make an ES256 pair here; the private JWK is in the answer, this once.
    #[serde(default)]
    pub generate: bool,
    /// An HS256 shared secret, base64url, at least 32 bytes (only where allowed).
    #[serde(default)]
    pub secret: Option<String>,
    /// Whether the key may sign for sub-tenants that grant it.
    #[serde(default)]
    pub for_subtenants: bool,
}

/// A signing key as shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct HostKeyView {
    /// Its `kid`.
    pub kid: String,
    /// Its one algorithm.
    pub alg: String,
    /// The public JWK (none for HS256).
    #[schema(value_type = Option<Object>)]
    pub jwk: Option<serde_json::Value>,
    /// Whether it may sign for sub-tenants.
    pub for_subtenants: bool,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// The private JWK of a pair made here, in the answer that makes it only.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub private_jwk: Option<serde_json::Value>,
}

impl From<&HostKey> for HostKeyView {
    fn from(k: &HostKey) -> Self {
        Self {
            kid: k.kid.as_str().to_owned(),
            alg: k.alg.as_str().to_owned(),
            jwk: k.key.public_jwk().map(|mut jwk| {
                if let Some(members) = jwk.as_object_mut() {
                    members.insert("kid".into(), k.kid.as_str().into());
                    members.insert("alg".into(), k.alg.as_str().into());
                }
                jwk
            }),
            for_subtenants: k.for_subtenants,
            created_at: k.created_at,
            revoked_at: k.revoked_at,
            private_jwk: None,
        }
    }
}

impl Operator<'_> {
    /// The tenant's signing keys.
    pub async fn list_host_keys(&self, tenant: &str) -> Result<Vec<HostKeyView>, OpsError> {
        let tenant = self.existing_tenant(tenant).await?;
        Ok(self
            .tenants
            .host_keys(&tenant.id)
            .await?
            .iter()
            .map(HostKeyView::from)
            .collect())
    }

    /// Registers a signing key (a `kid` is never reused within the tenant).
    pub async fn add_host_key(
        &self,
        tenant: &str,
        input: &HostKeyInput,
    ) -> Result<HostKeyView, OpsError> {
        let tenant = self.existing_tenant(tenant).await?;
        let kid =
            KeyId::parse(&input.kid).map_err(|e| OpsError::Invalid(vec![problem("kid", e)]))?;
        let one = |p: &str, m: &str| OpsError::Invalid(vec![problem(p, m)]);
        let mut private_jwk = None;
        let (key, alg) = match (&input.jwk, input.generate, &input.secret) {
            (Some(jwk), false, None) => {
                VerifyingKey::from_public_jwk(jwk).map_err(|e| one("jwk", e.0))?
            }
            (None, true, None) => {
                let private = crypto::jws::generate_p256()?;
                let (x, y) = crypto::jws::p256_public(&private)?;
                let mut point = vec![4u8];
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                private_jwk = Some(serde_json::json!({
                    "kty": "EC", "crv": "P-256", "alg": "ES256", "kid": kid.as_str(),
                    "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
                    "d": URL_SAFE_NO_PAD.encode(private),
                }));
                (VerifyingKey::P256(point), KeyAlgorithm::Es256)
            }
            (None, false, Some(secret)) => {
                if !tenant.allow_hs256 {
                    return Err(one(
                        "secret",
                        "this tenant does not allow HS256: set allow_hs256, or register an ES256 or EdDSA public key",
                    ));
                }
                let bytes = URL_SAFE_NO_PAD
                    .decode(secret)
                    .ok()
                    .filter(|b| b.len() >= 32)
                    .ok_or_else(|| {
                        one(
                            "secret",
                            "at least 32 random bytes, base64url without padding",
                        )
                    })?;
                (
                    VerifyingKey::Shared(SecretSlice::from(bytes)),
                    KeyAlgorithm::Hs256,
                )
            }
            _ => {
                return Err(one(
                    "jwk",
                    "give exactly one of jwk (a public key), generate (true) and secret (HS256)",
                ));
            }
        };
        if self.tenants.host_key(&tenant.id, &kid).await?.is_some() {
            return Err(OpsError::Exists(format!(
                "Key {} of tenant {} exists: a kid is never reused.",
                kid.as_str(),
                tenant.id
            )));
        }
        let key = HostKey {
            tenant: tenant.id.clone(),
            kid,
            alg,
            key,
            for_subtenants: input.for_subtenants,
            created_at: self.clock.now(),
            revoked_at: None,
        };
        self.tenants.put_host_key(&key).await?;
        // The row shows the public key only (never a private one).
        self.record_change(
            "tenant.key.add",
            &format!("{}/{}", tenant.id, key.kid.as_str()),
            None,
            &HostKeyView::from(&key),
        )
        .await?;
        let mut view = HostKeyView::from(&key);
        view.private_jwk = private_jwk;
        Ok(view)
    }

    /// Revokes a signing key: from now on it verifies nothing.
    pub async fn revoke_host_key(&self, tenant: &str, kid: &str) -> Result<HostKeyView, OpsError> {
        let tenant = self.existing_tenant(tenant).await?;
        let kid = KeyId::parse(kid).map_err(|e| OpsError::Invalid(vec![problem("kid", e)]))?;
        let mut key = self
            .tenants
            .host_key(&tenant.id, &kid)
            .await?
            .ok_or_else(|| {
                OpsError::NotFound(format!("No key {} for tenant {}.", kid.as_str(), tenant.id))
            })?;
        let before = HostKeyView::from(&key);
        key.revoked_at.get_or_insert(self.clock.now());
        self.tenants.put_host_key(&key).await?;
        self.record_change(
            "tenant.key.revoke",
            &format!("{}/{}", tenant.id, kid.as_str()),
            Some(&before),
            &HostKeyView::from(&key),
        )
        .await?;
        Ok(HostKeyView::from(&key))
    }
}
