//! The live set of realms and clients. Handlers read an immutable snapshot; an
//! administrative change writes the store and swaps in a new snapshot, so it takes
//! effect without a restart. Changes made by another process (the CLI) are picked
//! up by watching the store's registry version.

pub mod input;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::domain::{Client, ClientId, Realm, RealmName};
use crate::store::{DocumentStore, RegistryStore, StoreError, seeded};
use input::{ClientView, RealmView};

/// Realms and clients as of one registry version.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Realms by name.
    pub realms: HashMap<RealmName, Realm>,
    /// Clients by id.
    pub clients: HashMap<ClientId, Client>,
    /// Every origin registered by any client (CORS preflights, discovery).
    pub registered_origins: BTreeSet<String>,
    /// The store's version this snapshot was read at.
    pub version: i64,
}

impl Snapshot {
    #[must_use]
    /// The client with `id`, when it is registered.
    pub fn client(&self, id: &str) -> Option<&Client> {
        ClientId::parse(id)
            .ok()
            .and_then(|id| self.clients.get(&id))
    }

    #[must_use]
    /// Whether `url` lies on an origin one of `clients` registered.
    pub fn on_origin_of(&self, clients: &[ClientId], url: &str) -> bool {
        let Ok(parsed) = url::Url::parse(url) else {
            return false;
        };
        let origin = parsed.origin().ascii_serialization();
        clients.iter().any(|c| {
            self.clients
                .get(c)
                .is_some_and(|c| c.allows_origin(&origin))
        })
    }
}

/// The names the configuration file owns.
#[derive(Debug, Clone, Default)]
pub struct Managed {
    /// Realm names.
    pub realms: BTreeSet<RealmName>,
    /// Client ids.
    pub clients: BTreeSet<ClientId>,
    /// Tenant ids.
    pub tenants: BTreeSet<crate::domain::TenantId>,
}

/// Realms and clients, reloaded when the store changes.
pub struct Registry {
    store: Arc<dyn RegistryStore>,
    current: ArcSwap<Snapshot>,
}

impl Registry {
    /// Loads the registry from the store.
    pub async fn load(store: Arc<dyn RegistryStore>) -> Result<Self, StoreError> {
        let registry = Self {
            store,
            current: ArcSwap::from_pointee(Snapshot::default()),
        };
        registry.reload().await?;
        Ok(registry)
    }

    /// The current snapshot.
    #[must_use]
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Reads the store again and swaps the snapshot.
    pub async fn reload(&self) -> Result<(), StoreError> {
        let version = self.store.registry_version().await?;
        let realms = self.store.realms().await?;
        let clients = self.store.clients().await?;
        let snapshot = Snapshot {
            registered_origins: clients
                .iter()
                .flat_map(|c| c.origins.iter().map(|o| o.as_str().to_owned()))
                .collect(),
            realms: realms.into_iter().map(|r| (r.name.clone(), r)).collect(),
            clients: clients.into_iter().map(|c| (c.id.clone(), c)).collect(),
            version,
        };
        // Two reloads may race (the change watcher and a write's own reload): the
        // version is read before the data, so an older version never replaces a
        // newer snapshot.
        let snapshot = Arc::new(snapshot);
        self.current.rcu(|current| {
            if snapshot.version >= current.version {
                Arc::clone(&snapshot)
            } else {
                Arc::clone(current)
            }
        });
        Ok(())
    }

    /// Writes a realm and reloads.
    pub async fn put_realm(&self, realm: &Realm) -> Result<(), StoreError> {
        self.store.put_realm(realm).await?;
        self.reload().await
    }

    /// Deletes a realm and reloads; `false` when there was none.
    pub async fn delete_realm(&self, name: &RealmName) -> Result<bool, StoreError> {
        let deleted = self.store.delete_realm(name).await?;
        self.reload().await?;
        Ok(deleted)
    }

    /// Writes a client and reloads.
    pub async fn put_client(&self, client: &Client) -> Result<(), StoreError> {
        self.store.put_client(client).await?;
        self.reload().await
    }

    /// Deletes a client and reloads; `false` when there was none.
    pub async fn delete_client(&self, id: &ClientId) -> Result<bool, StoreError> {
        let deleted = self.store.delete_client(id).await?;
        self.reload().await?;
        Ok(deleted)
    }

    /// Reloads when another process changed the registry; `true` if it did.
    pub async fn reload_if_changed(&self) -> Result<bool, StoreError> {
        if self.store.registry_version().await? == self.snapshot().version {
            return Ok(false);
        }
        self.reload().await?;
        Ok(true)
    }
}

/// Writes the configuration's realms and clients to the store
/// (docs/src/operate/administration.md, "Who owns what"). An entry the file owns
/// is written at every start. Any other is written the first time the file names
/// it (kept when the store already has it) and then belongs to the store: a
/// change or a removal made with the console or the CLI is never undone here.
/// When the file's entry differs from the store's, a warning says which is kept.
pub async fn seed<S: RegistryStore + DocumentStore + ?Sized>(
    store: &S,
    realms: &[Realm],
    clients: &[Client],
    owned: &Managed,
) -> Result<(), StoreError> {
    let stored: HashMap<RealmName, Realm> = store
        .realms()
        .await?
        .into_iter()
        .map(|r| (r.name.clone(), r))
        .collect();
    for realm in realms {
        let name = realm.name.to_string();
        let kept = stored.get(&realm.name).map(|r| json_of(RealmView::from(r)));
        if owned.realms.contains(&realm.name)
            || seeded::seed_once(store, "realm", &name, kept, json_of(RealmView::from(realm)))
                .await?
        {
            store.put_realm(realm).await?;
        }
    }
    let stored: HashMap<ClientId, Client> = store
        .clients()
        .await?
        .into_iter()
        .map(|c| (c.id.clone(), c))
        .collect();
    for client in clients {
        let id = client.id.to_string();
        let kept = stored.get(&client.id).map(|c| json_of(ClientView::from(c)));
        if owned.clients.contains(&client.id)
            || seeded::seed_once(
                store,
                "client",
                &id,
                kept,
                json_of(ClientView::from(client)),
            )
            .await?
        {
            store.put_client(client).await?;
        }
    }
    Ok(())
}

/// An entry as the API shows it (never a secret), for comparing.
fn json_of(view: impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(view).unwrap_or_default()
}
