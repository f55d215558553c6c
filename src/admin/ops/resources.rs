//! A tenant's resources and the people registered for them, as its backend made
//! them with its API keys: listed for an administrator, and a registration
//! revoked (its join URL stops and its open sessions end, which needs the
//! running broker's login store: the admin API, not a local command).

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{Operator, OpsError};
use crate::domain::{Resource, ResourceId, TenantId};
use crate::registry::input::problem;
use crate::store::resources::{Registration, ResourceStore as _};

/// A resource as shown (`GET /admin/api/tenants/{id}/resources`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ResourceView {
    /// Its id.
    pub resource_id: String,
    /// Its kind (`event`, `room`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    /// The embedded app's page for it.
    pub url: String,
    /// How many presenters its ACL names.
    pub presenters: usize,
    /// How many organizers its ACL names.
    pub organizers: usize,
    /// How many people are registered for it.
    pub registrations: usize,
}

/// A registration as shown: who, and when; never its join URL, which only its
/// holder has.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegistrationView {
    /// Its id.
    pub registration_id: String,
    /// The registrant's name.
    pub name: String,
    /// The registrant's email.
    pub email: String,
    /// What the host keeps with it.
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

impl From<&Registration> for RegistrationView {
    fn from(r: &Registration) -> Self {
        Self {
            registration_id: r.id.clone(),
            name: r.name.clone(),
            email: r.email.clone(),
            metadata: r.metadata.clone(),
            created_at: r.created_at,
        }
    }
}

fn parse_resource_id(id: &str) -> Result<ResourceId, OpsError> {
    ResourceId::parse(id).map_err(|e| OpsError::Invalid(vec![problem("resource_id", e)]))
}

impl Operator<'_> {
    /// The tenant's resources, each with its count of registrations.
    pub async fn list_resources(&self, tenant: &str) -> Result<Vec<ResourceView>, OpsError> {
        let tenant = self.existing_tenant(tenant).await?;
        let mut views = Vec::new();
        for r in self.tenants.resources(&tenant.id).await? {
            let registrations = self.tenants.registrations(&tenant.id, &r.id).await?.len();
            views.push(ResourceView {
                resource_id: r.id.to_string(),
                kind: r.kind.to_string(),
                url: r.url.clone(),
                presenters: r.acl.presenters.len(),
                organizers: r.acl.organizers.len(),
                registrations,
            });
        }
        Ok(views)
    }

    async fn existing_resource(
        &self,
        tenant: &str,
        resource: &str,
    ) -> Result<(TenantId, Resource), OpsError> {
        let tenant = self.existing_tenant(tenant).await?;
        let id = parse_resource_id(resource)?;
        let found = self
            .tenants
            .resource(&tenant.id, &id)
            .await?
            .ok_or_else(|| {
                OpsError::NotFound(format!("Tenant {} has no resource {id}.", tenant.id))
            })?;
        Ok((tenant.id, found))
    }

    /// The registrations for a resource, oldest first (then by name).
    pub async fn list_registrations(
        &self,
        tenant: &str,
        resource: &str,
    ) -> Result<Vec<RegistrationView>, OpsError> {
        let (tenant, resource) = self.existing_resource(tenant, resource).await?;
        let mut found = self.tenants.registrations(&tenant, &resource.id).await?;
        found.sort_by(|a, b| (a.created_at, &a.name, &a.id).cmp(&(b.created_at, &b.name, &b.id)));
        Ok(found.iter().map(RegistrationView::from).collect())
    }

    /// Revokes a registration: its join URL stops and its sessions end at once.
    pub async fn revoke_registration(
        &self,
        tenant: &str,
        resource: &str,
        registration: &str,
    ) -> Result<(), OpsError> {
        let (tenant, resource) = self.existing_resource(tenant, resource).await?;
        let found = self
            .tenants
            .registration(registration)
            .await?
            .filter(|r| r.tenant == tenant && r.resource == resource.id)
            .ok_or_else(|| {
                OpsError::NotFound(format!(
                    "Resource {} of tenant {tenant} has no registration {registration}.",
                    resource.id
                ))
            })?;
        let sessions = self.sessions.ok_or_else(|| {
            OpsError::NeedsBroker(
                "Revoking a registration ends its open sessions, which the running broker holds: run this with --url (the admin API).".into(),
            )
        })?;
        self.tenants
            .revoke_registration(&found, sessions, self.clock.now())
            .await?;
        self.record(
            "registration.revoke",
            &format!("{tenant}/{}/{}", resource.id, found.id),
        )
        .await
    }
}
