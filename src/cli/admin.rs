//! The administrative commands: the CLI face of the admin API. They open the
//! same store, validate through the same operations, and record each change in
//! the audit trail as `cli:<user>`. A running service picks changes up within a
//! second.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;
use secrecy::SecretString;

use crate::admin::ops::{self, CallerInput, PolicyInput};
use crate::admin::sync::sync_clients;
use crate::auth;
use crate::clock::{Clock as _, SystemClock};
use crate::config::Config;
use crate::domain::{CallerId, ClientAuth, ClientId, FieldProblem, RealmName};
use crate::idp::oidc::OidcProvider;
use crate::registry::Registry;
use crate::registry::input::{ClientInput, ClientView, RealmInput, RealmView};
use crate::store::sqlite::SqliteStore;
use crate::store::{AccessStore as _, AuditLog, DirectoryStore as _, RegistryStore};

#[derive(Debug, Subcommand)]
pub enum ClientsCommand {
    /// List registered clients.
    List,
    /// Register a client: `clients add crm.example.com --origin https://crm.example.com --realm tenant-a`.
    Add {
        client_id: String,
        #[arg(long = "origin", required = true)]
        origins: Vec<String>,
        #[arg(long = "realm", required = true)]
        realms: Vec<String>,
        /// For a confidential client in the realm.
        #[arg(long)]
        secret: Option<String>,
    },
    /// Remove a client.
    Remove { client_id: String },
    /// Make every client exist in its Keycloak realms (never deletes).
    Sync {
        #[arg(long)]
        realm: Option<String>,
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum RealmsCommand {
    /// List realms.
    List,
    /// Add or replace a realm.
    Put {
        name: String,
        #[arg(long)]
        authority: String,
        #[arg(long = "scope")]
        extra_scopes: Vec<String>,
        #[arg(long)]
        broker_client_id: Option<String>,
        #[arg(long)]
        broker_client_secret: Option<String>,
        /// How client secrets reach the realm's token endpoint.
        #[arg(long, default_value = "client_secret_basic", value_parser = ["client_secret_basic", "client_secret_post"])]
        token_endpoint_auth_method: String,
    },
    /// Remove a realm no client uses.
    Remove { name: String },
}

#[derive(Debug, Subcommand)]
pub enum CallersCommand {
    /// List impersonation callers.
    List,
    /// Create a caller; prints its secret once.
    Add {
        caller_id: String,
        #[arg(long = "realm", required = true)]
        realms: Vec<String>,
        /// Every user of this realm (repeatable).
        #[arg(long = "all-users-of")]
        all_users_of: Vec<String>,
        /// Every user of this email domain (repeatable).
        #[arg(long = "domain")]
        domains: Vec<String>,
        /// One user (repeatable).
        #[arg(long = "user")]
        users: Vec<String>,
        /// An allowed `audience` (repeatable).
        #[arg(long = "audience")]
        audiences: Vec<String>,
        #[arg(long, default_value_t = 300)]
        max_lifetime: u64,
        #[arg(long, default_value_t = 60)]
        rate: u32,
        #[arg(long, default_value_t = 10)]
        burst: u32,
    },
    /// Remove a caller.
    Remove { caller_id: String },
}

/// What the commands work on.
struct Context {
    store: Arc<SqliteStore>,
    registry: Registry,
    config: Config,
    actor: String,
}

impl Context {
    async fn open(path: &Path) -> Result<Self, String> {
        let config = Config::load(path).map_err(|e| e.to_string())?;
        let store = Arc::new(
            SqliteStore::open_with_key(&config.sqlite_path, config.sealing_key.as_ref())
                .map_err(|e| e.to_string())?,
        );
        crate::registry::seed(store.as_ref(), &config.realms, &config.clients)
            .await
            .map_err(|e| e.to_string())?;
        let registry = Registry::load(Arc::clone(&store) as Arc<dyn RegistryStore>)
            .await
            .map_err(|e| e.to_string())?;
        let actor = format!(
            "cli:{}",
            std::env::var("USER").unwrap_or_else(|_| "unknown".into())
        );
        Ok(Self {
            store,
            registry,
            config,
            actor,
        })
    }

    async fn record(&self, action: &str, subject: &str) -> Result<(), String> {
        ops::record(
            self.store.as_ref(),
            &self.actor,
            action,
            subject,
            SystemClock.now(),
        )
        .await
        .map_err(|e| e.to_string())
    }
}

fn invalid(problems: &[FieldProblem]) -> String {
    let lines: Vec<String> = problems
        .iter()
        .map(|p| format!("  - {}: {}", p.path, p.message))
        .collect();
    format!("invalid input:\n{}", lines.join("\n"))
}

fn finish(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("authproxy: {message}");
            ExitCode::FAILURE
        }
    }
}

pub async fn create_token(config: &Path, label: &str) -> ExitCode {
    finish(
        async {
            let ctx = Context::open(config).await?;
            let (token, hash) = auth::admin::new_token().map_err(|e| e.to_string())?;
            ctx.store
                .put_admin_token(hash, label, SystemClock.now())
                .await
                .map_err(|e| e.to_string())?;
            ctx.record("admin.token.create", label).await?;
            println!("{token}");
            eprintln!("This admin token is shown once; the store keeps only its hash.");
            Ok(())
        }
        .await,
    )
}

pub async fn clients(config: &Path, command: ClientsCommand) -> ExitCode {
    finish(
        async {
            let ctx = Context::open(config).await?;
            match command {
                ClientsCommand::List => {
                    for client in ctx.registry.snapshot().clients.values() {
                        let view = ClientView::from(client);
                        println!(
                            "{}\trealms={}\torigins={}",
                            view.client_id,
                            view.realms.join(","),
                            view.origins.join(",")
                        );
                    }
                }
                ClientsCommand::Add {
                    client_id,
                    origins,
                    realms,
                    secret,
                } => {
                    let input = ClientInput {
                        client_id,
                        realms,
                        origins,
                        client_secret: secret.map(SecretString::from),
                    };
                    let client = input
                        .validate(&ctx.registry.snapshot())
                        .map_err(|p| invalid(&p))?;
                    ctx.registry
                        .put_client(&client)
                        .await
                        .map_err(|e| e.to_string())?;
                    ctx.record("client.create", client.id.as_str()).await?;
                    println!("registered client {}", client.id);
                }
                ClientsCommand::Remove { client_id } => {
                    let id = ClientId::parse(&client_id).map_err(|e| e.to_string())?;
                    if !ctx
                        .registry
                        .delete_client(&id)
                        .await
                        .map_err(|e| e.to_string())?
                    {
                        return Err(format!("no client {id}"));
                    }
                    ctx.record("client.delete", id.as_str()).await?;
                    println!("removed client {id}");
                }
                ClientsCommand::Sync { realm, dry_run } => {
                    let realm = realm
                        .map(|r| RealmName::parse(&r))
                        .transpose()
                        .map_err(|e| e.to_string())?;
                    let idp = OidcProvider::new(Arc::new(SystemClock), ctx.config.idp_timeout)
                        .map_err(|e| e.to_string())?;
                    let changes = sync_clients(
                        &idp,
                        &ctx.registry.snapshot(),
                        &ctx.config.public_url,
                        realm.as_ref(),
                        dry_run,
                    )
                    .await
                    .map_err(|e| e.to_string())?;
                    for change in &changes {
                        println!(
                            "{}/{}: {}{}",
                            change.realm,
                            change.client_id,
                            change.action,
                            if dry_run && change.action != "unchanged" {
                                " (dry run)"
                            } else {
                                ""
                            }
                        );
                        for line in &change.diff {
                            println!("    {line}");
                        }
                        if !dry_run && change.action != "unchanged" {
                            ctx.record(
                                &format!("keycloak.client.{}", change.action),
                                &format!("{}/{}", change.realm, change.client_id),
                            )
                            .await?;
                        }
                    }
                    if changes.iter().all(|c| c.action == "unchanged") {
                        println!("no differences");
                    }
                }
            }
            Ok(())
        }
        .await,
    )
}

pub async fn realms(config: &Path, command: RealmsCommand) -> ExitCode {
    finish(
        async {
            let ctx = Context::open(config).await?;
            match command {
                RealmsCommand::List => {
                    for realm in ctx.registry.snapshot().realms.values() {
                        let view = RealmView::from(realm);
                        println!(
                            "{}\t{}\tbroker_client={}",
                            view.name,
                            view.authority,
                            view.broker_client_id.as_deref().unwrap_or("-")
                        );
                    }
                }
                RealmsCommand::Put {
                    name,
                    authority,
                    extra_scopes,
                    broker_client_id,
                    broker_client_secret,
                    token_endpoint_auth_method,
                } => {
                    let input = RealmInput {
                        name,
                        authority,
                        extra_scopes,
                        broker_client_id,
                        broker_client_secret: broker_client_secret.map(SecretString::from),
                        token_endpoint_auth_method: ClientAuth::parse(&token_endpoint_auth_method)?,
                    };
                    let realm = input.validate().map_err(|p| invalid(&p))?;
                    ctx.registry
                        .put_realm(&realm)
                        .await
                        .map_err(|e| e.to_string())?;
                    ctx.record("realm.put", realm.name.as_str()).await?;
                    println!("realm {} saved", realm.name);
                }
                RealmsCommand::Remove { name } => {
                    let name = RealmName::parse(&name).map_err(|e| e.to_string())?;
                    if let Some(client) = ctx
                        .registry
                        .snapshot()
                        .clients
                        .values()
                        .find(|c| c.allows_realm(&name))
                    {
                        return Err(format!(
                            "client {} uses realm {name}: change it first",
                            client.id
                        ));
                    }
                    if !ctx
                        .registry
                        .delete_realm(&name)
                        .await
                        .map_err(|e| e.to_string())?
                    {
                        return Err(format!("no realm {name}"));
                    }
                    ctx.record("realm.delete", name.as_str()).await?;
                    println!("removed realm {name}");
                }
            }
            Ok(())
        }
        .await,
    )
}

pub async fn callers(config: &Path, command: CallersCommand) -> ExitCode {
    finish(async {
        let ctx = Context::open(config).await?;
        match command {
            CallersCommand::List => {
                for caller in ctx.store.callers().await.map_err(|e| e.to_string())? {
                    let p = PolicyInput::from(&caller.policy);
                    println!(
                        "{}\trealms={}\tall_users_of={}\tdomains={}\tusers={}\taudiences={}\tmax_lifetime={}s\trate={}/min burst={}",
                        caller.id, p.realms.join(","), p.all_users_of.join(","), p.domains.join(","), p.users.join(","),
                        p.audiences.join(","), p.max_lifetime_secs, p.rate_per_minute, p.burst
                    );
                }
            }
            CallersCommand::Add { caller_id, realms, all_users_of, domains, users, audiences, max_lifetime, rate, burst } => {
                let input = CallerInput {
                    caller_id,
                    policy: PolicyInput { realms, all_users_of, domains, users, audiences, max_lifetime_secs: max_lifetime, rate_per_minute: rate, burst },
                };
                let (id, policy) = input.validate(&ctx.registry.snapshot()).map_err(|p| invalid(&p))?;
                if ctx.store.caller(&id).await.map_err(|e| e.to_string())?.is_some() {
                    return Err(format!("caller {id} exists"));
                }
                let view = ops::create_caller(ctx.store.as_ref(), id.clone(), policy, SystemClock.now()).await.map_err(|e| e.to_string())?;
                ctx.record("caller.create", id.as_str()).await?;
                println!("{}", view.secret.unwrap_or_default());
                eprintln!("Caller {id} created. Its secret (above) is shown once; the store keeps only an Argon2id hash.");
            }
            CallersCommand::Remove { caller_id } => {
                let id = CallerId::parse(&caller_id).map_err(|e| e.to_string())?;
                if !ctx.store.delete_caller(&id).await.map_err(|e| e.to_string())? {
                    return Err(format!("no caller {id}"));
                }
                ctx.record("caller.delete", id.as_str()).await?;
                println!("removed caller {id}");
            }
        }
        Ok(())
    }
    .await)
}

pub async fn export_directory(config: &Path, output: Option<&Path>) -> ExitCode {
    finish(
        async {
            let ctx = Context::open(config).await?;
            let csv = ctx.store.export_csv().await.map_err(|e| e.to_string())?;
            match output {
                Some(path) => {
                    std::fs::write(path, csv).map_err(|e| format!("{}: {e}", path.display()))?;
                }
                None => print!("{csv}"),
            }
            Ok(())
        }
        .await,
    )
}

pub async fn audit(
    config: &Path,
    since: Option<chrono::DateTime<chrono::Utc>>,
    caller: Option<&str>,
    json: bool,
) -> ExitCode {
    finish(
        async {
            let ctx = Context::open(config).await?;
            let actor = caller.map(|c| format!("caller:{c}"));
            let rows = AuditLog::audit_since(ctx.store.as_ref(), since, actor.as_deref(), u32::MAX)
                .await
                .map_err(|e| e.to_string())?;
            for row in rows {
                if json {
                    println!(
                        "{}",
                        serde_json::to_string(&row).map_err(|e| e.to_string())?
                    );
                } else {
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}",
                        row.at.to_rfc3339(),
                        row.actor,
                        row.action,
                        row.subject.as_deref().unwrap_or("-"),
                        row.outcome,
                        row.reason.as_deref().unwrap_or("")
                    );
                }
            }
            Ok(())
        }
        .await,
    )
}
