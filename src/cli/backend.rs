//! Where an administration command is carried out: in this process, over the
//! store the configuration file names (local mode, for bootstrap), or by a
//! running broker's admin API (remote mode, `--url`). Both take the same [`Op`]
//! and answer the admin API's JSON, so a command prints the same either way and
//! a remote change is audited as `admin:<label>`, a local one as `cli:<actor>`.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use super::ConfigFile;
use super::context::{CliError, Context};
use super::op::Op;
use super::remote::Remote;
use crate::admin::ops::Operator;
use crate::clock::SystemClock;
use crate::idp::IdentityProvider;
use crate::idp::admin_rest::AdminRest;
use crate::idp::http::RealmHttp;
use crate::idp::oidc::OidcProvider;
use crate::registry::input::{ClientView, RealmView};

/// The actor of the commands that change nothing.
const READER: &str = "cli:list";

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
