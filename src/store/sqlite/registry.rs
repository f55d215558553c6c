//! Realms and clients in SQLite. Secrets (the broker's client secret, a client's
//! secret) are sealed under the row's key. Each change bumps `registry_version`.

use async_trait::async_trait;
use rusqlite::params;
use secrecy::{ExposeSecret as _, SecretString};

use super::{SqliteStore, corrupt, unavailable};
use crate::crypto::Sealer;
use crate::domain::ClientAuth;
use crate::domain::realm::Authority;
use crate::domain::{BrokerClient, Client, ClientId, Origin, Realm, RealmName};
use crate::store::{RegistryStore, StoreError};

const BUMP: &str = "UPDATE meta SET value = value + 1 WHERE key = 'registry_version'";

fn seal_secret(
    sealer: &Sealer,
    aad: &str,
    secret: Option<&SecretString>,
) -> Result<Option<Vec<u8>>, StoreError> {
    secret
        .map(|s| {
            sealer
                .seal(aad.as_bytes(), s.expose_secret().as_bytes())
                .map_err(corrupt)
        })
        .transpose()
}

fn open_secret(
    sealer: &Sealer,
    aad: &str,
    ciphertext: Option<Vec<u8>>,
) -> Result<Option<SecretString>, StoreError> {
    ciphertext
        .map(|s| {
            let plain = sealer.open(aad.as_bytes(), &s).map_err(corrupt)?;
            String::from_utf8(plain)
                .map(SecretString::from)
                .map_err(corrupt)
        })
        .transpose()
}

#[async_trait]
impl RegistryStore for SqliteStore {
    async fn realms(&self) -> Result<Vec<Realm>, StoreError> {
        self.blocking(|conn, sealer| {
            let mut stmt = conn
                .prepare("SELECT name, authority, extra_scopes, broker_client_id, broker_secret, token_endpoint_auth FROM realms ORDER BY name")
                .map_err(unavailable)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<String>>(3)?, r.get::<_, Option<Vec<u8>>>(4)?, r.get::<_, String>(5)?))
                })
                .map_err(unavailable)?;
            let mut realms = Vec::new();
            for row in rows {
                let (name, authority, scopes, broker_id, broker_secret, auth) = row.map_err(unavailable)?;
                let secret = open_secret(sealer, &format!("realm:{name}"), broker_secret)?;
                realms.push(Realm {
                    authority: Authority::parse(&authority).map_err(corrupt)?,
                    extra_scopes: serde_json::from_str(&scopes).map_err(corrupt)?,
                    broker_client: broker_id.zip(secret).map(|(client_id, secret)| BrokerClient { client_id, secret }),
                    name: RealmName::parse(&name).map_err(corrupt)?,
                    client_auth: ClientAuth::parse(&auth).map_err(corrupt)?,
                });
            }
            Ok(realms)
        })
        .await
    }

    async fn clients(&self) -> Result<Vec<Client>, StoreError> {
        self.blocking(|conn, sealer| {
            let mut stmt = conn
                .prepare(
                    "SELECT client_id, realms, origins, secret FROM clients ORDER BY client_id",
                )
                .map_err(unavailable)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, Option<Vec<u8>>>(3)?,
                    ))
                })
                .map_err(unavailable)?;
            let mut clients = Vec::new();
            for row in rows {
                let (id, realms, origins, secret) = row.map_err(unavailable)?;
                clients.push(Client {
                    secret: open_secret(sealer, &format!("client:{id}"), secret)?,
                    id: ClientId::parse(&id).map_err(corrupt)?,
                    realms: serde_json::from_str::<Vec<RealmName>>(&realms).map_err(corrupt)?,
                    origins: serde_json::from_str::<Vec<Origin>>(&origins).map_err(corrupt)?,
                });
            }
            Ok(clients)
        })
        .await
    }

    async fn registry_version(&self) -> Result<i64, StoreError> {
        self.version("registry_version")
    }

    async fn put_realm(&self, realm: &Realm) -> Result<(), StoreError> {
        let realm = realm.clone();
        self.write(move |conn, sealer| {
            let name = realm.name.as_str();
            let secret = seal_secret(sealer, &format!("realm:{name}"), realm.broker_client.as_ref().map(|b| &b.secret))?;
            conn.execute(
                "INSERT OR REPLACE INTO realms (name, authority, extra_scopes, broker_client_id, broker_secret, token_endpoint_auth) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    name,
                    realm.authority.as_str(),
                    serde_json::to_string(&realm.extra_scopes).map_err(corrupt)?,
                    realm.broker_client.as_ref().map(|b| b.client_id.as_str()),
                    secret,
                    realm.client_auth.as_str()
                ],
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
            let id = client.id.as_str();
            let secret = seal_secret(sealer, &format!("client:{id}"), client.secret.as_ref())?;
            conn.execute(
                "INSERT OR REPLACE INTO clients (client_id, realms, origins, secret) VALUES (?1, ?2, ?3, ?4)",
                params![
                    id,
                    serde_json::to_string(&client.realms).map_err(corrupt)?,
                    serde_json::to_string(&client.origins).map_err(corrupt)?,
                    secret
                ],
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
