//! `authproxy tenants ...`: tenants, through the same operations as
//! `/admin/api/tenants` (and the same audit rows); their signing keys and API
//! keys are `tenants keys` ([`super::host_keys`]) and `tenants api-keys`
//! ([`super::api_keys`]).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use serde_json::{Map, Value};

use super::backend::Backend;
use super::context::{CliError, finish, read};
use super::op::Op;
use super::print::{self};
use super::{ConfigFile, api_keys, host_keys};
use crate::admin::ops::tenants::TenantInput;
use crate::domain::LinkPath;

#[derive(Debug, Subcommand)]
/// `authproxy tenants ...`.
pub enum TenantsCommand {
    /// List the tenants.
    List,
    /// Create a tenant, or change the settings named (the others stay as they
    /// are); `--replace` writes the whole tenant from the flags given.
    Put {
        /// The tenant's id.
        tenant_id: String,
        #[command(flatten)]
        /// The settings to write.
        settings: Box<TenantFlags>,
    },
    /// Remove a tenant (with its keys, resources and registrations).
    Remove {
        /// The tenant's id.
        tenant_id: String,
    },
    /// A tenant's signing keys.
    Keys {
        /// The tenant's id.
        tenant_id: String,
        #[command(subcommand)]
        /// What to do.
        command: host_keys::KeysCommand,
    },
    /// A tenant's API keys.
    ApiKeys {
        /// The tenant's id.
        tenant_id: String,
        #[command(subcommand)]
        /// What to do.
        command: api_keys::ApiKeysCommand,
    },
    /// A tenant's identity providers (third-party SSO).
    Providers {
        /// The tenant's id.
        tenant_id: String,
        #[command(subcommand)]
        /// What to do.
        command: super::providers::ProvidersCommand,
    },
    /// A tenant's resources and their registrations (made by its backend).
    Resources {
        /// The tenant's id.
        tenant_id: String,
        #[command(subcommand)]
        /// What to do.
        command: super::resources::ResourcesCommand,
    },
}

/// The tenant `id` as the admin API shows it, without its id; `None` when
/// there is none.
async fn current_tenant(
    backend: &Backend,
    id: &str,
) -> Result<Option<Map<String, Value>>, CliError> {
    let listed = backend.run(Op::ListTenants).await?;
    Ok(listed
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t.get("tenant_id").and_then(Value::as_str) == Some(id))
        .and_then(|t| t.as_object().cloned())
        .map(|mut t| {
            t.remove("tenant_id");
            t
        }))
}

/// The tenant's third-party SSO from `--sso-file` (none without it).
fn sso_settings(path: Option<&PathBuf>) -> Result<crate::domain::SsoSettings, CliError> {
    let Some(path) = path else {
        return Ok(crate::domain::SsoSettings::default());
    };
    serde_json::from_str(&read(path)?)
        .map_err(|e| CliError::Input(format!("--sso-file {}: {e}", path.display())))
}

/// A tenant's settings as flags: each one given is written, each one left out
/// keeps its value (a new tenant needs `--environment`, `--realm`, `--client` and
/// `--provisioning`). A switch takes `=false` to turn it off; a text setting
/// takes `""` to clear it.
#[derive(clap::Args, Debug)]
pub struct TenantFlags {
    /// Write the whole tenant from the flags given (the others take their defaults).
    #[arg(long)]
    replace: bool,
    /// `sandbox` or `production`.
    #[arg(long, value_parser = ["sandbox", "production"])]
    environment: Option<String>,
    /// The realm its users live in (`tenant-a`).
    #[arg(long)]
    realm: Option<String>,
    /// An embedded-app client it may use (`app.example.com`; repeatable; replaces the list).
    #[arg(long = "client")]
    clients: Vec<String>,
    /// `existing_only` (only users the realm has) or `create` (the broker makes them).
    #[arg(long, value_parser = ["existing_only", "create"])]
    provisioning: Option<String>,
    /// The parent tenant's id (`acme`), for a sub-tenant.
    #[arg(long)]
    parent: Option<String>,
    /// Let the parent's credentials act for this sub-tenant (`=false` to stop).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    parent_may_act: Option<bool>,
    /// The longest embed session, in seconds (`14400`, the default, is 4 hours).
    #[arg(long)]
    max_session_secs: Option<u64>,
    /// Allow HS256 shared-secret keys (`=false` to stop).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    allow_hs256: Option<bool>,
    /// Let the tenant's hosts vouch for their users' emails: an email they send then
    /// selects an existing realm user and grants ACL roles (the host can log in as any
    /// user of the realm; `=false` to stop).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    hosts_vouch_for_emails: Option<bool>,
    /// Where the host publishes its signing keys, a JWKS URL (`https://crm.example.com/.well-known/jwks.json`).
    #[arg(long)]
    jwks_url: Option<String>,
    /// The alias of the realm's identity provider that trusts the broker's assertions (`authproxy`).
    #[arg(long)]
    assertion_grant_idp: Option<String>,
    /// The embedded app's page for embeds and links without a resource (`https://app.example.com/`).
    #[arg(long)]
    app_url: Option<String>,
    /// A path of `--app-url`'s origin a login link may land on (`/reports`; repeatable; replaces the list).
    #[arg(long = "link-path")]
    link_paths: Vec<String>,
    /// Which session wins when a registration (or user) already has one: `terminate_oldest` (the default) or `deny_new`.
    #[arg(long, value_parser = ["terminate_oldest", "deny_new"])]
    session_policy: Option<String>,
    /// Each user, too, has one session at a time (`=false` to stop).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    one_session_per_user: Option<bool>,
    /// A JSON file of the tenant's third-party SSO: `{"host_origin",
    /// "providers": [{"name", "kind", ...}]}` (as in the admin API).
    #[arg(long)]
    sso_file: Option<PathBuf>,
}

impl TenantFlags {
    /// The settings the flags name, as the admin API's JSON (`embeds` as its
    /// own object of the named settings).
    fn named(self) -> Result<(bool, Map<String, Value>), CliError> {
        for p in &self.link_paths {
            LinkPath::parse(p).map_err(|e| CliError::Input(format!("--link-path {p}: {e}")))?;
        }
        // `""` clears a text setting.
        let text = |v: Option<String>| {
            v.map(|v| {
                if v.is_empty() {
                    Value::Null
                } else {
                    Value::String(v)
                }
            })
        };
        let mut top = Map::new();
        let mut embeds = Map::new();
        let lists = |v: Vec<String>| (!v.is_empty()).then(|| Value::from(v));
        for (name, value) in [
            ("environment", self.environment.map(Value::from)),
            ("realm", self.realm.map(Value::from)),
            ("clients", lists(self.clients)),
            ("provisioning", self.provisioning.map(Value::from)),
            ("parent", text(self.parent)),
            ("parent_may_act", self.parent_may_act.map(Value::from)),
            ("max_session_secs", self.max_session_secs.map(Value::from)),
            ("allow_hs256", self.allow_hs256.map(Value::from)),
            (
                "hosts_vouch_for_emails",
                self.hosts_vouch_for_emails.map(Value::from),
            ),
            ("jwks_url", text(self.jwks_url)),
            ("assertion_grant_idp", text(self.assertion_grant_idp)),
        ] {
            if let Some(value) = value {
                top.insert(name.into(), value);
            }
        }
        for (name, value) in [
            ("app_url", text(self.app_url)),
            ("link_paths", lists(self.link_paths)),
            ("session_policy", self.session_policy.map(Value::from)),
            (
                "one_session_per_user",
                self.one_session_per_user.map(Value::from),
            ),
        ] {
            if let Some(value) = value {
                embeds.insert(name.into(), value);
            }
        }
        if !embeds.is_empty() {
            top.insert("embeds".into(), Value::Object(embeds));
        }
        if let Some(path) = &self.sso_file {
            let sso = sso_settings(Some(path))?;
            top.insert(
                "sso".into(),
                serde_json::to_value(sso).map_err(|e| CliError::Input(e.to_string()))?,
            );
        }
        Ok((self.replace, top))
    }
}

/// `named` written over `current` (the tenant as it is, without its id): the
/// tenant to put, and the names of the settings that change.
fn merged(
    current: Option<Map<String, Value>>,
    named: Map<String, Value>,
) -> (Map<String, Value>, Vec<String>) {
    let before = current.unwrap_or_default();
    let mut after = before.clone();
    for (name, value) in named {
        match (after.get_mut(&name), value) {
            (Some(Value::Object(kept)), Value::Object(given)) if name == "embeds" => {
                kept.extend(given);
            }
            (_, value) => {
                after.insert(name, value);
            }
        }
    }
    let mut changed: Vec<String> = Vec::new();
    for (name, value) in &after {
        match (before.get(name), value) {
            (Some(Value::Object(old)), Value::Object(new)) => changed.extend(
                new.iter()
                    .filter(|(k, v)| old.get(*k) != Some(*v))
                    .map(|(k, _)| format!("{name}.{k}")),
            ),
            (old, new) if old != Some(new) => changed.push(name.clone()),
            _ => {}
        }
    }
    (after, changed)
}

/// `authproxy tenants ...`.
pub async fn tenants(config: &ConfigFile, command: TenantsCommand) -> ExitCode {
    finish(
        async {
            let backend = Backend::open(config).await?;
            let out = config.output;
            match command {
                TenantsCommand::List => {
                    print::list(out, &backend.run(Op::ListTenants).await?, tenant_line);
                }
                TenantsCommand::Put { tenant_id, settings } => {
                    let (replace, named) = settings.named()?;
                    let current = if replace {
                        None
                    } else {
                        current_tenant(&backend, &tenant_id).await?
                    };
                    let exists = current.is_some();
                    let (tenant, changed) = merged(current, named);
                    let input: TenantInput = serde_json::from_value(Value::Object(tenant)).map_err(|e| {
                        CliError::Input(if exists {
                            format!("the tenant's settings: {e}")
                        } else {
                            format!("a new tenant (or --replace) needs --environment, --realm, --client and --provisioning ({e})")
                        })
                    })?;
                    let view = backend
                        .run(Op::PutTenant(tenant_id, Box::new(input)))
                        .await?;
                    let id = print::text(print::get(&view, "tenant_id"));
                    let summary = match (exists, changed.is_empty()) {
                        (false, _) => format!("created tenant {id}"),
                        (true, true) => format!("tenant {id}: nothing changed"),
                        (true, false) => format!("tenant {id}: changed {}", changed.join(", ")),
                    };
                    print::done(out, &view, &summary);
                }
                TenantsCommand::Remove { tenant_id } => {
                    backend.run(Op::DeleteTenant(tenant_id.clone())).await?;
                    print::done(out, &Value::Null, &format!("removed tenant {tenant_id}"));
                }
                TenantsCommand::Keys { tenant_id, command } => {
                    host_keys::keys(&backend, out, tenant_id, command).await?;
                }
                TenantsCommand::ApiKeys { tenant_id, command } => {
                    api_keys::api_keys(&backend, out, tenant_id, command).await?;
                }
                TenantsCommand::Providers { tenant_id, command } => {
                    super::providers::providers(&backend, out, tenant_id, command).await?;
                }
                TenantsCommand::Resources { tenant_id, command } => {
                    super::resources::resources(&backend, out, tenant_id, command).await?;
                }
            }
            Ok(())
        }
        .await,
    )
}

/// A line of `tenants list`: id, environment, realm, clients, provisioning,
/// parent.
fn tenant_line(view: &Value) -> String {
    format!(
        "{}\t{}\trealm={}\tclients={}\tprovisioning={}\tparent={}",
        print::text(print::get(view, "tenant_id")),
        print::text(print::get(view, "environment")),
        print::or_dash(print::get(view, "realm")),
        print::join(print::get(view, "clients")),
        print::or_dash(print::get(view, "provisioning")),
        print::or_dash(print::get(view, "parent"))
    )
}
