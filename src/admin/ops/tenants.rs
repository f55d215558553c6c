//! Tenants, checked against the registry: the realm, the clients and the
//! parent must exist, the parent in the same environment. A tenant's
//! credentials are its signing keys ([`super::host_keys`]) and API keys
//! ([`super::api_keys`]).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Operator, OpsError};
use crate::domain::tenant::DEFAULT_SESSION_SECS;
use crate::domain::{
    ClientId, EmbedSettings, Environment, IdpAlias, Provisioning, RealmName, Tenant, TenantId,
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

fn parse_tenant_id(id: &str) -> Result<TenantId, OpsError> {
    TenantId::parse(id).map_err(|e| OpsError::Invalid(vec![problem("tenant_id", e)]))
}

impl Operator<'_> {
    fn not_managed(&self, id: &TenantId) -> Result<(), OpsError> {
        if self.managed.tenants.contains(id) {
            return Err(OpsError::ManagedByConfig(format!(
                "Tenant {id} is owned by the configuration file (managed_by = \"file\" in its [[tenants]] entry): change it there and restart, or take managed_by out to manage it here."
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
        let existing = self.tenants.tenant(&tenant.id).await?;
        if let Some(existing) = &existing
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
        let view = TenantView::from(&tenant);
        let before = existing.as_ref().map(TenantView::from);
        self.record_change("tenant.put", tenant.id.as_str(), before.as_ref(), &view)
            .await?;
        Ok(view)
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
}
