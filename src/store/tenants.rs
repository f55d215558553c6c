//! The typed layer over [`DocumentStore`]: tenants, hosts' signing keys, hosts'
//! API keys and the broker's own signing keys. Every document is validated when
//! read back, as when written (a body that no longer parses is `Corrupt`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret as _, SecretSlice};
use serde::{Deserialize, Serialize};

use super::{Document, DocumentStore, StoreError};
use crate::domain::{
    ApiKey, ApiKeyId, HostKey, KeyAlgorithm, KeyId, Tenant, TenantId, VerifyingKey,
};

const TENANT: &str = "tenant";
const HOST_KEY: &str = "host_key";
const API_KEY: &str = "api_key";
const SIGNING_KEY: &str = "signing_key";
const PROVIDER_SECRETS: &str = "provider_secrets";
/// The profile a host (or a platform) last gave each user (`tenant/<sub>`).
pub const PROFILE: &str = "embed_profile";
/// The realm user the broker created for each host user.
pub const CREATED_USER: &str = "embed_user";
/// Who holds each display name, each user's suffix and held name.
pub const DISPLAY_NAME: &str = "display_name";
/// Each user's own display-name suffix.
pub const DISPLAY_SUFFIX: &str = "display_suffix";
/// The display name each user holds now.
pub const DISPLAY_HELD: &str = "display_held";
/// What the broker keeps per user of a tenant, all owned by the tenant: gone
/// with it, so a tenant made again under the same id inherits nothing.
const USER_DATA: [&str; 5] = [
    PROFILE,
    CREATED_USER,
    DISPLAY_NAME,
    DISPLAY_SUFFIX,
    DISPLAY_HELD,
];

/// An identity platform's secrets (Piano's API token and signing key), sealed at
/// rest and never shown.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct ProviderSecrets {
    /// The token the broker calls the platform's API with.
    pub api_token: String,
    /// The key the platform signs its user tokens with (HS256).
    pub signing_key: String,
}

impl std::fmt::Debug for ProviderSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProviderSecrets(..)")
    }
}

fn provider_doc_id(tenant: &TenantId, provider: &str) -> String {
    format!("{tenant}/{provider}")
}

/// One of the broker's own ES256 keys (session tokens, minted host tokens).
#[derive(Clone)]
pub struct SigningKeyRecord {
    /// Its `kid`.
    pub kid: String,
    /// When it was made; the newest signs.
    pub created_at: DateTime<Utc>,
    /// The P-256 private scalar (sealed at rest).
    pub private: SecretSlice<u8>,
}

#[derive(Serialize, Deserialize)]
struct HostKeyBody {
    tenant: TenantId,
    kid: KeyId,
    alg: KeyAlgorithm,
    #[serde(default)]
    jwk: Option<serde_json::Value>,
    for_subtenants: bool,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

#[derive(Serialize, Deserialize)]
struct SigningKeyBody {
    created_at: DateTime<Utc>,
}

fn body(value: &impl Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn parse<T: for<'de> Deserialize<'de>>(doc: &Document) -> Result<T, StoreError> {
    serde_json::from_str(&doc.body)
        .map_err(|e| StoreError::Corrupt(format!("stored {}: {e}", doc.id)))
}

fn host_key_id(tenant: &TenantId, kid: &KeyId) -> String {
    format!("{tenant}/{}", kid.as_str())
}

fn host_key_from(doc: &Document) -> Result<HostKey, StoreError> {
    let b: HostKeyBody = parse(doc)?;
    let key = match (b.alg, &b.jwk, &doc.secret) {
        (KeyAlgorithm::Hs256, _, Some(secret)) => {
            VerifyingKey::Shared(SecretSlice::from(secret.expose_secret().to_vec()))
        }
        (_, Some(jwk), _) => {
            VerifyingKey::from_public_jwk(jwk)
                .map_err(|e| StoreError::Corrupt(format!("stored key {}: {e}", doc.id)))?
                .0
        }
        _ => {
            return Err(StoreError::Corrupt(format!(
                "stored key {} has no key",
                doc.id
            )));
        }
    };
    Ok(HostKey {
        tenant: b.tenant,
        kid: b.kid,
        alg: b.alg,
        key,
        for_subtenants: b.for_subtenants,
        created_at: b.created_at,
        revoked_at: b.revoked_at,
    })
}

/// Tenants and credentials, over any [`DocumentStore`].
#[async_trait]
pub trait TenantStore: DocumentStore {
    /// Inserts or replaces a tenant.
    async fn put_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let doc = Document {
            id: tenant.id.to_string(),
            owner: tenant
                .parent
                .as_ref()
                .map_or_else(String::new, ToString::to_string),
            body: body(tenant)?,
            secret: None,
        };
        self.put_document(TENANT, &doc).await
    }

    /// The tenant with `id`.
    async fn tenant(&self, id: &TenantId) -> Result<Option<Tenant>, StoreError> {
        self.document(TENANT, id.as_str())
            .await?
            .map(|doc| parse(&doc))
            .transpose()
    }

    /// Every tenant.
    async fn tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        self.documents(TENANT, None)
            .await?
            .iter()
            .map(parse)
            .collect()
    }

    /// Removes a tenant; `false` when there was none.
    async fn delete_tenant(&self, id: &TenantId) -> Result<bool, StoreError> {
        self.delete_document(TENANT, id.as_str()).await
    }

    /// Forgets what the broker kept per user of `tenant` (profiles, created
    /// realm users, display names) and its providers' secrets; how many records.
    async fn delete_user_data(&self, id: &TenantId) -> Result<u64, StoreError> {
        let mut removed = 0;
        for kind in USER_DATA.into_iter().chain([PROVIDER_SECRETS]) {
            for doc in self.documents(kind, Some(id.as_str())).await? {
                if self.delete_document(kind, &doc.id).await? {
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    /// Inserts or replaces a host's signing key.
    async fn put_host_key(&self, key: &HostKey) -> Result<(), StoreError> {
        let (jwk, secret) = match &key.key {
            VerifyingKey::Shared(secret) => (
                None,
                Some(SecretSlice::from(secret.expose_secret().to_vec())),
            ),
            public => (public.public_jwk(), None),
        };
        let doc = Document {
            id: host_key_id(&key.tenant, &key.kid),
            owner: key.tenant.to_string(),
            body: body(&HostKeyBody {
                tenant: key.tenant.clone(),
                kid: key.kid.clone(),
                alg: key.alg,
                jwk,
                for_subtenants: key.for_subtenants,
                created_at: key.created_at,
                revoked_at: key.revoked_at,
            })?,
            secret,
        };
        self.put_document(HOST_KEY, &doc).await
    }

    /// The key `kid` of `tenant`.
    async fn host_key(
        &self,
        tenant: &TenantId,
        kid: &KeyId,
    ) -> Result<Option<HostKey>, StoreError> {
        self.document(HOST_KEY, &host_key_id(tenant, kid))
            .await?
            .map(|doc| host_key_from(&doc))
            .transpose()
    }

    /// Every key of `tenant`.
    async fn host_keys(&self, tenant: &TenantId) -> Result<Vec<HostKey>, StoreError> {
        self.documents(HOST_KEY, Some(tenant.as_str()))
            .await?
            .iter()
            .map(host_key_from)
            .collect()
    }

    /// Removes the key `kid` of `tenant`; `false` when there was none.
    async fn delete_host_key(&self, tenant: &TenantId, kid: &KeyId) -> Result<bool, StoreError> {
        self.delete_document(HOST_KEY, &host_key_id(tenant, kid))
            .await
    }

    /// Inserts or replaces an API key.
    async fn put_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        let doc = Document {
            id: key.id.to_string(),
            owner: key.tenant.to_string(),
            body: body(key)?,
            secret: None,
        };
        self.put_document(API_KEY, &doc).await
    }

    /// The API key with `id`.
    async fn api_key(&self, id: &ApiKeyId) -> Result<Option<ApiKey>, StoreError> {
        self.document(API_KEY, id.as_str())
            .await?
            .map(|doc| parse(&doc))
            .transpose()
    }

    /// Every API key of `tenant`.
    async fn api_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKey>, StoreError> {
        self.documents(API_KEY, Some(tenant.as_str()))
            .await?
            .iter()
            .map(parse)
            .collect()
    }

    /// Removes an API key; `false` when there was none.
    async fn delete_api_key(&self, id: &ApiKeyId) -> Result<bool, StoreError> {
        self.delete_document(API_KEY, id.as_str()).await
    }

    /// Adds one of the broker's signing keys.
    async fn put_signing_key(&self, key: &SigningKeyRecord) -> Result<(), StoreError> {
        let doc = Document {
            id: key.kid.clone(),
            owner: String::new(),
            body: body(&SigningKeyBody {
                created_at: key.created_at,
            })?,
            secret: Some(SecretSlice::from(key.private.expose_secret().to_vec())),
        };
        self.put_document(SIGNING_KEY, &doc).await
    }

    /// The broker's signing keys, newest first.
    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        let mut keys = self
            .documents(SIGNING_KEY, None)
            .await?
            .into_iter()
            .map(|doc| {
                let b: SigningKeyBody = parse(&doc)?;
                let private = doc.secret.ok_or_else(|| {
                    StoreError::Corrupt(format!("signing key {} has no private key", doc.id))
                })?;
                Ok(SigningKeyRecord {
                    kid: doc.id,
                    created_at: b.created_at,
                    private,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        keys.sort_by_key(|k| std::cmp::Reverse(k.created_at));
        Ok(keys)
    }

    /// Writes the tenants the configuration file defines, with their keys (a key
    /// already stored keeps when it was registered; one revoked stays revoked).
    /// A tenant of `owned` is written at every start; any other only the first
    /// time (docs/src/operate/administration.md, "Who owns what").
    async fn seed_tenants(
        &self,
        tenants: &[crate::domain::host_key::ConfiguredTenant],
        owned: &std::collections::BTreeSet<TenantId>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        for configured in tenants {
            let id = &configured.tenant.id;
            if !owned.contains(id) {
                let stored = self.tenant(id).await?.map(|t| serde_json::json!(t));
                let in_file = serde_json::json!(configured.tenant);
                if !super::seeded::seed_once(self, "tenant", id.as_str(), stored, in_file).await? {
                    continue;
                }
            }
            self.put_tenant(&configured.tenant).await?;
            for key in &configured.keys {
                let existing = self.host_key(id, &key.kid).await?;
                self.put_host_key(&HostKey {
                    tenant: id.clone(),
                    kid: key.kid.clone(),
                    alg: key.alg,
                    key: key.key.clone(),
                    for_subtenants: key.for_subtenants,
                    created_at: existing.as_ref().map_or(now, |k| k.created_at),
                    revoked_at: existing.and_then(|k| k.revoked_at),
                })
                .await?;
            }
        }
        Ok(())
    }

    /// Sets a provider's secrets.
    async fn put_provider_secrets(
        &self,
        tenant: &TenantId,
        provider: &str,
        secrets: &ProviderSecrets,
    ) -> Result<(), StoreError> {
        let sealed = serde_json::to_vec(secrets).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.put_document(
            PROVIDER_SECRETS,
            &Document {
                id: provider_doc_id(tenant, provider),
                owner: tenant.to_string(),
                body: "{}".into(),
                secret: Some(SecretSlice::from(sealed)),
            },
        )
        .await
    }

    /// A provider's secrets, when set.
    async fn provider_secrets(
        &self,
        tenant: &TenantId,
        provider: &str,
    ) -> Result<Option<ProviderSecrets>, StoreError> {
        let Some(doc) = self
            .document(PROVIDER_SECRETS, &provider_doc_id(tenant, provider))
            .await?
        else {
            return Ok(None);
        };
        doc.secret
            .as_ref()
            .map(|s| serde_json::from_slice(s.expose_secret()))
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    /// Removes a provider's secrets; `false` when there were none.
    async fn delete_provider_secrets(
        &self,
        tenant: &TenantId,
        provider: &str,
    ) -> Result<bool, StoreError> {
        self.delete_document(PROVIDER_SECRETS, &provider_doc_id(tenant, provider))
            .await
    }

    /// Removes a signing key; `false` when there was none.
    async fn delete_signing_key(&self, kid: &str) -> Result<bool, StoreError> {
        self.delete_document(SIGNING_KEY, kid).await
    }
}

impl<T: DocumentStore + ?Sized> TenantStore for T {}
