//! Realms and clients on PostgreSQL: read and written in transactions that bump
//! the registry's version, which other replicas poll.

use async_trait::async_trait;

use super::PostgresStore;
use crate::domain::{Client, ClientId, Realm, RealmName};
use crate::store::rows::{
    ClientRow, RealmRow, client_from_row, client_to_row, realm_from_row, realm_to_row, unavailable,
};
use crate::store::{RegistryStore, StoreError};

#[async_trait]
impl RegistryStore for PostgresStore {
    async fn realms(&self) -> Result<Vec<Realm>, StoreError> {
        let rows: Vec<RealmRow> = sqlx::query_as(
            "SELECT name, authority, extra_scopes, broker_client_id, broker_secret, token_endpoint_auth FROM realms ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        rows.into_iter()
            .map(|row| realm_from_row(&self.sealer, row))
            .collect()
    }

    async fn clients(&self) -> Result<Vec<Client>, StoreError> {
        let rows: Vec<ClientRow> = sqlx::query_as(
            "SELECT client_id, realms, origins, secret, approval FROM clients ORDER BY client_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(unavailable)?;
        rows.into_iter()
            .map(|row| client_from_row(&self.sealer, row))
            .collect()
    }

    async fn registry_version(&self) -> Result<i64, StoreError> {
        self.version("registry_version").await
    }

    async fn put_realm(&self, realm: &Realm) -> Result<(), StoreError> {
        let (name, authority, scopes, broker_id, secret, auth) = realm_to_row(&self.sealer, realm)?;
        let statement = sqlx::query(
            "INSERT INTO realms (name, authority, extra_scopes, broker_client_id, broker_secret, token_endpoint_auth)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (name) DO UPDATE SET authority = EXCLUDED.authority, extra_scopes = EXCLUDED.extra_scopes,
                 broker_client_id = EXCLUDED.broker_client_id, broker_secret = EXCLUDED.broker_secret,
                 token_endpoint_auth = EXCLUDED.token_endpoint_auth",
        )
        .bind(name)
        .bind(authority)
        .bind(scopes)
        .bind(broker_id)
        .bind(secret)
        .bind(auth);
        self.change("registry_version", statement).await.map(|_| ())
    }

    async fn delete_realm(&self, name: &RealmName) -> Result<bool, StoreError> {
        let statement = sqlx::query("DELETE FROM realms WHERE name = $1").bind(name.as_str());
        Ok(self.change("registry_version", statement).await? > 0)
    }

    async fn put_client(&self, client: &Client) -> Result<(), StoreError> {
        let (id, realms, origins, secret, approval) = client_to_row(&self.sealer, client)?;
        let statement = sqlx::query(
            "INSERT INTO clients (client_id, realms, origins, secret, approval) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (client_id) DO UPDATE SET realms = EXCLUDED.realms, origins = EXCLUDED.origins,
                 secret = EXCLUDED.secret, approval = EXCLUDED.approval",
        )
        .bind(id)
        .bind(realms)
        .bind(origins)
        .bind(secret)
        .bind(approval);
        self.change("registry_version", statement).await.map(|_| ())
    }

    async fn delete_client(&self, id: &ClientId) -> Result<bool, StoreError> {
        let statement = sqlx::query("DELETE FROM clients WHERE client_id = $1").bind(id.as_str());
        Ok(self.change("registry_version", statement).await? > 0)
    }
}
