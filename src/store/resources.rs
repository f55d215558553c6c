//! The typed layer over [`DocumentStore`] for resources and their registrations.
//! A registration's personal data (name, email, metadata) is sealed at rest;
//! its email is unique per resource through a second document created only if
//! absent, so of two racing registrations of one address exactly one is kept.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret as _, SecretSlice};
use serde::{Deserialize, Serialize};

use super::{Document, DocumentStore, LoginStore, StoreError};
use crate::crypto;
use crate::domain::tenant::{MAX_SESSION_SECS, registrant_sub, user_key};
use crate::domain::{Resource, ResourceId, TenantId};

const RESOURCE: &str = "resource";
const REGISTRATION: &str = "registration";
const REGISTRATION_EMAIL: &str = "registration_email";

/// A registration for a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// Its id.
    pub id: String,
    /// Its tenant.
    pub tenant: TenantId,
    /// The resource registered for.
    pub resource: ResourceId,
    /// The registrant's name.
    pub name: String,
    /// The registrant's normalised email.
    pub email: String,
    /// What the host keeps with it.
    pub metadata: serde_json::Value,
    /// The SHA-256 (base64url) of the current join credential's secret.
    pub join_hash: String,
    /// The key that makes the email unique (a hash of its skeleton).
    pub email_key: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

#[derive(Serialize, Deserialize)]
struct RegistrationBody {
    tenant: TenantId,
    resource: ResourceId,
    join_hash: String,
    email_key: String,
    created_at: DateTime<Utc>,
}

#[derive(Serialize, Deserialize)]
struct Personal {
    name: String,
    email: String,
    metadata: serde_json::Value,
}

fn corrupt(err: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(err.to_string())
}

fn resource_id(tenant: &TenantId, id: &ResourceId) -> String {
    format!("{tenant}/{id}")
}

fn email_doc_id(tenant: &TenantId, resource: &ResourceId, email_key: &str) -> String {
    format!("{tenant}/{resource}/{email_key}")
}

/// The key of a normalised email's skeleton.
#[must_use]
pub fn email_key(skeleton: &str) -> String {
    crypto::sha256_b64url(skeleton)
}

fn registration_doc(r: &Registration) -> Result<Document, StoreError> {
    let body = serde_json::to_string(&RegistrationBody {
        tenant: r.tenant.clone(),
        resource: r.resource.clone(),
        join_hash: r.join_hash.clone(),
        email_key: r.email_key.clone(),
        created_at: r.created_at,
    })
    .map_err(corrupt)?;
    let personal = serde_json::to_vec(&Personal {
        name: r.name.clone(),
        email: r.email.clone(),
        metadata: r.metadata.clone(),
    })
    .map_err(corrupt)?;
    Ok(Document {
        id: r.id.clone(),
        owner: resource_id(&r.tenant, &r.resource),
        body,
        secret: Some(SecretSlice::from(personal)),
    })
}

fn registration_from(doc: &Document) -> Result<Registration, StoreError> {
    let body: RegistrationBody = serde_json::from_str(&doc.body).map_err(corrupt)?;
    let personal: Personal = doc
        .secret
        .as_ref()
        .map(|s| serde_json::from_slice(s.expose_secret()))
        .transpose()
        .map_err(corrupt)?
        .ok_or_else(|| corrupt(format!("registration {} has no personal data", doc.id)))?;
    Ok(Registration {
        id: doc.id.clone(),
        tenant: body.tenant,
        resource: body.resource,
        name: personal.name,
        email: personal.email,
        metadata: personal.metadata,
        join_hash: body.join_hash,
        email_key: body.email_key,
        created_at: body.created_at,
    })
}

/// Resources and registrations, over any [`DocumentStore`].
#[async_trait]
pub trait ResourceStore: DocumentStore {
    /// Inserts or replaces a resource.
    async fn put_resource(&self, resource: &Resource) -> Result<(), StoreError> {
        let doc = Document {
            id: resource_id(&resource.tenant, &resource.id),
            owner: resource.tenant.to_string(),
            body: serde_json::to_string(resource).map_err(corrupt)?,
            secret: None,
        };
        self.put_document(RESOURCE, &doc).await
    }

    /// The resource `id` of `tenant`.
    async fn resource(
        &self,
        tenant: &TenantId,
        id: &ResourceId,
    ) -> Result<Option<Resource>, StoreError> {
        self.document(RESOURCE, &resource_id(tenant, id))
            .await?
            .map(|doc| serde_json::from_str(&doc.body).map_err(corrupt))
            .transpose()
    }

    /// Removes a resource (its registrations are removed first, by the caller);
    /// `false` when there was none.
    async fn delete_resource(
        &self,
        tenant: &TenantId,
        id: &ResourceId,
    ) -> Result<bool, StoreError> {
        self.delete_document(RESOURCE, &resource_id(tenant, id))
            .await
    }

    /// Every resource of `tenant`, by id.
    async fn resources(&self, tenant: &TenantId) -> Result<Vec<Resource>, StoreError> {
        self.documents(RESOURCE, Some(tenant.as_str()))
            .await?
            .iter()
            .map(|doc| serde_json::from_str(&doc.body).map_err(corrupt))
            .collect()
    }

    /// Every registration for the resource `id` of `tenant`, by id.
    async fn registrations(
        &self,
        tenant: &TenantId,
        id: &ResourceId,
    ) -> Result<Vec<Registration>, StoreError> {
        self.documents(REGISTRATION, Some(&resource_id(tenant, id)))
            .await?
            .iter()
            .map(registration_from)
            .collect()
    }

    /// Stores a new registration, unless its email is registered for the
    /// resource already: `false` then, and nothing is written.
    async fn create_registration(&self, r: &Registration) -> Result<bool, StoreError> {
        let claim = Document {
            id: email_doc_id(&r.tenant, &r.resource, &r.email_key),
            owner: resource_id(&r.tenant, &r.resource),
            body: serde_json::json!({ "registration": r.id }).to_string(),
            secret: None,
        };
        if !self.create_document(REGISTRATION_EMAIL, &claim).await? {
            return Ok(false);
        }
        self.put_document(REGISTRATION, &registration_doc(r)?)
            .await?;
        Ok(true)
    }

    /// Replaces a registration (a new join credential).
    async fn update_registration(&self, r: &Registration) -> Result<(), StoreError> {
        self.put_document(REGISTRATION, &registration_doc(r)?).await
    }

    /// The registration `id`.
    async fn registration(&self, id: &str) -> Result<Option<Registration>, StoreError> {
        self.document(REGISTRATION, id)
            .await?
            .map(|doc| registration_from(&doc))
            .transpose()
    }

    /// Removes a registration and frees its email; `false` when there was none.
    async fn delete_registration(&self, r: &Registration) -> Result<bool, StoreError> {
        let removed = self.delete_document(REGISTRATION, &r.id).await?;
        self.delete_document(
            REGISTRATION_EMAIL,
            &email_doc_id(&r.tenant, &r.resource, &r.email_key),
        )
        .await?;
        Ok(removed)
    }

    /// Revokes a registration: removes it (its join URL stops) and ends its
    /// sessions (open frames learn it at once); `false` when there was none.
    async fn revoke_registration(
        &self,
        r: &Registration,
        sessions: &dyn LoginStore,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let removed = self.delete_registration(r).await?;
        let user = user_key(&r.tenant, &registrant_sub(&r.id));
        let keep = chrono::TimeDelta::seconds(i64::try_from(MAX_SESSION_SECS).unwrap_or(0));
        sessions.end_sessions(&user, &user, now, now + keep).await?;
        Ok(removed)
    }
}

impl<T: DocumentStore + ?Sized> ResourceStore for T {}
