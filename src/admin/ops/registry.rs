//! Realms and clients: create, replace, update (one origin or realm at a time)
//! and remove, refusing entries the configuration file owns (`managed_by =
//! "file"`).

use serde::Deserialize;
use utoipa::ToSchema;

use super::{Operator, OpsError};
use crate::domain::{Approval, Client, ClientId, FieldProblem, Realm, RealmName};
use crate::idp::{IdentityProvider, IdpError};
use crate::registry::input::{ClientInput, ClientView, RealmInput, RealmView, problem};

/// A partial change of a client: origins and realms added or removed.
#[derive(Debug, Default, Deserialize, serde::Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientChange {
    /// Origins to add (kept once when already there).
    #[serde(default)]
    pub add_origins: Vec<String>,
    /// Origins to remove; each must be one of the client's.
    #[serde(default)]
    pub remove_origins: Vec<String>,
    /// Realms to add (kept once when already there).
    #[serde(default)]
    pub add_realms: Vec<String>,
    /// Realms to remove; each must be one of the client's.
    #[serde(default)]
    pub remove_realms: Vec<String>,
    /// A new approval setting (`ask` or `off`); unchanged when absent.
    #[serde(default)]
    pub approval: Option<Approval>,
}

fn parse_id(id: &str) -> Result<ClientId, OpsError> {
    ClientId::parse(id).map_err(|e| OpsError::Invalid(vec![problem("client_id", e)]))
}

impl Operator<'_> {
    fn refuse_managed_client(&self, id: &ClientId) -> Result<(), OpsError> {
        if self.managed.clients.contains(id) {
            return Err(OpsError::ManagedByConfig(format!(
                "Client {id} is owned by the configuration file (managed_by = \"file\" in its [[clients]] entry): change it there and restart, or take managed_by out to manage it here."
            )));
        }
        Ok(())
    }

    fn refuse_managed_realm(&self, name: &RealmName) -> Result<(), OpsError> {
        if self.managed.realms.contains(name) {
            return Err(OpsError::ManagedByConfig(format!(
                "Realm {name} is owned by the configuration file (managed_by = \"file\" in its [[realms]] entry, or console.realm): change it there and restart."
            )));
        }
        Ok(())
    }

    /// Every client, by id.
    #[must_use]
    pub fn list_clients(&self) -> Vec<ClientView> {
        let registry = self.registry.snapshot();
        let mut clients: Vec<ClientView> =
            registry.clients.values().map(ClientView::from).collect();
        clients.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        clients
    }

    /// Every realm, by name.
    #[must_use]
    pub fn list_realms(&self) -> Vec<RealmView> {
        let registry = self.registry.snapshot();
        let mut realms: Vec<RealmView> = registry.realms.values().map(RealmView::from).collect();
        realms.sort_by(|a, b| a.name.cmp(&b.name));
        realms
    }

    /// Registers a new client; an existing one is never overwritten.
    pub async fn create_client(&self, input: &ClientInput) -> Result<Client, OpsError> {
        let client = input
            .validate(&self.registry.snapshot())
            .map_err(OpsError::Invalid)?;
        self.refuse_managed_client(&client.id)?;
        if self.registry.snapshot().clients.contains_key(&client.id) {
            return Err(OpsError::Exists(format!(
                "Client {} exists: update or replace it instead.",
                client.id
            )));
        }
        self.registry.put_client(&client).await?;
        self.record("client.create", client.id.as_str()).await?;
        Ok(client)
    }

    /// Replaces an existing client as a whole.
    pub async fn replace_client(&self, id: &str, input: &ClientInput) -> Result<Client, OpsError> {
        if input.client_id != id {
            return Err(OpsError::Invalid(vec![problem(
                "client_id",
                "must equal the client being replaced",
            )]));
        }
        let id = parse_id(id)?;
        self.refuse_managed_client(&id)?;
        if !self.registry.snapshot().clients.contains_key(&id) {
            return Err(OpsError::NotFound(format!("No client {id}.")));
        }
        let snapshot = self.registry.snapshot();
        let client = input.validate(&snapshot).map_err(OpsError::Invalid)?;
        self.registry.put_client(&client).await?;
        let before = snapshot.clients.get(&id).map(ClientView::from);
        self.record_change(
            "client.replace",
            client.id.as_str(),
            before.as_ref(),
            &ClientView::from(&client),
        )
        .await?;
        Ok(client)
    }

    /// Adds or removes origins and realms of an existing client, keeping the rest.
    pub async fn update_client(&self, id: &str, change: &ClientChange) -> Result<Client, OpsError> {
        let id = parse_id(id)?;
        self.refuse_managed_client(&id)?;
        let snapshot = self.registry.snapshot();
        let current = snapshot
            .clients
            .get(&id)
            .ok_or_else(|| OpsError::NotFound(format!("No client {id}.")))?;
        let mut problems = Vec::new();
        let mut origins: Vec<String> = current
            .origins
            .iter()
            .map(|o| o.as_str().to_owned())
            .collect();
        let mut realms: Vec<String> = current
            .realms
            .iter()
            .map(|r| r.as_str().to_owned())
            .collect();
        for (i, origin) in change.remove_origins.iter().enumerate() {
            let before = origins.len();
            origins.retain(|o| o != origin);
            if origins.len() == before {
                problems.push(problem(
                    format!("remove_origins[{i}]"),
                    "not an origin of this client",
                ));
            }
        }
        for (i, realm) in change.remove_realms.iter().enumerate() {
            let before = realms.len();
            realms.retain(|r| r != realm);
            if realms.len() == before {
                problems.push(problem(
                    format!("remove_realms[{i}]"),
                    "not a realm of this client",
                ));
            }
        }
        origins.extend(
            change
                .add_origins
                .iter()
                .filter(|o| !current.allows_origin(o))
                .cloned(),
        );
        realms.extend(
            change
                .add_realms
                .iter()
                .filter(|r| {
                    !current
                        .realms
                        .iter()
                        .any(|have| have.as_str() == r.as_str())
                })
                .cloned(),
        );
        if !problems.is_empty() {
            return Err(OpsError::Invalid(problems));
        }
        let input = ClientInput {
            client_id: id.to_string(),
            realms,
            origins,
            client_secret: current.secret.clone(),
            approval: change.approval.unwrap_or(current.approval),
        };
        let client = input.validate(&snapshot).map_err(OpsError::Invalid)?;
        self.registry.put_client(&client).await?;
        self.record_change(
            "client.update",
            client.id.as_str(),
            Some(&ClientView::from(current)),
            &ClientView::from(&client),
        )
        .await?;
        Ok(client)
    }

    /// Removes a client.
    pub async fn delete_client(&self, id: &str) -> Result<(), OpsError> {
        let id = parse_id(id)?;
        self.refuse_managed_client(&id)?;
        if !self.registry.delete_client(&id).await? {
            return Err(OpsError::NotFound(format!("No client {id}.")));
        }
        self.record("client.delete", id.as_str()).await
    }

    /// Adds or replaces a realm.
    ///
    /// With `check`, the realm is asked first (its metadata must answer and
    /// name the authority as issuer); a realm that fails is not saved, and the
    /// problem says what is wrong.
    pub async fn put_realm(
        &self,
        input: &RealmInput,
        check: Option<&dyn IdentityProvider>,
    ) -> Result<Realm, OpsError> {
        let realm = self
            .keeping_secret(input)
            .validate()
            .map_err(OpsError::Invalid)?;
        self.refuse_managed_realm(&realm.name)?;
        if let Some(idp) = check
            && let Err(err) = idp.check(&realm).await
        {
            return Err(OpsError::Invalid(vec![FieldProblem {
                path: "authority".into(),
                message: realm_check_problem(&realm, &err),
            }]));
        }
        let before = self
            .registry
            .snapshot()
            .realms
            .get(&realm.name)
            .map(RealmView::from);
        self.registry.put_realm(&realm).await?;
        self.record_change(
            "realm.put",
            realm.name.as_str(),
            before.as_ref(),
            &RealmView::from(&realm),
        )
        .await?;
        Ok(realm)
    }

    /// `input`, with the stored broker secret when it names the realm's stored
    /// broker client without a secret: a change of the authority or the scopes
    /// need not send the secret again (and the console never shows it).
    fn keeping_secret(&self, input: &RealmInput) -> RealmInput {
        let mut input = input.clone();
        let stored = RealmName::parse(&input.name).ok().and_then(|name| {
            self.registry
                .snapshot()
                .realms
                .get(&name)
                .and_then(|r| r.broker_client.clone())
        });
        if input.broker_client_secret.is_none()
            && let (Some(id), Some(stored)) = (&input.broker_client_id, stored)
            && stored.client_id == *id
        {
            input.broker_client_secret = Some(stored.secret);
        }
        input
    }

    /// Removes a realm no client uses.
    pub async fn delete_realm(&self, name: &str) -> Result<(), OpsError> {
        let name =
            RealmName::parse(name).map_err(|e| OpsError::Invalid(vec![problem("name", e)]))?;
        self.refuse_managed_realm(&name)?;
        if let Some(client) = self
            .registry
            .snapshot()
            .clients
            .values()
            .find(|c| c.allows_realm(&name))
        {
            return Err(OpsError::InUse(format!(
                "Client {} uses realm {name}: change it first.",
                client.id
            )));
        }
        if !self.registry.delete_realm(&name).await? {
            return Err(OpsError::NotFound(format!("No realm {name}.")));
        }
        self.record("realm.delete", name.as_str()).await
    }
}

/// What a failed realm check tells the administrator.
fn realm_check_problem(realm: &Realm, err: &IdpError) -> String {
    let url = realm.authority.metadata_url();
    let what = match err {
        IdpError::Unreachable => {
            "could not be reached (check the host name, the port and that the realm server runs)"
                .to_owned()
        }
        IdpError::Timeout => "did not answer in time".to_owned(),
        IdpError::Status(404) => {
            "answered 404: no such realm (check the realm name in the authority)".to_owned()
        }
        IdpError::Status(status) => format!("answered HTTP {status}"),
        IdpError::IssuerMismatch { found } => format!(
            "names the issuer {found}, not this authority: use exactly {found} as the authority, or fix the realm server's frontend URL"
        ),
        other => format!("is not usable OpenID Connect metadata ({other})"),
    };
    format!(
        "the realm's metadata at {url} {what}; nothing was saved (to save it anyway: --no-check in the CLI, ?check=false in the API, 'Save even if the realm does not answer yet' in the console)"
    )
}
