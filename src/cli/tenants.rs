//! `authproxy tenants ...`: tenants, their signing keys and their API keys, through
//! the same operations as `/admin/api/tenants` (and the same audit rows).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use serde_json::{Map, Value};

use super::ConfigFile;
use super::backend::{Backend, Op};
use super::context::{CliError, finish, open_context, read};
use super::print::{self, Output};
use crate::admin::ops::tenants::{ApiKeyInput, HostKeyInput, TenantInput};
use crate::auth::signing::BrokerKeys;
use crate::domain::{LinkPath, Operation};

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
        command: KeysCommand,
    },
    /// A tenant's API keys.
    ApiKeys {
        /// The tenant's id.
        tenant_id: String,
        #[command(subcommand)]
        /// What to do.
        command: ApiKeysCommand,
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

#[derive(Debug, Subcommand)]
/// `authproxy signing-keys ...`.
pub enum SigningKeysCommand {
    /// List the broker's signing keys (newest first: it signs).
    List,
    /// Make a new signing key, which signs from now on (running replicas pick it
    /// up within a minute); keys replaced more than two days ago are retired.
    Rotate,
}

#[derive(Debug, Subcommand)]
/// `authproxy tenants keys TENANT ...`.
pub enum KeysCommand {
    /// List the keys.
    List,
    /// Register a key: a public JWK file, a pair made here (`--generate`, prints
    /// the private JWK once) or an HS256 secret file.
    Add {
        /// The `kid`.
        kid: String,
        /// A file holding the public JWK (`key.jwk.json`; `-` reads standard input).
        #[arg(long, conflicts_with_all = ["generate", "secret_file"])]
        jwk_file: Option<PathBuf>,
        /// Make an ES256 pair.
        #[arg(long)]
        generate: bool,
        /// A file holding an HS256 secret (base64url, 32 bytes or more).
        #[arg(long)]
        secret_file: Option<PathBuf>,
        /// The key may sign for sub-tenants that grant it.
        #[arg(long)]
        for_subtenants: bool,
    },
    /// Revoke a key, at once.
    Revoke {
        /// The `kid`.
        kid: String,
    },
}

#[derive(Debug, Subcommand)]
/// `authproxy tenants api-keys TENANT ...`.
pub enum ApiKeysCommand {
    /// List the API keys.
    List,
    /// Make an API key; prints the credential once.
    Create {
        /// An operation it may call (repeatable): mint_tokens, logout, update_users,
        /// debug, create_embeds, manage_resources, manage_registrations, create_links,
        /// exchange_sso_codes.
        #[arg(long = "operation", required = true, value_parser = ["mint_tokens", "logout", "update_users", "debug", "create_embeds", "manage_resources", "manage_registrations", "create_links", "exchange_sso_codes"])]
        operations: Vec<String>,
        /// It may act for sub-tenants that grant it.
        #[arg(long)]
        for_subtenants: bool,
        /// Days until it stops working (`90`).
        #[arg(long)]
        expires_in_days: Option<u32>,
        /// Requests per minute (`60`).
        #[arg(long, default_value_t = 600)]
        rate_per_minute: u32,
    },
    /// Revoke an API key, at once.
    Revoke {
        /// The key's id.
        key_id: String,
    },
}

/// Listings change nothing, so they record no actor.
fn operation(raw: &str) -> Result<Operation, CliError> {
    serde_json::from_value(serde_json::Value::String(raw.to_owned()))
        .map_err(|_| CliError::Input(format!("--operation {raw}: not an operation")))
}

/// The tenant's third-party SSO from `--sso-file` (none without it).
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
                    print::list(out, &backend.run(Op::ListTenants).await?, Value::to_string);
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
                    keys(&backend, out, tenant_id, command).await?;
                }
                TenantsCommand::ApiKeys { tenant_id, command } => {
                    api_keys(&backend, out, tenant_id, command).await?;
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

async fn keys(
    backend: &Backend,
    out: Output,
    tenant_id: String,
    command: KeysCommand,
) -> Result<(), CliError> {
    match command {
        KeysCommand::List => {
            print::list(
                out,
                &backend.run(Op::ListHostKeys(tenant_id)).await?,
                Value::to_string,
            );
        }
        KeysCommand::Add {
            kid,
            jwk_file,
            generate,
            secret_file,
            for_subtenants,
        } => {
            let jwk = jwk_file
                .as_ref()
                .map(|path| {
                    serde_json::from_str(&read(path)?)
                        .map_err(|e| CliError::Input(format!("{}: not JSON ({e})", path.display())))
                })
                .transpose()?;
            let secret = secret_file.as_deref().map(read).transpose()?;
            let input = HostKeyInput {
                kid,
                jwk,
                generate,
                secret,
                for_subtenants,
            };
            let view = backend.run(Op::AddHostKey(tenant_id, input)).await?;
            if print::get(&view, "private_jwk").is_object() {
                print::secret(
                    out,
                    &view,
                    "private_jwk",
                    &format!(
                        "Key {} made. Its private JWK (above) is shown once: give it to the host's backend.",
                        print::text(print::get(&view, "kid"))
                    ),
                );
            } else {
                print::done(
                    out,
                    &view,
                    &format!(
                        "registered key {} ({})",
                        print::text(print::get(&view, "kid")),
                        print::text(print::get(&view, "alg"))
                    ),
                );
            }
        }
        KeysCommand::Revoke { kid } => {
            let message = format!("revoked key {kid} of tenant {tenant_id}");
            let view = backend.run(Op::RevokeHostKey(tenant_id, kid)).await?;
            print::done(out, &view, &message);
        }
    }
    Ok(())
}

async fn api_keys(
    backend: &Backend,
    out: Output,
    tenant_id: String,
    command: ApiKeysCommand,
) -> Result<(), CliError> {
    match command {
        ApiKeysCommand::List => {
            print::list(
                out,
                &backend.run(Op::ListApiKeys(tenant_id)).await?,
                Value::to_string,
            );
        }
        ApiKeysCommand::Create {
            operations,
            for_subtenants,
            expires_in_days,
            rate_per_minute,
        } => {
            let input = ApiKeyInput {
                operations: operations
                    .iter()
                    .map(|o| operation(o))
                    .collect::<Result<_, _>>()?,
                for_subtenants,
                expires_in_days,
                rate_per_minute,
            };
            let view = backend.run(Op::CreateApiKey(tenant_id, input)).await?;
            print::secret(
                out,
                &view,
                "credential",
                &format!(
                    "API key {} made. Its credential (above) is shown once; the store keeps only a SHA-256.",
                    print::text(print::get(&view, "key_id"))
                ),
            );
        }
        ApiKeysCommand::Revoke { key_id } => {
            let message = format!("revoked API key {key_id}");
            let view = backend.run(Op::RevokeApiKey(tenant_id, key_id)).await?;
            print::done(out, &view, &message);
        }
    }
    Ok(())
}

/// `authproxy signing-keys ...`.
pub async fn signing_keys(config: &ConfigFile, command: SigningKeysCommand) -> ExitCode {
    finish(
        async {
            let ctx = open_context(config).await?;
            let now = crate::clock::Clock::now(&crate::clock::SystemClock);
            let keys = BrokerKeys::load(std::sync::Arc::clone(&ctx.store), ctx.public_url(), now)
                .await
                .map_err(|e| CliError::Input(e.to_string()))?;
            match command {
                SigningKeysCommand::List => {
                    let jwks = keys.jwks();
                    let listed = jwks.get("keys").and_then(serde_json::Value::as_array);
                    for key in listed.into_iter().flatten() {
                        println!("{}", key.get("kid").and_then(serde_json::Value::as_str).unwrap_or_default());
                    }
                }
                SigningKeysCommand::Rotate => {
                    let actor = ctx.actor()?;
                    let kid = keys
                        .rotate(now)
                        .await
                        .map_err(|e| CliError::Input(e.to_string()))?;
                    ctx.store
                        .append(&crate::store::AuditEntry {
                            at: now,
                            actor,
                            action: "signing_key.rotate".into(),
                            subject: Some(kid.clone()),
                            outcome: crate::store::AuditOutcome::Changed,
                            ..crate::store::AuditEntry::default()
                        })
                        .await?;
                    println!("{kid}");
                    eprintln!("The new key signs from now on; the previous one verifies for two more days.");
                }
            }
            Ok(())
        }
        .await,
    )
}
