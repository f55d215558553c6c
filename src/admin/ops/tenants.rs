//! Tenants and their credentials: tenants (checked against the registry: the
//! realm, the clients and the parent must exist, the parent in the same
//! environment), hosts' signing keys (a public JWK; or a pair made here, the
//! private JWK shown once; or an HS256 secret where the tenant allows it) and
//! API keys (the secret shown once, kept as its SHA-256). Revocation keeps the
//! record, marked, so the audit trail and listings still name it.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, TimeDelta, Utc};
use secrecy::SecretSlice;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Operator, OpsError};
use crate::crypto;
use crate::domain::tenant::DEFAULT_SESSION_SECS;
use crate::domain::{
    ApiKey, ApiKeyId, ClientId, EmbedSettings, Environment, HostKey, IdpAlias, KeyAlgorithm, KeyId,
    Operation, Provisioning, RealmName, Tenant, TenantId, VerifyingKey,
};
use crate::registry::input::problem;
use crate::store::resources::ResourceStore as _;
use crate::store::tenants::TenantStore;

/// A tenant as written (`PUT /admin/api/tenants/{id}`).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantInput {
    /// `sandbox` or `production`.
    #[schema(value_type = String)]
    pub environment: Environment,
    /// The parent tenant, for a sub-tenant.
    #[serde(default)]
    pub parent: Option<String>,
    /// Whether the parent's credentials may act for this sub-tenant.
    #[serde(default)]
    pub parent_may_act: bool,
    /// The realm its users live in.
    pub realm: String,
    /// The embedded-app clients its users may be logged in to.
    pub clients: Vec<String>,
    /// `existing_only` or `create`.
    #[schema(value_type = String)]
    pub provisioning: Provisioning,
    /// The longest session, in seconds (default 4 hours).
    #[serde(default = "default_max_session")]
    pub max_session_secs: u64,
    /// Whether HS256 shared-secret keys are allowed (default no).
    #[serde(default)]
    pub allow_hs256: bool,
    /// Whether the tenant's hosts may vouch for their users' emails (default
    /// no): an email they send then selects an existing realm user and grants
    /// ACL roles, so the host can log in as any user of the realm.
    #[serde(default)]
    pub hosts_vouch_for_emails: bool,
    /// Where the host publishes its signing keys (a JWKS; https).
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// The realm's identity provider that trusts the broker's assertions (RFC
    /// 7523); none: Keycloak tokens come from the impersonation exchange.
    #[serde(default)]
    pub assertion_grant_idp: Option<String>,
    /// Per-user embed URLs, registrations and login links: `app_url`,
    /// `link_paths`, `session_policy` (`terminate_oldest` or `deny_new`),
    /// `one_session_per_user`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub embeds: EmbedSettings,
    /// Third-party SSO: `host_origin` (the host page's origin) and `providers`
    /// (`[{name, kind: auth0|gigya|piano|oidc, ...}]`). Piano's secrets are set
    /// apart (`PUT .../providers/{name}/secrets`).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub sso: crate::domain::SsoSettings,
}

fn default_max_session() -> u64 {
    DEFAULT_SESSION_SECS
}

/// A tenant as shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct TenantView {
    /// The tenant's id.
    pub tenant_id: String,
    /// Its settings.
    #[serde(flatten)]
    pub settings: TenantInput,
}

impl From<&Tenant> for TenantView {
    fn from(t: &Tenant) -> Self {
        Self {
            tenant_id: t.id.to_string(),
            settings: TenantInput {
                environment: t.environment,
                parent: t.parent.as_ref().map(ToString::to_string),
                parent_may_act: t.parent_may_act,
                realm: t.realm.to_string(),
                clients: t.clients.iter().map(ToString::to_string).collect(),
                provisioning: t.provisioning,
                max_session_secs: t.max_session_secs,
                allow_hs256: t.allow_hs256,
                hosts_vouch_for_emails: t.hosts_vouch_for_emails,
                jwks_url: t.jwks_url.clone(),
                assertion_grant_idp: t
                    .assertion_grant_idp
                    .as_ref()
                    .map(|a| a.as_str().to_owned()),
                embeds: t.embeds.clone(),
                sso: t.sso.clone(),
            },
        }
    }
}

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

/// An API key to make.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyInput {
    /// What it may call (`mint_tokens`, `logout`, `update_users`, `debug`).
    #[schema(value_type = Vec<String>)]
    pub operations: Vec<Operation>,
    /// Whether it may act for sub-tenants that grant it.
    #[serde(default)]
    pub for_subtenants: bool,
    /// Days until it stops working (none: until revoked).
    #[serde(default)]
    pub expires_in_days: Option<u32>,
    /// Requests per minute (default 600).
    #[serde(default = "default_api_rate")]
    pub rate_per_minute: u32,
}

fn default_api_rate() -> u32 {
    600
}

/// An API key as shown; `credential` only in the answer that makes it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    /// The public id.
    pub key_id: String,
    /// The tenant.
    pub tenant_id: String,
    /// What it may call.
    #[schema(value_type = Vec<String>)]
    pub operations: Vec<Operation>,
    /// Whether it may act for sub-tenants.
    pub for_subtenants: bool,
    /// When it stops working.
    pub expires_at: Option<DateTime<Utc>>,
    /// Requests per minute.
    pub rate_per_minute: u32,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When it was last used (to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// The `Bearer` credential (`<key_id>:<secret>`), this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

impl From<&ApiKey> for ApiKeyView {
    fn from(k: &ApiKey) -> Self {
        Self {
            key_id: k.id.to_string(),
            tenant_id: k.tenant.to_string(),
            operations: k.operations.clone(),
            for_subtenants: k.for_subtenants,
            expires_at: k.expires_at,
            rate_per_minute: k.rate_per_minute,
            created_at: k.created_at,
            revoked_at: k.revoked_at,
            last_used_at: k.last_used_at,
            credential: None,
        }
    }
}

fn parse_tenant_id(id: &str) -> Result<TenantId, OpsError> {
    TenantId::parse(id).map_err(|e| OpsError::Invalid(vec![problem("tenant_id", e)]))
}

impl Operator<'_> {
    fn not_managed(&self, id: &TenantId) -> Result<(), OpsError> {
        if self.managed.tenants.contains(id) {
            return Err(OpsError::ManagedByConfig(format!(
                "Tenant {id} is defined in the configuration file; change it there."
            )));
        }
        Ok(())
    }

    pub(super) async fn existing_tenant(&self, id: &str) -> Result<Tenant, OpsError> {
        let id = parse_tenant_id(id)?;
        self.tenants
            .tenant(&id)
            .await?
            .ok_or_else(|| OpsError::NotFound(format!("No tenant {id}.")))
    }

    /// Every tenant.
    pub async fn list_tenants(&self) -> Result<Vec<TenantView>, OpsError> {
        Ok(self
            .tenants
            .tenants()
            .await?
            .iter()
            .map(TenantView::from)
            .collect())
    }

    /// Creates or replaces a tenant.
    pub async fn put_tenant(&self, id: &str, input: &TenantInput) -> Result<TenantView, OpsError> {
        let mut problems = Vec::new();
        let id = TenantId::parse(id).map_err(|e| problems.push(problem("tenant_id", e)));
        let registry = self.registry.snapshot();
        let realm = RealmName::parse(&input.realm)
            .map_err(|e| problem("realm", e))
            .and_then(|r| {
                if registry.realms.contains_key(&r) {
                    Ok(r)
                } else {
                    Err(problem("realm", format!("no realm {r} is configured")))
                }
            })
            .map_err(|p| problems.push(p));
        let mut clients = Vec::new();
        for (i, raw) in input.clients.iter().enumerate() {
            match ClientId::parse(raw) {
                Ok(c) if registry.clients.contains_key(&c) => clients.push(c),
                Ok(c) => problems.push(problem(
                    format!("clients[{i}]"),
                    format!("no client {c} is registered"),
                )),
                Err(e) => problems.push(problem(format!("clients[{i}]"), e)),
            }
        }
        let parent = self
            .checked_parent(id.as_ref().ok(), input, &mut problems)
            .await?;
        let assertion_grant_idp = input
            .assertion_grant_idp
            .as_deref()
            .map(IdpAlias::parse)
            .transpose()
            .map_err(|e| problems.push(problem("assertion_grant_idp", e)))
            .ok()
            .flatten();
        let (Ok(id), Ok(realm)) = (id, realm) else {
            return Err(OpsError::Invalid(problems));
        };
        self.not_managed(&id)?;
        let tenant = Tenant {
            id,
            environment: input.environment,
            parent,
            parent_may_act: input.parent_may_act,
            realm,
            clients,
            provisioning: input.provisioning,
            max_session_secs: input.max_session_secs,
            allow_hs256: input.allow_hs256,
            hosts_vouch_for_emails: input.hosts_vouch_for_emails,
            jwks_url: input.jwks_url.clone(),
            assertion_grant_idp,
            embeds: input.embeds.clone(),
            sso: input.sso.clone(),
        };
        problems.extend(tenant.problems());
        if let Some(url) = &tenant.embeds.app_url
            && !registry.on_origin_of(&tenant.clients, url)
        {
            problems.push(problem(
                "embeds.app_url",
                "on an origin registered by one of the tenant's clients",
            ));
        }
        if let Some(existing) = self.tenants.tenant(&tenant.id).await?
            && existing.environment != tenant.environment
        {
            problems.push(problem(
                "environment",
                "a tenant's environment never changes: make a new tenant",
            ));
        }
        if !problems.is_empty() {
            return Err(OpsError::Invalid(problems));
        }
        self.tenants.put_tenant(&tenant).await?;
        self.record("tenant.put", tenant.id.as_str()).await?;
        Ok(TenantView::from(&tenant))
    }

    /// The parent `input` names, checked (it exists, in the same environment,
    /// and neither it nor the tenant `id` would make a second level); the
    /// problems otherwise.
    async fn checked_parent(
        &self,
        id: Option<&TenantId>,
        input: &TenantInput,
        problems: &mut Vec<crate::domain::FieldProblem>,
    ) -> Result<Option<TenantId>, OpsError> {
        let mut parent = None;
        if let Some(raw) = &input.parent {
            match TenantId::parse(raw) {
                Ok(p) => match self.tenants.tenant(&p).await? {
                    Some(found) if found.environment != input.environment => problems.push(problem(
                        "parent",
                        format!("tenant {p} is in {}: a sub-tenant lives in its parent's environment", found.environment),
                    )),
                    Some(found) if found.parent.is_some() => problems.push(problem(
                        "parent",
                        format!("tenant {p} is itself a sub-tenant: one level of sub-tenants only"),
                    )),
                    Some(_) => parent = Some(p),
                    None => problems.push(problem("parent", format!("no tenant {p}"))),
                },
                Err(e) => problems.push(problem("parent", e)),
            }
            // One level only, from below too: a tenant with sub-tenants takes no parent.
            if let Some(me) = id {
                let children = self.sub_tenants(me).await?;
                if !children.is_empty() {
                    problems.push(problem(
                        "parent",
                        format!(
                            "tenant {me} has sub-tenants ({}): one level of sub-tenants only",
                            children.join(", ")
                        ),
                    ));
                }
            }
        }
        Ok(parent)
    }

    /// The ids of `id`'s sub-tenants.
    async fn sub_tenants(&self, id: &TenantId) -> Result<Vec<String>, OpsError> {
        Ok(self
            .tenants
            .tenants()
            .await?
            .into_iter()
            .filter(|t| t.parent.as_ref() == Some(id))
            .map(|t| t.id.to_string())
            .collect())
    }

    /// Removes a tenant with no sub-tenants; its keys stop working with it, and
    /// its resources and their registrations go with it.
    pub async fn delete_tenant(&self, id: &str) -> Result<(), OpsError> {
        let tenant = self.existing_tenant(id).await?;
        self.not_managed(&tenant.id)?;
        let children = self.sub_tenants(&tenant.id).await?;
        if !children.is_empty() {
            return Err(OpsError::InUse(format!(
                "Tenant {} has sub-tenants ({}): remove them first.",
                tenant.id,
                children.join(", ")
            )));
        }
        for key in self.tenants.host_keys(&tenant.id).await? {
            self.tenants.delete_host_key(&tenant.id, &key.kid).await?;
        }
        for key in self.tenants.api_keys(&tenant.id).await? {
            self.tenants.delete_api_key(&key.id).await?;
        }
        for resource in self.tenants.resources(&tenant.id).await? {
            for r in self.tenants.registrations(&tenant.id, &resource.id).await? {
                self.tenants.delete_registration(&r).await?;
            }
            self.tenants
                .delete_resource(&tenant.id, &resource.id)
                .await?;
        }
        self.tenants.delete_user_data(&tenant.id).await?;
        self.tenants.delete_tenant(&tenant.id).await?;
        self.record("tenant.delete", tenant.id.as_str()).await
    }

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
        self.record(
            "tenant.key.add",
            &format!("{}/{}", tenant.id, key.kid.as_str()),
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
        key.revoked_at.get_or_insert(self.clock.now());
        self.tenants.put_host_key(&key).await?;
        self.record(
            "tenant.key.revoke",
            &format!("{}/{}", tenant.id, kid.as_str()),
        )
        .await?;
        Ok(HostKeyView::from(&key))
    }

    /// The tenant's API keys.
    pub async fn list_api_keys(&self, tenant: &str) -> Result<Vec<ApiKeyView>, OpsError> {
        let tenant = self.existing_tenant(tenant).await?;
        Ok(self
            .tenants
            .api_keys(&tenant.id)
            .await?
            .iter()
            .map(ApiKeyView::from)
            .collect())
    }

    /// Makes an API key; the credential is in the answer, this once.
    pub async fn create_api_key(
        &self,
        tenant: &str,
        input: &ApiKeyInput,
    ) -> Result<ApiKeyView, OpsError> {
        let tenant = self.existing_tenant(tenant).await?;
        let mut problems = Vec::new();
        if input.operations.is_empty() {
            problems.push(problem(
                "operations",
                "list at least one of mint_tokens, logout, update_users, debug",
            ));
        }
        if !(1..=100_000).contains(&input.rate_per_minute) {
            problems.push(problem("rate_per_minute", "between 1 and 100000"));
        }
        if input
            .expires_in_days
            .is_some_and(|d| !(1..=3650).contains(&d))
        {
            problems.push(problem("expires_in_days", "between 1 and 3650"));
        }
        if !problems.is_empty() {
            return Err(OpsError::Invalid(problems));
        }
        let now = self.clock.now();
        // A public, unique id: `ak-` and 64 random bits in hex.
        let random = crypto::sha256(&crypto::random_token()?);
        let hex = crypto::hex(random.get(..8).unwrap_or_default());
        let id = ApiKeyId::parse(&format!("ak-{hex}"))
            .map_err(|e| OpsError::Invalid(vec![problem("key_id", e)]))?;
        let secret = crypto::random_token()?;
        let key = ApiKey {
            id,
            tenant: tenant.id.clone(),
            for_subtenants: input.for_subtenants,
            operations: input.operations.clone(),
            secret_sha256: crypto::sha256_b64url(&secret),
            expires_at: input
                .expires_in_days
                .map(|d| now + TimeDelta::days(i64::from(d))),
            rate_per_minute: input.rate_per_minute,
            created_at: now,
            revoked_at: None,
            last_used_at: None,
        };
        self.tenants.put_api_key(&key).await?;
        self.record("tenant.api_key.create", key.id.as_str())
            .await?;
        let mut view = ApiKeyView::from(&key);
        view.credential = Some(format!("{}:{secret}", key.id));
        Ok(view)
    }

    /// Revokes an API key, at once.
    pub async fn revoke_api_key(&self, tenant: &str, id: &str) -> Result<ApiKeyView, OpsError> {
        let tenant = self.existing_tenant(tenant).await?;
        let id = ApiKeyId::parse(id).map_err(|e| OpsError::Invalid(vec![problem("key_id", e)]))?;
        let mut key = self
            .tenants
            .api_key(&id)
            .await?
            .filter(|k| k.tenant == tenant.id)
            .ok_or_else(|| {
                OpsError::NotFound(format!("No API key {id} for tenant {}.", tenant.id))
            })?;
        key.revoked_at.get_or_insert(self.clock.now());
        self.tenants.put_api_key(&key).await?;
        self.record("tenant.api_key.revoke", id.as_str()).await?;
        Ok(ApiKeyView::from(&key))
    }
}
