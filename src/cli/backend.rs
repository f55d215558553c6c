//! Where an administration command is carried out: in this process, over the
//! store the configuration file names (local mode, for bootstrap), or by a
//! running broker's admin API (remote mode, `--url`). Both take the same [`Op`]
//! and answer the admin API's JSON, so a command prints the same either way and
//! a remote change is audited as `admin:<label>`, a local one as `cli:<actor>`.

use std::sync::Arc;

use reqwest::Method;
use serde::Serialize;
use serde_json::Value;

use super::ConfigFile;
use super::context::{CliError, Context};
use super::remote::{Body, Remote};
use crate::admin::ops::providers::SecretsInput;
use crate::admin::ops::tenants::{ApiKeyInput, HostKeyInput, TenantInput};
use crate::admin::ops::{
    AdminTokenInput, CallerInput, ClientChange, ExpireInput, Operator, PolicyInput, RuleInput,
};
use crate::clock::SystemClock;
use crate::idp::IdentityProvider;
use crate::idp::admin_rest::AdminRest;
use crate::idp::http::RealmHttp;
use crate::idp::oidc::OidcProvider;
use crate::registry::input::{ClientInput, ClientView, RealmInput, RealmView};
use crate::store::AuditFilter;

/// The actor of the commands that change nothing.
const READER: &str = "cli:list";

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
    /// `GET /admin/api/directory/lookup`.
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
    fn changes(&self) -> bool {
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
    fn request(self) -> Result<(Method, String, Body), CliError> {
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
            Self::Lookup(user) => (
                Method::GET,
                format!("directory/lookup?user={}", seg(&user)),
                Body::None,
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

/// The JSON of a view, as the admin API answers it.
fn to_json(view: &impl Serialize) -> Result<Value, CliError> {
    serde_json::to_value(view).map_err(|e| CliError::Input(e.to_string()))
}

/// Where the commands are carried out.
pub(super) enum Backend {
    /// This process, over the local store.
    Local(Box<Context>),
    /// A running broker's admin API.
    Remote(Remote),
}

impl Backend {
    /// Remote with `--url` (or `AUTHPROXY_URL`), local otherwise.
    pub async fn open(file: &ConfigFile) -> Result<Self, CliError> {
        match Remote::from_args(file)? {
            Some(remote) => Ok(Self::Remote(remote)),
            None => Ok(Self::Local(Box::new(Context::open(file).await?))),
        }
    }

    /// Carries `op` out; the answer is the admin API's JSON (`null` for none).
    pub async fn run(&self, op: Op) -> Result<Value, CliError> {
        match self {
            Self::Remote(remote) => {
                let (method, path, body) = op.request()?;
                remote.send(method, &path, body).await
            }
            Self::Local(ctx) => {
                let actor = if op.changes() {
                    ctx.actor()?
                } else {
                    READER.to_owned()
                };
                local(ctx, &actor, op).await
            }
        }
    }
}

/// Carries `op` out through the operations layer, as the admin API does.
async fn local(ctx: &Context, actor: &str, op: Op) -> Result<Value, CliError> {
    let ops = ctx.operator(actor);
    match op {
        Op::ListClients => to_json(&ops.list_clients()),
        Op::CreateClient(input) => to_json(&ClientView::from(&ops.create_client(&input).await?)),
        Op::ReplaceClient(input) => to_json(&ClientView::from(
            &ops.replace_client(&input.client_id, &input).await?,
        )),
        Op::UpdateClient(id, change) => {
            to_json(&ClientView::from(&ops.update_client(&id, &change).await?))
        }
        Op::DeleteClient(id) => ops
            .delete_client(&id)
            .await
            .map(|()| Value::Null)
            .map_err(Into::into),
        Op::SyncClients { realm, dry_run } => {
            let http = RealmHttp::new(ctx.idp_timeout())?;
            let oidc = Arc::new(OidcProvider::new(Arc::new(SystemClock), http.clone()));
            let keycloak = AdminRest::new(http, oidc);
            to_json(
                &ops.sync_clients(
                    &keycloak,
                    ctx.public_url_of(),
                    ctx.console_realm(),
                    realm.as_deref(),
                    dry_run,
                )
                .await?,
            )
        }
        Op::ListRealms => to_json(&ops.list_realms()),
        Op::PutRealm(input, check) => {
            let idp = if check { Some(ctx.idp()?) } else { None };
            let realm = ops
                .put_realm(&input, idp.as_deref().map(|i| i as &dyn IdentityProvider))
                .await?;
            to_json(&RealmView::from(&realm))
        }
        Op::DeleteRealm(name) => ops
            .delete_realm(&name)
            .await
            .map(|()| Value::Null)
            .map_err(Into::into),
        Op::ListCallers => to_json(&ops.list_callers().await?),
        Op::CreateCaller(input) => to_json(&ops.create_caller(&input).await?),
        Op::ReplacePolicy(id, policy) => to_json(&ops.replace_policy(&id, &policy).await?),
        Op::RotateCallerSecret(id) => to_json(&ops.rotate_caller_secret(&id).await?),
        Op::DeleteCaller(id) => ops
            .delete_caller(&id)
            .await
            .map(|()| Value::Null)
            .map_err(Into::into),
        Op::PutRule(rule) => ops
            .put_rule(&rule)
            .await
            .map(|()| Value::Null)
            .map_err(Into::into),
        Op::DeleteRule(rule) => ops
            .delete_rule(&rule)
            .await
            .map(|()| Value::Null)
            .map_err(Into::into),
        Op::Import { csv, replace } => {
            let count = ops.import_directory(csv, replace).await?;
            Ok(serde_json::json!({ "imported": count }))
        }
        Op::Export => Ok(Value::String(ctx.store.export_csv().await?)),
        Op::Lookup(user) => to_json(&ops.lookup_user(&user).await?),
        Op::ListAdminTokens => to_json(&ops.list_admin_tokens().await?),
        Op::CreateAdminToken(input) => to_json(&ops.create_admin_token(&input).await?),
        Op::ExpireAdminToken(id, input) => to_json(&ops.expire_admin_token(&id, &input).await?),
        Op::RevokeAdminToken(id) => ops
            .revoke_admin_token(&id)
            .await
            .map(|()| Value::Null)
            .map_err(Into::into),
        Op::EndConsoleSessions(subject) => ops
            .end_console_sessions(&subject)
            .await
            .map(|()| Value::Null)
            .map_err(Into::into),
        Op::Audit(filter) => {
            to_json(&crate::store::AuditLog::audit(ctx.store.as_ref(), &filter).await?)
        }
        other => local_tenants(ctx, &ops, other).await,
    }
}

/// The operations on tenants, their keys and their resources.
async fn local_tenants(ctx: &Context, ops: &Operator<'_>, op: Op) -> Result<Value, CliError> {
    match op {
        Op::ListTenants => to_json(&ops.list_tenants().await?),
        Op::PutTenant(id, input) => to_json(&ops.put_tenant(&id, &input).await?),
        Op::DeleteTenant(id) => ops
            .delete_tenant(&id)
            .await
            .map(|()| Value::Null)
            .map_err(Into::into),
        Op::ListHostKeys(t) => to_json(&ops.list_host_keys(&t).await?),
        Op::AddHostKey(t, input) => to_json(&ops.add_host_key(&t, &input).await?),
        Op::RevokeHostKey(t, kid) => to_json(&ops.revoke_host_key(&t, &kid).await?),
        Op::ListApiKeys(t) => to_json(&ops.list_api_keys(&t).await?),
        Op::CreateApiKey(t, input) => to_json(&ops.create_api_key(&t, &input).await?),
        Op::RevokeApiKey(t, key) => to_json(&ops.revoke_api_key(&t, &key).await?),
        Op::ListProviders(t) => to_json(&ops.list_providers(&t).await?),
        Op::PutProviderSecrets(t, name, input) => {
            to_json(&ops.put_provider_secrets(&t, &name, &input).await?)
        }
        Op::TestProvider(t, name) => {
            to_json(&ops.test_provider(&ctx.key_sets()?, &t, &name).await?)
        }
        Op::ListResources(t) => to_json(&ops.list_resources(&t).await?),
        Op::ListRegistrations(t, r) => to_json(&ops.list_registrations(&t, &r).await?),
        Op::RevokeRegistration(t, r, id) => ops
            .revoke_registration(&t, &r, &id)
            .await
            .map(|()| Value::Null)
            .map_err(Into::into),
        other => Err(CliError::Input(format!(
            "{other:?} is not a tenant operation"
        ))),
    }
}
