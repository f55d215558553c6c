//! One administrative operation ([`Op`]), as the admin API offers it: what it
//! needs, whether it changes something (and so needs an actor), and its admin
//! API request (method, path and JSON body) for remote mode.

use reqwest::Method;
use serde::Serialize;
use serde_json::Value;

use super::context::CliError;
use super::remote::Body;
use crate::admin::ops::api_keys::ApiKeyInput;
use crate::admin::ops::host_keys::HostKeyInput;
use crate::admin::ops::providers::SecretsInput;
use crate::admin::ops::tenants::TenantInput;
use crate::admin::ops::{
    AdminTokenInput, CallerInput, ClientChange, ExpireInput, PolicyInput, RuleInput,
};
use crate::registry::input::{ClientInput, RealmInput};
use crate::store::AuditFilter;

/// One administrative operation, as the admin API offers it.
#[derive(Debug)]
pub enum Op {
    /// `GET /admin/api/clients`.
    ListClients,
    /// `POST /admin/api/clients`.
    CreateClient(ClientInput),
    /// `PUT /admin/api/clients/{id}`.
    ReplaceClient(ClientInput),
    /// `PATCH /admin/api/clients/{id}`.
    UpdateClient(String, ClientChange),
    /// `DELETE /admin/api/clients/{id}`.
    DeleteClient(String),
    /// `POST /admin/api/clients/sync`.
    SyncClients {
        /// Only this realm.
        realm: Option<String>,
        /// Change nothing.
        dry_run: bool,
    },
    /// `GET /admin/api/realms`.
    ListRealms,
    /// `PUT /admin/api/realms/{name}` (`check`: ask the realm first).
    PutRealm(RealmInput, bool),
    /// `DELETE /admin/api/realms/{name}`.
    DeleteRealm(String),
    /// `GET /admin/api/callers`.
    ListCallers,
    /// `POST /admin/api/callers`.
    CreateCaller(CallerInput),
    /// `PUT /admin/api/callers/{id}/policy`.
    ReplacePolicy(String, PolicyInput),
    /// `POST /admin/api/callers/{id}/secret`.
    RotateCallerSecret(String),
    /// `DELETE /admin/api/callers/{id}`.
    DeleteCaller(String),
    /// `POST /admin/api/directory/rules`.
    PutRule(RuleInput),
    /// `DELETE /admin/api/directory/rules`.
    DeleteRule(RuleInput),
    /// `POST /admin/api/directory/import`.
    Import {
        /// The CSV file's bytes.
        csv: Vec<u8>,
        /// Replace the whole directory.
        replace: bool,
    },
    /// `GET /admin/api/directory/export` (the CSV as a JSON string).
    Export,
    /// `POST /admin/api/directory/lookup`.
    Lookup(String),
    /// `GET /admin/api/tenants`.
    ListTenants,
    /// `PUT /admin/api/tenants/{id}`.
    PutTenant(String, Box<TenantInput>),
    /// `DELETE /admin/api/tenants/{id}`.
    DeleteTenant(String),
    /// `GET /admin/api/tenants/{id}/keys`.
    ListHostKeys(String),
    /// `POST /admin/api/tenants/{id}/keys`.
    AddHostKey(String, HostKeyInput),
    /// `DELETE /admin/api/tenants/{id}/keys/{kid}`.
    RevokeHostKey(String, String),
    /// `GET /admin/api/tenants/{id}/api-keys`.
    ListApiKeys(String),
    /// `POST /admin/api/tenants/{id}/api-keys`.
    CreateApiKey(String, ApiKeyInput),
    /// `DELETE /admin/api/tenants/{id}/api-keys/{key}`.
    RevokeApiKey(String, String),
    /// `GET /admin/api/tenants/{id}/providers`.
    ListProviders(String),
    /// `PUT /admin/api/tenants/{id}/providers/{name}/secrets`.
    PutProviderSecrets(String, String, SecretsInput),
    /// `POST /admin/api/tenants/{id}/providers/{name}/test`.
    TestProvider(String, String),
    /// `GET /admin/api/tenants/{id}/resources`.
    ListResources(String),
    /// `GET /admin/api/tenants/{id}/resources/{resource}/registrations`.
    ListRegistrations(String, String),
    /// `DELETE /admin/api/tenants/{id}/resources/{resource}/registrations/{registration}`.
    RevokeRegistration(String, String, String),
    /// `GET /admin/api/tokens`.
    ListAdminTokens,
    /// `POST /admin/api/tokens`.
    CreateAdminToken(AdminTokenInput),
    /// `POST /admin/api/tokens/{id}/expire`.
    ExpireAdminToken(String, ExpireInput),
    /// `DELETE /admin/api/tokens/{id}`.
    RevokeAdminToken(String),
    /// `DELETE /admin/api/console/sessions/{subject}`.
    EndConsoleSessions(String),
    /// `GET /admin/api/audit`.
    Audit(AuditFilter),
}

impl Op {
    /// Whether the operation changes something (and so needs an actor).
    pub(super) fn changes(&self) -> bool {
        !matches!(
            self,
            Self::ListClients
                | Self::ListRealms
                | Self::ListCallers
                | Self::Export
                | Self::Lookup(_)
                | Self::ListTenants
                | Self::ListHostKeys(_)
                | Self::ListApiKeys(_)
                | Self::ListProviders(_)
                | Self::ListResources(_)
                | Self::ListRegistrations(..)
                | Self::ListAdminTokens
                | Self::Audit(_)
                | Self::SyncClients { dry_run: true, .. }
        )
    }

    /// The admin API request that carries the operation out.
    pub(super) fn request(self) -> Result<(Method, String, Body), CliError> {
        let seg = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let json = |v: &dyn erased::Json| v.value().map(Body::Json);
        Ok(match self {
            Self::ListClients => (Method::GET, "clients".into(), Body::None),
            Self::CreateClient(input) => (Method::POST, "clients".into(), json(&input)?),
            Self::ReplaceClient(input) => (
                Method::PUT,
                format!("clients/{}", seg(&input.client_id)),
                json(&input)?,
            ),
            Self::UpdateClient(id, change) => (
                Method::PATCH,
                format!("clients/{}", seg(&id)),
                json(&change)?,
            ),
            Self::DeleteClient(id) => (Method::DELETE, format!("clients/{}", seg(&id)), Body::None),
            Self::SyncClients { realm, dry_run } => {
                let realm = realm.map(|r| format!("&realm={}", seg(&r)));
                (
                    Method::POST,
                    format!(
                        "clients/sync?dry_run={dry_run}{}",
                        realm.unwrap_or_default()
                    ),
                    Body::None,
                )
            }
            Self::ListRealms => (Method::GET, "realms".into(), Body::None),
            Self::PutRealm(input, check) => (
                Method::PUT,
                format!(
                    "realms/{}{}",
                    seg(&input.name),
                    if check { "" } else { "?check=false" }
                ),
                json(&input)?,
            ),
            Self::DeleteRealm(name) => {
                (Method::DELETE, format!("realms/{}", seg(&name)), Body::None)
            }
            Self::ListCallers => (Method::GET, "callers".into(), Body::None),
            Self::CreateCaller(input) => (Method::POST, "callers".into(), json(&input)?),
            Self::ReplacePolicy(id, policy) => (
                Method::PUT,
                format!("callers/{}/policy", seg(&id)),
                json(&policy)?,
            ),
            Self::RotateCallerSecret(id) => (
                Method::POST,
                format!("callers/{}/secret", seg(&id)),
                Body::None,
            ),
            Self::DeleteCaller(id) => (Method::DELETE, format!("callers/{}", seg(&id)), Body::None),
            Self::PutRule(rule) => (Method::POST, "directory/rules".into(), json(&rule)?),
            Self::DeleteRule(rule) => (Method::DELETE, "directory/rules".into(), json(&rule)?),
            Self::Import { csv, replace } => (
                Method::POST,
                format!("directory/import?replace={replace}"),
                Body::Csv(csv),
            ),
            Self::Export => (Method::GET, "directory/export".into(), Body::None),
            // The user's name travels in the body, never in a URL.
            Self::Lookup(user) => (
                Method::POST,
                "directory/lookup".into(),
                Body::Json(serde_json::json!({ "user": user })),
            ),
            Self::Audit(filter) => (Method::GET, audit_path(&filter), Body::None),
            other => return other.tenant_request(),
        })
    }

    /// The requests of tenants and of admin tokens.
    fn tenant_request(self) -> Result<(Method, String, Body), CliError> {
        let seg = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let json = |v: &dyn erased::Json| v.value().map(Body::Json);
        Ok(match self {
            Self::ListTenants => (Method::GET, "tenants".into(), Body::None),
            Self::PutTenant(id, input) => {
                (Method::PUT, format!("tenants/{}", seg(&id)), json(&*input)?)
            }
            Self::DeleteTenant(id) => (Method::DELETE, format!("tenants/{}", seg(&id)), Body::None),
            Self::ListHostKeys(t) => (Method::GET, format!("tenants/{}/keys", seg(&t)), Body::None),
            Self::AddHostKey(t, input) => (
                Method::POST,
                format!("tenants/{}/keys", seg(&t)),
                json(&input)?,
            ),
            Self::RevokeHostKey(t, kid) => (
                Method::DELETE,
                format!("tenants/{}/keys/{}", seg(&t), seg(&kid)),
                Body::None,
            ),
            Self::ListApiKeys(t) => (
                Method::GET,
                format!("tenants/{}/api-keys", seg(&t)),
                Body::None,
            ),
            Self::CreateApiKey(t, input) => (
                Method::POST,
                format!("tenants/{}/api-keys", seg(&t)),
                json(&input)?,
            ),
            Self::RevokeApiKey(t, key) => (
                Method::DELETE,
                format!("tenants/{}/api-keys/{}", seg(&t), seg(&key)),
                Body::None,
            ),
            Self::ListProviders(t) => (
                Method::GET,
                format!("tenants/{}/providers", seg(&t)),
                Body::None,
            ),
            Self::PutProviderSecrets(t, name, input) => (
                Method::PUT,
                format!("tenants/{}/providers/{}/secrets", seg(&t), seg(&name)),
                json(&input)?,
            ),
            Self::TestProvider(t, name) => (
                Method::POST,
                format!("tenants/{}/providers/{}/test", seg(&t), seg(&name)),
                Body::None,
            ),
            Self::ListResources(t) => (
                Method::GET,
                format!("tenants/{}/resources", seg(&t)),
                Body::None,
            ),
            Self::ListRegistrations(t, r) => (
                Method::GET,
                format!("tenants/{}/resources/{}/registrations", seg(&t), seg(&r)),
                Body::None,
            ),
            Self::RevokeRegistration(t, r, id) => (
                Method::DELETE,
                format!(
                    "tenants/{}/resources/{}/registrations/{}",
                    seg(&t),
                    seg(&r),
                    seg(&id)
                ),
                Body::None,
            ),
            Self::ListAdminTokens => (Method::GET, "tokens".into(), Body::None),
            Self::CreateAdminToken(input) => (Method::POST, "tokens".into(), json(&input)?),
            Self::ExpireAdminToken(id, input) => (
                Method::POST,
                format!("tokens/{}/expire", seg(&id)),
                json(&input)?,
            ),
            Self::RevokeAdminToken(id) => {
                (Method::DELETE, format!("tokens/{}", seg(&id)), Body::None)
            }
            Self::EndConsoleSessions(subject) => (
                Method::DELETE,
                format!("console/sessions/{}", seg(&subject)),
                Body::None,
            ),
            other => {
                return Err(CliError::Input(format!(
                    "{other:?} has no admin API request"
                )));
            }
        })
    }
}

/// `audit?since=...`: the filter as the admin API's query.
fn audit_path(filter: &AuditFilter) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if let Some(since) = filter.since {
        query.append_pair("since", &since.to_rfc3339());
    }
    if let Some(until) = filter.until {
        query.append_pair("until", &until.to_rfc3339());
    }
    for (name, value) in [
        ("actor", &filter.actor),
        ("action", &filter.action),
        ("outcome", &filter.outcome),
    ] {
        if let Some(value) = value {
            query.append_pair(name, value);
        }
    }
    query.append_pair("limit", &filter.limit.to_string());
    if filter.newest_first {
        query.append_pair("order", "newest");
    }
    format!("audit?{}", query.finish())
}

/// Request bodies: any input, as JSON.
mod erased {
    use super::{CliError, Serialize, Value};

    /// An input that becomes a JSON body.
    pub(super) trait Json {
        /// The body.
        fn value(&self) -> Result<Value, CliError>;
    }

    impl<T: Serialize> Json for T {
        fn value(&self) -> Result<Value, CliError> {
            serde_json::to_value(self).map_err(|e| CliError::Input(e.to_string()))
        }
    }
}
