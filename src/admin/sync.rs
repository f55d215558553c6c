//! Keycloak client provisioning (`authproxy clients sync`, `POST
//! /admin/api/clients/sync`): makes each registered client exist in each of its
//! realms as a public PKCE client whose redirect URIs are the broker's callbacks
//! and whose web origins are the client's origins. It creates what is missing and
//! adds what differs, and never removes anything: values someone else added stay.

use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::domain::PublicUrl;
use crate::domain::{Client, Realm, RealmName};
use crate::idp::{IdpError, KeycloakAdmin};
use crate::registry::Snapshot;

/// What sync did (or, in a dry run, would do) to one client in one realm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SyncChange {
    /// The realm.
    pub realm: String,
    /// The client's id (its `clientId` in the realm).
    pub client_id: String,
    /// `create`, `update` or `unchanged`.
    pub action: String,
    /// Human-readable differences, one per line (`+ redirectUris: …`).
    pub diff: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("realm {realm}: {source}")]
/// A realm refused or failed during sync.
pub struct SyncError {
    /// The realm.
    pub realm: String,
    /// What went wrong.
    pub source: IdpError,
}

const PKCE: &str = "pkce.code.challenge.method";
const POST_LOGOUT: &str = "post.logout.redirect.uris";

fn wanted(client: &Client, public_url: &PublicUrl) -> (Vec<String>, Vec<String>, String) {
    let redirect_uris = vec![
        public_url.callback_url(),
        format!("{}/{}", public_url.callback_url(), client.id),
    ];
    let web_origins = client.origins.iter().map(ToString::to_string).collect();
    (
        redirect_uris,
        web_origins,
        format!("{}/logged-out", public_url.as_str()),
    )
}

type Object = serde_json::Map<String, Value>;

/// Adds the missing `values` to the string array `field`; returns the diff lines.
fn ensure_all(rep: &mut Object, field: &str, values: &[String]) -> Vec<String> {
    let present: Vec<String> = rep
        .get(field)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let missing: Vec<String> = values
        .iter()
        .filter(|v| !present.contains(v))
        .cloned()
        .collect();
    if missing.is_empty() {
        return Vec::new();
    }
    let merged: Vec<Value> = present
        .into_iter()
        .chain(missing.iter().cloned())
        .map(Value::String)
        .collect();
    rep.insert(field.to_owned(), Value::Array(merged));
    missing.iter().map(|v| format!("+ {field}: {v}")).collect()
}

/// Brings a client representation to what authproxy needs, adding and never
/// removing; returns the diff lines.
fn reconcile(rep: &mut Object, client: &Client, public_url: &PublicUrl) -> Vec<String> {
    let (redirect_uris, web_origins, post_logout) = wanted(client, public_url);
    let mut diff = ensure_all(rep, "redirectUris", &redirect_uris);
    diff.extend(ensure_all(rep, "webOrigins", &web_origins));
    let public = client.secret.is_none();
    if rep.get("publicClient").and_then(Value::as_bool) != Some(public) {
        diff.push(format!("~ publicClient: {public}"));
        rep.insert("publicClient".into(), Value::Bool(public));
    }
    let attributes = rep
        .entry("attributes")
        .and_modify(|a| {
            if !a.is_object() {
                *a = json!({});
            }
        })
        .or_insert_with(|| json!({}));
    let Some(attributes) = attributes.as_object_mut() else {
        return diff;
    };
    if attributes.get(PKCE).and_then(Value::as_str) != Some("S256") {
        diff.push(format!("~ attributes.{PKCE}: S256"));
        attributes.insert(PKCE.into(), Value::String("S256".into()));
    }
    let logout_uris = attributes
        .get(POST_LOGOUT)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if !logout_uris.split("##").any(|u| u == post_logout) {
        diff.push(format!("+ attributes.{POST_LOGOUT}: {post_logout}"));
        let joined = if logout_uris.is_empty() {
            post_logout
        } else {
            format!("{logout_uris}##{post_logout}")
        };
        attributes.insert(POST_LOGOUT.into(), Value::String(joined));
    }
    diff
}

/// Syncs every client (of `only_realm`, when given) into its realms.
pub async fn sync_clients(
    admin: &dyn KeycloakAdmin,
    registry: &Snapshot,
    public_url: &PublicUrl,
    only_realm: Option<&RealmName>,
    dry_run: bool,
) -> Result<Vec<SyncChange>, SyncError> {
    let mut clients: Vec<&Client> = registry.clients.values().collect();
    clients.sort_by(|a, b| a.id.cmp(&b.id));
    let mut changes = Vec::new();
    for client in clients {
        for realm_name in client
            .realms
            .iter()
            .filter(|r| only_realm.is_none_or(|o| o == *r))
        {
            let Some(realm) = registry.realms.get(realm_name) else {
                continue;
            };
            changes.push(
                sync_one(admin, realm, client, public_url, dry_run)
                    .await
                    .map_err(|source| SyncError {
                        realm: realm_name.to_string(),
                        source,
                    })?,
            );
        }
    }
    Ok(changes)
}

async fn sync_one(
    admin: &dyn KeycloakAdmin,
    realm: &Realm,
    client: &Client,
    public_url: &PublicUrl,
    dry_run: bool,
) -> Result<SyncChange, IdpError> {
    let change = |action: &str, diff: Vec<String>| SyncChange {
        realm: realm.name.to_string(),
        client_id: client.id.to_string(),
        action: action.to_owned(),
        diff,
    };
    match admin.find_client(realm, client.id.as_str()).await? {
        None => {
            let mut rep = Object::new();
            rep.insert("clientId".into(), Value::String(client.id.to_string()));
            rep.insert("protocol".into(), Value::String("openid-connect".into()));
            rep.insert("standardFlowEnabled".into(), Value::Bool(true));
            let diff = reconcile(&mut rep, client, public_url);
            if let Some(secret) = &client.secret {
                rep.insert(
                    "secret".into(),
                    Value::String(secrecy::ExposeSecret::expose_secret(secret).to_owned()),
                );
            }
            if !dry_run {
                admin.create_client(realm, &Value::Object(rep)).await?;
            }
            Ok(change("create", diff))
        }
        Some(Value::Object(mut rep)) => {
            let diff = reconcile(&mut rep, client, public_url);
            if diff.is_empty() {
                return Ok(change("unchanged", diff));
            }
            let id = rep
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if !dry_run {
                admin.update_client(realm, &id, &Value::Object(rep)).await?;
            }
            Ok(change("update", diff))
        }
        Some(_) => Err(IdpError::InvalidResponse(
            "a client representation is not a JSON object".into(),
        )),
    }
}
