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
#[error("Keycloak's Admin REST API failed for client {client_id} in realm {realm}: {source}. {}", self.hint())]
/// A realm refused or failed during sync, for one client.
pub struct SyncError {
    /// The realm.
    pub realm: String,
    /// The client being synced (its `clientId` in the realm).
    pub client_id: String,
    /// What went wrong.
    pub source: IdpError,
}

impl SyncError {
    /// What to check for this failure.
    #[must_use]
    pub fn hint(&self) -> String {
        let realm = &self.realm;
        match &self.source {
            IdpError::Rejected { status: 404, .. } | IdpError::Status(404) => format!(
                "Check that realm {realm} exists on the Keycloak server of its authority (`authproxy realms list` shows the authority)"
            ),
            IdpError::Rejected {
                status: 401 | 403, ..
            }
            | IdpError::Status(401 | 403) => format!(
                "Give the broker client of realm {realm} the realm-management roles manage-clients, view-clients and query-clients (docs/src/impersonation.md)"
            ),
            IdpError::NoBrokerClient => format!(
                "Give realm {realm} a broker client: `authproxy realms put {realm} ... --broker-client-id ID --broker-client-secret-file FILE`"
            ),
            _ => format!(
                "Check that realm {realm} answers: `authproxy realms list`, or the broker's /readyz?verbose"
            ),
        }
    }
}

const PKCE: &str = "pkce.code.challenge.method";
const POST_LOGOUT: &str = "post.logout.redirect.uris";

/// What one client must be in one realm.
struct Target<'a> {
    realm: &'a Realm,
    client_id: String,
    redirect_uris: Vec<String>,
    web_origins: Vec<String>,
    /// Where the realm may send the browser after logout.
    post_logout: Option<String>,
    /// The secret of a confidential client; none: a public client.
    secret: Option<&'a secrecy::SecretString>,
}

impl<'a> Target<'a> {
    /// A registered client: the broker's callbacks, the client's origins.
    fn of_client(realm: &'a Realm, client: &'a Client, public_url: &PublicUrl) -> Self {
        Self {
            realm,
            client_id: client.id.to_string(),
            redirect_uris: vec![
                public_url.callback_url(),
                format!("{}/{}", public_url.callback_url(), client.id),
            ],
            web_origins: client.origins.iter().map(ToString::to_string).collect(),
            post_logout: Some(format!("{}/logged-out", public_url.as_str())),
            secret: client.secret.as_ref(),
        }
    }

    /// The admin console's own client: public, its callback, the broker's origin.
    fn of_console(realm: &'a Realm, public_url: &PublicUrl) -> Self {
        Self {
            realm,
            client_id: public_url.console_client_id(),
            redirect_uris: vec![public_url.console_callback_url()],
            web_origins: vec![public_url.origin()],
            post_logout: None,
            secret: None,
        }
    }
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
fn reconcile(rep: &mut Object, target: &Target<'_>) -> Vec<String> {
    let mut diff = ensure_all(rep, "redirectUris", &target.redirect_uris);
    diff.extend(ensure_all(rep, "webOrigins", &target.web_origins));
    let public = target.secret.is_none();
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
    let Some(post_logout) = target.post_logout.clone() else {
        return diff;
    };
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

/// Syncs every client (of `only_realm`, when given) into its realms, and the
/// admin console's own client into `console_realm`, when the console is on.
pub async fn sync_clients(
    admin: &dyn KeycloakAdmin,
    registry: &Snapshot,
    public_url: &PublicUrl,
    console_realm: Option<&RealmName>,
    only_realm: Option<&RealmName>,
    dry_run: bool,
) -> Result<Vec<SyncChange>, SyncError> {
    let mut clients: Vec<&Client> = registry.clients.values().collect();
    clients.sort_by(|a, b| a.id.cmp(&b.id));
    let wanted = |name: &RealmName| only_realm.is_none_or(|o| o == name);
    let mut targets: Vec<Target<'_>> = Vec::new();
    for client in clients {
        for realm in client
            .realms
            .iter()
            .filter(|r| wanted(r))
            .filter_map(|r| registry.realms.get(r))
        {
            targets.push(Target::of_client(realm, client, public_url));
        }
    }
    // The console's client is the broker's to make only where the broker has
    // a client of its own to make it with; elsewhere it is registered by hand
    // (docs/src/operate/console.md), and no sync fails for its sake.
    if let Some(realm) = console_realm
        .filter(|r| wanted(r))
        .and_then(|r| registry.realms.get(r))
        .filter(|r| r.broker_client.is_some())
    {
        let console = Target::of_console(realm, public_url);
        // A registered client of the same id in that realm carries the
        // console's callback too: one client, never two that undo each other.
        match targets
            .iter_mut()
            .find(|t| t.realm.name == realm.name && t.client_id == console.client_id)
        {
            Some(same) => {
                same.redirect_uris.extend(console.redirect_uris);
                same.web_origins.extend(console.web_origins);
            }
            None => targets.push(console),
        }
    }
    let mut changes = Vec::new();
    for target in &targets {
        changes.push(
            sync_one(admin, target, dry_run)
                .await
                .map_err(|source| SyncError {
                    realm: target.realm.name.to_string(),
                    client_id: target.client_id.clone(),
                    source,
                })?,
        );
    }
    Ok(changes)
}

async fn sync_one(
    admin: &dyn KeycloakAdmin,
    target: &Target<'_>,
    dry_run: bool,
) -> Result<SyncChange, IdpError> {
    let realm = target.realm;
    let change = |action: &str, diff: Vec<String>| SyncChange {
        realm: realm.name.to_string(),
        client_id: target.client_id.clone(),
        action: action.to_owned(),
        diff,
    };
    match admin.find_client(realm, &target.client_id).await? {
        None => {
            let mut rep = Object::new();
            rep.insert("clientId".into(), Value::String(target.client_id.clone()));
            rep.insert("protocol".into(), Value::String("openid-connect".into()));
            rep.insert("standardFlowEnabled".into(), Value::Bool(true));
            let diff = reconcile(&mut rep, target);
            if let Some(secret) = target.secret {
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
            let diff = reconcile(&mut rep, target);
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
