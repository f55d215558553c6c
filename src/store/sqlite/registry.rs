//! Realms and clients in SQLite. Secrets (the broker's client secret, a client's
//! secret) are sealed under the row's key. Each change bumps `registry_version`.

use async_trait::async_trait;
use rusqlite::params;

use super::SqliteStore;
use crate::domain::{Client, ClientId, Realm, RealmName};
use crate::store::rows::{
    client_from_row, client_to_row, realm_from_row, realm_to_row, unavailable,
};
use crate::store::{RegistryStore, StoreError};

const BUMP: &str = "UPDATE meta SET value = value + 1 WHERE key = 'registry_version'";

#[async_trait]
impl RegistryStore for SqliteStore {
    async fn realms(&self) -> Result<Vec<Realm>, StoreError> {
        self.blocking(|conn, sealer| {
            let mut stmt = conn
                .prepare("SELECT name, authority, extra_scopes, broker_client_id, broker_secret, token_endpoint_auth FROM realms ORDER BY name")
                .map_err(unavailable)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
                })
                .map_err(unavailable)?;
            rows.map(|row| realm_from_row(sealer, row.map_err(unavailable)?))
                .collect()
        })
        .await
    }

    async fn clients(&self) -> Result<Vec<Client>, StoreError> {
        self.blocking(|conn, sealer| {
            let mut stmt = conn
                .prepare(
                    "SELECT client_id, realms, origins, secret, approval FROM clients ORDER BY client_id",
                )
                .map_err(unavailable)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })
                .map_err(unavailable)?;
            rows.map(|row| client_from_row(sealer, row.map_err(unavailable)?))
                .collect()
        })
        .await
    }

    async fn registry_version(&self) -> Result<i64, StoreError> {
        self.version("registry_version")
    }

    async fn put_realm(&self, realm: &Realm) -> Result<(), StoreError> {
        let realm = realm.clone();
        self.write(move |conn, sealer| {
            let (name, authority, scopes, broker_id, secret, auth) = realm_to_row(sealer, &realm)?;
            conn.execute(
                "INSERT OR REPLACE INTO realms (name, authority, extra_scopes, broker_client_id, broker_secret, token_endpoint_auth) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![name, authority, scopes, broker_id, secret, auth],
            )
            .map_err(unavailable)?;
            conn.execute(BUMP, []).map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn delete_realm(&self, name: &RealmName) -> Result<bool, StoreError> {
        let name = name.clone();
        self.write(move |conn, _| {
            let deleted = conn
                .execute("DELETE FROM realms WHERE name = ?1", params![name.as_str()])
                .map_err(unavailable)?;
            conn.execute(BUMP, []).map_err(unavailable)?;
            Ok(deleted > 0)
        })
        .await
    }

    async fn put_client(&self, client: &Client) -> Result<(), StoreError> {
        let client = client.clone();
        self.write(move |conn, sealer| {
            let (id, realms, origins, secret, approval) = client_to_row(sealer, &client)?;
            conn.execute(
                "INSERT OR REPLACE INTO clients (client_id, realms, origins, secret, approval) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, realms, origins, secret, approval],
            )
            .map_err(unavailable)?;
            conn.execute(BUMP, []).map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn delete_client(&self, id: &ClientId) -> Result<bool, StoreError> {
        let id = id.clone();
        self.write(move |conn, _| {
            let deleted = conn
                .execute(
                    "DELETE FROM clients WHERE client_id = ?1",
                    params![id.as_str()],
                )
                .map_err(unavailable)?;
            conn.execute(BUMP, []).map_err(unavailable)?;
            Ok(deleted > 0)
        })
        .await
    }
}
