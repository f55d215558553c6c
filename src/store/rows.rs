//! Rows as every durable backend stores them: the conversions between domain
//! types and columns, written once for SQLite and PostgreSQL. Secrets are sealed
//! under the row's own key (`realm:<name>`, `client:<id>`), so a sealed value
//! copied to another row does not open.

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret as _, SecretString};

use super::{StoreError, StoredAdminToken, StoredCaller};
use crate::crypto::Sealer;
use crate::domain::realm::Authority;
use crate::domain::{
    Approval, BrokerClient, CallerId, CallerPolicy, Client, ClientAuth, ClientId, IdpAlias, Origin,
    Realm, RealmName, Target,
};

/// The header of the directory's CSV export (the import format).
pub const EXPORT_HEADER: [&str; 4] = ["kind", "key", "realm", "idp_hint"];

pub(super) fn unavailable(err: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(err.to_string())
}

pub(super) fn corrupt(err: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(err.to_string())
}

/// The associated data a realm's broker secret is sealed with.
pub(super) fn realm_aad(name: &str) -> String {
    format!("realm:{name}")
}

/// The associated data a client's secret is sealed with.
pub(super) fn client_aad(id: &str) -> String {
    format!("client:{id}")
}

pub(super) fn seal_secret(
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

pub(super) fn open_secret(
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

/// A realm's columns: name, authority, extra scopes (JSON), broker client id,
/// sealed broker secret, token-endpoint authentication.
pub(super) type RealmRow = (
    String,
    String,
    String,
    Option<String>,
    Option<Vec<u8>>,
    String,
);

pub(super) fn realm_from_row(sealer: &Sealer, row: RealmRow) -> Result<Realm, StoreError> {
    let (name, authority, scopes, broker_id, broker_secret, auth) = row;
    let secret = open_secret(sealer, &realm_aad(&name), broker_secret)?;
    Ok(Realm {
        authority: Authority::parse(&authority).map_err(corrupt)?,
        extra_scopes: serde_json::from_str(&scopes).map_err(corrupt)?,
        broker_client: broker_id
            .zip(secret)
            .map(|(client_id, secret)| BrokerClient { client_id, secret }),
        name: RealmName::parse(&name).map_err(corrupt)?,
        client_auth: ClientAuth::parse(&auth).map_err(corrupt)?,
    })
}

pub(super) fn realm_to_row(sealer: &Sealer, realm: &Realm) -> Result<RealmRow, StoreError> {
    let name = realm.name.as_str();
    Ok((
        name.to_owned(),
        realm.authority.as_str().to_owned(),
        serde_json::to_string(&realm.extra_scopes).map_err(corrupt)?,
        realm.broker_client.as_ref().map(|b| b.client_id.clone()),
        seal_secret(
            sealer,
            &realm_aad(name),
            realm.broker_client.as_ref().map(|b| &b.secret),
        )?,
        realm.client_auth.as_str().to_owned(),
    ))
}

/// A client's columns: id, realms (JSON), origins (JSON), sealed secret, approval.
pub(super) type ClientRow = (String, String, String, Option<Vec<u8>>, String);

pub(super) fn client_from_row(sealer: &Sealer, row: ClientRow) -> Result<Client, StoreError> {
    let (id, realms, origins, secret, approval) = row;
    Ok(Client {
        approval: Approval::parse(&approval).map_err(corrupt)?,
        secret: open_secret(sealer, &client_aad(&id), secret)?,
        id: ClientId::parse(&id).map_err(corrupt)?,
        realms: serde_json::from_str::<Vec<RealmName>>(&realms).map_err(corrupt)?,
        origins: serde_json::from_str::<Vec<Origin>>(&origins).map_err(corrupt)?,
    })
}

pub(super) fn client_to_row(sealer: &Sealer, client: &Client) -> Result<ClientRow, StoreError> {
    let id = client.id.as_str();
    Ok((
        id.to_owned(),
        serde_json::to_string(&client.realms).map_err(corrupt)?,
        serde_json::to_string(&client.origins).map_err(corrupt)?,
        seal_secret(sealer, &client_aad(id), client.secret.as_ref())?,
        client.approval.as_str().to_owned(),
    ))
}

pub(super) fn caller_from_row(
    id: &str,
    hash: String,
    policy: &str,
    created: i64,
) -> Result<StoredCaller, StoreError> {
    Ok(StoredCaller {
        id: CallerId::parse(id).map_err(corrupt)?,
        secret_hash: hash,
        policy: serde_json::from_str::<CallerPolicy>(policy).map_err(corrupt)?,
        created_at: DateTime::from_timestamp(created, 0).unwrap_or_default(),
    })
}

/// An admin token back from its columns.
pub(super) fn admin_token_from_row(
    hash: &[u8],
    label: String,
    created: i64,
    expires: Option<i64>,
) -> Result<StoredAdminToken, StoreError> {
    Ok(StoredAdminToken {
        hash: hash
            .try_into()
            .map_err(|_| StoreError::Corrupt("an admin token hash is not 32 bytes".into()))?,
        label,
        created_at: from_unix(created),
        expires_at: expires.map(from_unix),
    })
}

pub(super) fn policy_column(policy: &CallerPolicy) -> Result<String, StoreError> {
    serde_json::to_string(policy).map_err(corrupt)
}

/// A rule's target as its `realm` and `idp_hint` columns (no realm: not migrated).
pub(super) fn target_columns(target: &Target) -> (Option<&str>, Option<&str>) {
    match target {
        Target::Sso { realm, idp_hint } => (
            Some(realm.as_str()),
            idp_hint.as_ref().map(IdpAlias::as_str),
        ),
        Target::NotMigrated => (None, None),
    }
}

pub(super) fn target_from_row(
    realm: Option<String>,
    hint: Option<&str>,
) -> Result<Target, StoreError> {
    match realm {
        None => Ok(Target::NotMigrated),
        Some(realm) => Ok(Target::Sso {
            realm: RealmName::parse(&realm).map_err(corrupt)?,
            idp_hint: hint.map(IdpAlias::parse).transpose().map_err(corrupt)?,
        }),
    }
}

/// Writes the directory's rows (kind, key, realm, idp hint) as the import CSV.
pub(super) fn export_rows<I>(rows: I) -> Result<String, StoreError>
where
    I: IntoIterator<Item = [Option<String>; 4]>,
{
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(EXPORT_HEADER).map_err(corrupt)?;
    for fields in rows {
        out.write_record(fields.iter().map(|f| f.as_deref().unwrap_or("")))
            .map_err(corrupt)?;
    }
    String::from_utf8(out.into_inner().map_err(corrupt)?).map_err(corrupt)
}

/// Seconds since the epoch, as both backends store times.
pub(super) fn unix(at: DateTime<Utc>) -> i64 {
    at.timestamp()
}

/// A stored time back.
pub(super) fn from_unix(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// The SQL that lists the directory as export rows, the same in both backends.
pub(super) const EXPORT_SQL: &str = "SELECT CASE WHEN realm IS NULL THEN 'not_migrated' ELSE 'user' END, username, realm, idp_hint FROM directory_users
     UNION ALL SELECT 'domain', domain, realm, idp_hint FROM directory_domains
     UNION ALL SELECT 'default', '', realm, idp_hint FROM directory_default";

/// A document as both backends store it: `(id, owner, body, sealed secret)`.
pub(super) type DocumentRow = (String, String, String, Option<Vec<u8>>);

/// The associated data a document's secret is sealed with.
fn document_aad(kind: &str, id: &str) -> String {
    format!("{kind}:{id}")
}

pub(super) fn document_to_row(
    sealer: &Sealer,
    kind: &str,
    doc: &super::Document,
) -> Result<DocumentRow, StoreError> {
    let secret = doc
        .secret
        .as_ref()
        .map(|s| {
            sealer
                .seal(document_aad(kind, &doc.id).as_bytes(), s.expose_secret())
                .map_err(corrupt)
        })
        .transpose()?;
    Ok((doc.id.clone(), doc.owner.clone(), doc.body.clone(), secret))
}

pub(super) fn document_from_row(
    sealer: &Sealer,
    kind: &str,
    (id, owner, body, secret): DocumentRow,
) -> Result<super::Document, StoreError> {
    let secret = secret
        .map(|s| {
            sealer
                .open(document_aad(kind, &id).as_bytes(), &s)
                .map(secrecy::SecretSlice::from)
                .map_err(corrupt)
        })
        .transpose()?;
    Ok(super::Document {
        id,
        owner,
        body,
        secret,
    })
}

/// Every sealed value at rest, one row each: `(table, key, sub_key, sealed)`.
pub(super) const SEALED_SQL: &str =
    "SELECT 'realm', name, '', broker_secret FROM realms WHERE broker_secret IS NOT NULL
    UNION ALL SELECT 'client', client_id, '', secret FROM clients WHERE secret IS NOT NULL
    UNION ALL SELECT 'document', kind, id, secret FROM documents WHERE secret IS NOT NULL";

/// The statement that replaces one sealed value, only if the row still holds
/// the old one: parameters new, key, sub_key, old (`?N`, SQLite's spelling).
pub(super) fn reseal_sql(table: super::SealedTable) -> &'static str {
    match table {
        super::SealedTable::Realm => {
            "UPDATE realms SET broker_secret = ?1 WHERE name = ?2 AND ?3 = '' AND broker_secret = ?4"
        }
        super::SealedTable::Client => {
            "UPDATE clients SET secret = ?1 WHERE client_id = ?2 AND ?3 = '' AND secret = ?4"
        }
        super::SealedTable::Document => {
            "UPDATE documents SET secret = ?1 WHERE kind = ?2 AND id = ?3 AND secret = ?4"
        }
    }
}

/// A row of [`SEALED_SQL`] as a [`super::SealedSecret`].
pub(super) fn sealed_from_row(
    (table, key, sub_key, sealed): (String, String, String, Vec<u8>),
) -> Result<super::SealedSecret, StoreError> {
    let table = match table.as_str() {
        "realm" => super::SealedTable::Realm,
        "client" => super::SealedTable::Client,
        "document" => super::SealedTable::Document,
        other => return Err(corrupt(format!("unknown sealed table {other}"))),
    };
    Ok(super::SealedSecret {
        table,
        key,
        sub_key,
        sealed,
    })
}

impl super::SealedSecret {
    /// The associated data the value is sealed under.
    #[must_use]
    pub fn aad(&self) -> String {
        match self.table {
            super::SealedTable::Realm => realm_aad(&self.key),
            super::SealedTable::Client => client_aad(&self.key),
            super::SealedTable::Document => document_aad(&self.key, &self.sub_key),
        }
    }
}
