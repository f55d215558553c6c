//! The administrative commands: the CLI face of the admin API. They open the
//! same store, validate through the same operations, and record each change in
//! the audit trail as `cli:<user>`. A running service picks changes up within a
//! second.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;
use secrecy::SecretString;

use super::ConfigFile;
use crate::admin::ops::{CallerInput, ClientChange, Operator, OpsError, PolicyInput};
use crate::clock::SystemClock;
use crate::config::Config;
use crate::domain::{ClientAuth, FieldProblem};
use crate::idp::IdentityProvider;
use crate::idp::admin_rest::AdminRest;
use crate::idp::http::RealmHttp;
use crate::idp::oidc::OidcProvider;
use crate::registry::input::{ClientInput, ClientView, RealmInput, RealmView};
use crate::registry::{Managed, Registry};

use crate::store::{AuditLog, DurableStore, RegistryStore, StoreError};

/// A whole client, as `clients add` and `clients replace` take it.
#[derive(Debug, clap::Args)]
pub struct ClientArgs {
    /// The application's host, lowercase, optional port (`crm.example.com`).
    client_id: String,
    /// An exact origin of its pages (`https://crm.example.com`); repeat for more.
    #[arg(long = "origin", required = true)]
    origins: Vec<String>,
    /// A realm its users belong to; repeat for more.
    #[arg(long = "realm", required = true)]
    realms: Vec<String>,
    /// For a confidential client in the realm: a file holding its secret (`-` reads
    /// standard input). Secrets are never taken as arguments, which other users of
    /// the machine can read.
    #[arg(long, value_name = "FILE")]
    secret_file: Option<std::path::PathBuf>,
}

impl ClientArgs {
    fn input(self) -> Result<ClientInput, CliError> {
        Ok(ClientInput {
            client_id: self.client_id,
            realms: self.realms,
            origins: self.origins,
            client_secret: self.secret_file.as_deref().map(read_secret).transpose()?,
        })
    }
}

/// A secret from a file, or from standard input for `-`; one trailing newline is
/// dropped, an empty secret refused.
fn read_secret(path: &std::path::Path) -> Result<SecretString, CliError> {
    let mut text = if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map_err(|e| CliError::Input(format!("standard input: {e}")))?;
        text
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?
    };
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    if text.is_empty() {
        return Err(CliError::Input(format!(
            "{}: the secret is empty",
            path.display()
        )));
    }
    Ok(SecretString::from(text))
}

#[derive(Debug, Subcommand)]
/// `authproxy clients ...`.
pub enum ClientsCommand {
    /// List registered clients.
    List,
    /// Register a new client (an existing one is never overwritten):
    /// `clients add crm.example.com --origin https://crm.example.com --realm tenant-a`.
    Add(ClientArgs),
    /// Replace a client as a whole (it must exist).
    Replace(ClientArgs),
    /// Add or remove origins and realms of a client, keeping the rest:
    /// `clients update crm.example.com --add-origin https://new.example.com`.
    Update {
        /// The client's id (the web app's FQDN).
        client_id: String,
        #[arg(long = "add-origin")]
        /// An origin to add (repeatable).
        add_origins: Vec<String>,
        #[arg(long = "remove-origin")]
        /// An origin to remove (repeatable).
        remove_origins: Vec<String>,
        #[arg(long = "add-realm")]
        /// A realm to add (repeatable).
        add_realms: Vec<String>,
        #[arg(long = "remove-realm")]
        /// A realm to remove (repeatable).
        remove_realms: Vec<String>,
    },
    /// Remove a client.
    Remove {
        /// The client's id.
        client_id: String,
    },
    /// Make every client exist in its Keycloak realms (never deletes).
    Sync {
        #[arg(long)]
        /// Only this realm.
        realm: Option<String>,
        #[arg(long)]
        /// Show what would change without changing it.
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
/// `authproxy realms ...`.
pub enum RealmsCommand {
    /// List realms.
    List,
    /// Add or replace a realm.
    Put {
        /// The realm's name.
        name: String,
        #[arg(long)]
        /// The realm's issuer URL (`https://HOST/realms/NAME`).
        authority: String,
        #[arg(long = "scope")]
        /// A scope to request besides `openid` (repeatable).
        extra_scopes: Vec<String>,
        #[arg(long)]
        /// The broker's confidential client in this realm (impersonation, provisioning).
        broker_client_id: Option<String>,
        #[arg(long, value_name = "FILE")]
        /// A file holding that client's secret (`-` reads standard input); never an
        /// argument, which other users of the machine can read.
        broker_client_secret_file: Option<std::path::PathBuf>,
        /// How client secrets reach the realm's token endpoint.
        #[arg(long, default_value = "client_secret_basic", value_parser = ["client_secret_basic", "client_secret_post"])]
        token_endpoint_auth_method: String,
        #[arg(long)]
        /// Save without first asking the realm for its metadata.
        no_check: bool,
    },
    /// Remove a realm no client uses.
    Remove {
        /// The realm's name.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
/// `authproxy callers ...`.
pub enum CallersCommand {
    /// List impersonation callers.
    List,
    /// Create a caller; prints its secret once.
    Add {
        /// The caller's id.
        caller_id: String,
        #[command(flatten)]
        /// What the caller may do.
        policy: PolicyArgs,
    },
    /// Replace a caller's policy (its secret stays).
    Policy {
        /// The caller's id.
        caller_id: String,
        #[command(flatten)]
        /// What the caller may do.
        policy: PolicyArgs,
    },
    /// Remove a caller.
    Remove {
        /// The caller's id.
        caller_id: String,
    },
}

/// A caller's policy, as `callers add` and `callers policy` take it.
#[derive(Debug, clap::Args)]
pub struct PolicyArgs {
    /// A realm the caller may act in (repeatable).
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
    /// Longest token lifetime, in seconds.
    #[arg(long, default_value_t = 300)]
    max_lifetime: u64,
    /// Sustained requests per minute.
    #[arg(long, default_value_t = 60)]
    rate: u32,
    /// Burst above the sustained rate.
    #[arg(long, default_value_t = 10)]
    burst: u32,
}

impl From<PolicyArgs> for PolicyInput {
    fn from(a: PolicyArgs) -> Self {
        Self {
            realms: a.realms,
            all_users_of: a.all_users_of,
            domains: a.domains,
            users: a.users,
            audiences: a.audiences,
            max_lifetime_secs: a.max_lifetime,
            rate_per_minute: a.rate,
            burst: a.burst,
        }
    }
}

/// Why a command failed; each surface of the operations layer renders its errors.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    /// The configuration does not load.
    Config(#[from] crate::config::ConfigError),
    #[error("{0}")]
    /// The store failed.
    Store(#[from] StoreError),
    #[error("{0}")]
    /// The operation was refused or failed.
    Ops(#[from] OpsError),
    #[error(
        "say who makes this change: --actor NAME (or AUTHPROXY_ACTOR); the audit trail records it"
    )]
    /// A change without `--actor`.
    NoActor,
    #[error("{0}")]
    /// A bad argument or file.
    Input(String),
    #[error("{0}")]
    /// A realm failed.
    Realm(#[from] crate::idp::IdpError),
}

impl From<String> for CliError {
    fn from(message: String) -> Self {
        Self::Input(message)
    }
}

/// Opens the store and the registry as every command does.
pub(super) async fn open_context(file: &ConfigFile) -> Result<Context, CliError> {
    Context::open(file).await
}

/// What the commands work on.
pub(super) struct Context {
    pub(super) store: Arc<dyn DurableStore>,
    pub(super) registry: Registry,
    config: Config,
    managed: Managed,
    actor: Option<String>,
}

impl Context {
    async fn open(file: &ConfigFile) -> Result<Self, CliError> {
        let config = Config::load(&file.path)?;
        let clock: Arc<dyn crate::clock::Clock> = Arc::new(SystemClock);
        let (store, _) = config.store.open_durable(&clock).await?;
        // The file's entries, as `serve` applies them: the file owns them, so
        // writing them again changes nothing made elsewhere.
        crate::registry::seed(store.as_ref(), &config.realms, &config.clients).await?;
        crate::store::tenants::TenantStore::seed_tenants(
            store.as_ref(),
            &config.tenants,
            crate::clock::Clock::now(&SystemClock),
        )
        .await?;
        let registry = Registry::load(Arc::clone(&store) as Arc<dyn RegistryStore>).await?;
        Ok(Self {
            store,
            registry,
            managed: Managed::of(&config.realms, &config.clients).with_tenants(&config.tenants),
            config,
            actor: file.actor.clone().filter(|a| !a.trim().is_empty()),
        })
    }

    /// The broker's public URL (the issuer of its tokens).
    pub(super) fn public_url(&self) -> &str {
        self.config.public_url.as_str()
    }

    /// `cli:<actor>`, for a change; never guessed.
    pub(super) fn actor(&self) -> Result<String, CliError> {
        self.actor
            .as_deref()
            .map(|a| format!("cli:{a}"))
            .ok_or(CliError::NoActor)
    }

    /// Key sets fetched as `serve` fetches them (a provider's connection test).
    pub(super) fn key_sets(&self) -> Result<crate::idp::host_jwks::HostJwks, CliError> {
        let http = crate::idp::http::RealmHttp::new(self.config.idp_timeout)?;
        Ok(crate::idp::host_jwks::HostJwks::new(http))
    }

    /// A realm client as `serve` has, for the checks a command makes.
    pub(super) fn idp(&self) -> Result<Arc<crate::idp::oidc::OidcProvider>, CliError> {
        let http = crate::idp::http::RealmHttp::new(self.config.idp_timeout)?;
        Ok(Arc::new(crate::idp::oidc::OidcProvider::new(
            Arc::new(SystemClock),
            http,
        )))
    }

    pub(super) fn operator<'a>(&'a self, actor: &'a str) -> Operator<'a> {
        Operator {
            registry: &self.registry,
            directory: self.store.as_ref(),
            access: self.store.as_ref(),
            tenants: self.store.as_ref(),
            audit: self.store.as_ref(),
            clock: &SystemClock,
            actor,
            managed: &self.managed,
        }
    }
}

fn invalid(problems: &[FieldProblem]) -> String {
    let lines: Vec<String> = problems
        .iter()
        .map(|p| format!("  - {}: {}", p.path, p.message))
        .collect();
    format!("invalid input:\n{}", lines.join("\n"))
}

pub(super) fn finish(result: Result<(), CliError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Ops(OpsError::Invalid(problems))) => {
            eprintln!("authproxy: {}", invalid(&problems));
            ExitCode::from(2)
        }
        Err(CliError::Ops(err @ OpsError::BadRows(_))) => {
            let OpsError::BadRows(problems) = &err else {
                return ExitCode::FAILURE;
            };
            eprintln!("authproxy: {err}");
            for p in &problems.rows {
                eprintln!("  line {}: {}", p.line, p.message);
            }
            ExitCode::from(2)
        }
        Err(err @ (CliError::NoActor | CliError::Input(_) | CliError::Config(_))) => {
            eprintln!("authproxy: {err}");
            ExitCode::from(2)
        }
        Err(err) => {
            eprintln!("authproxy: {err}");
            ExitCode::FAILURE
        }
    }
}

/// `authproxy admin create-token`.
pub async fn create_token(config: &ConfigFile, label: &str) -> ExitCode {
    finish(
        async {
            let ctx = Context::open(config).await?;
            let actor = ctx.actor()?;
            let token = ctx.operator(&actor).create_admin_token(label).await?;
            println!("{token}");
            eprintln!("This admin token is shown once; the store keeps only its hash.");
            Ok(())
        }
        .await,
    )
}

/// `authproxy clients ...`.
pub async fn clients(config: &ConfigFile, command: ClientsCommand) -> ExitCode {
    finish(
        async {
            let ctx = Context::open(config).await?;
            match command {
                ClientsCommand::List => {
                    let snapshot = ctx.registry.snapshot();
                    let mut clients: Vec<ClientView> =
                        snapshot.clients.values().map(ClientView::from).collect();
                    clients.sort_by(|a, b| a.client_id.cmp(&b.client_id));
                    for view in clients {
                        println!(
                            "{}\trealms={}\torigins={}",
                            view.client_id,
                            view.realms.join(","),
                            view.origins.join(",")
                        );
                    }
                }
                ClientsCommand::Add(args) => {
                    let input = args.input()?;
                    let actor = ctx.actor()?;
                    let client = ctx.operator(&actor).create_client(&input).await?;
                    println!("registered client {}", client.id);
                }
                ClientsCommand::Replace(args) => {
                    let input = args.input()?;
                    let actor = ctx.actor()?;
                    let client = ctx
                        .operator(&actor)
                        .replace_client(&input.client_id, &input)
                        .await?;
                    println!("replaced client {}", client.id);
                }
                ClientsCommand::Update {
                    client_id,
                    add_origins,
                    remove_origins,
                    add_realms,
                    remove_realms,
                } => {
                    let change = ClientChange {
                        add_origins,
                        remove_origins,
                        add_realms,
                        remove_realms,
                    };
                    let actor = ctx.actor()?;
                    let client = ctx
                        .operator(&actor)
                        .update_client(&client_id, &change)
                        .await?;
                    let view = ClientView::from(&client);
                    println!(
                        "updated client {}\trealms={}\torigins={}",
                        view.client_id,
                        view.realms.join(","),
                        view.origins.join(",")
                    );
                }
                ClientsCommand::Remove { client_id } => {
                    let actor = ctx.actor()?;
                    ctx.operator(&actor).delete_client(&client_id).await?;
                    println!("removed client {client_id}");
                }
                ClientsCommand::Sync { realm, dry_run } => sync(&ctx, realm, dry_run).await?,
            }
            Ok(())
        }
        .await,
    )
}

/// `clients sync`: provisions the clients in their Keycloak realms.
async fn sync(ctx: &Context, realm: Option<String>, dry_run: bool) -> Result<(), CliError> {
    // A dry run changes and records nothing, so it needs no actor.
    let actor = if dry_run {
        ctx.actor().unwrap_or_default()
    } else {
        ctx.actor()?
    };
    let http = RealmHttp::new(ctx.config.idp_timeout)?;
    let oidc = Arc::new(OidcProvider::new(Arc::new(SystemClock), http.clone()));
    let idp = AdminRest::new(http, oidc);
    let changes = ctx
        .operator(&actor)
        .sync_clients(&idp, &ctx.config.public_url, realm.as_deref(), dry_run)
        .await?;
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
    }
    if changes.iter().all(|c| c.action == "unchanged") {
        println!("no differences");
    }
    Ok(())
}

/// `authproxy realms ...`.
pub async fn realms(config: &ConfigFile, command: RealmsCommand) -> ExitCode {
    finish(
        async {
            let ctx = Context::open(config).await?;
            match command {
                RealmsCommand::List => {
                    let snapshot = ctx.registry.snapshot();
                    let mut realms: Vec<RealmView> =
                        snapshot.realms.values().map(RealmView::from).collect();
                    realms.sort_by(|a, b| a.name.cmp(&b.name));
                    for view in realms {
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
                    broker_client_secret_file,
                    token_endpoint_auth_method,
                    no_check,
                } => {
                    let input = RealmInput {
                        name,
                        authority,
                        extra_scopes,
                        broker_client_id,
                        broker_client_secret: broker_client_secret_file
                            .as_deref()
                            .map(read_secret)
                            .transpose()?,
                        token_endpoint_auth_method: ClientAuth::parse(&token_endpoint_auth_method)?,
                    };
                    let actor = ctx.actor()?;
                    let idp = if no_check { None } else { Some(ctx.idp()?) };
                    let realm = ctx
                        .operator(&actor)
                        .put_realm(&input, idp.as_deref().map(|i| i as &dyn IdentityProvider))
                        .await?;
                    println!("realm {} saved", realm.name);
                }
                RealmsCommand::Remove { name } => {
                    let actor = ctx.actor()?;
                    ctx.operator(&actor).delete_realm(&name).await?;
                    println!("removed realm {name}");
                }
            }
            Ok(())
        }
        .await,
    )
}

/// `authproxy callers ...`.
pub async fn callers(config: &ConfigFile, command: CallersCommand) -> ExitCode {
    finish(async {
        let ctx = Context::open(config).await?;
        match command {
            CallersCommand::List => {
                for caller in ctx.store.callers().await? {
                    let p = PolicyInput::from(&caller.policy);
                    println!(
                        "{}\trealms={}\tall_users_of={}\tdomains={}\tusers={}\taudiences={}\tmax_lifetime={}s\trate={}/min burst={}",
                        caller.id, p.realms.join(","), p.all_users_of.join(","), p.domains.join(","), p.users.join(","),
                        p.audiences.join(","), p.max_lifetime_secs, p.rate_per_minute, p.burst
                    );
                }
            }
            CallersCommand::Add { caller_id, policy } => {
                let input = CallerInput { caller_id, policy: policy.into() };
                let actor = ctx.actor()?;
                let view = ctx.operator(&actor).create_caller(&input).await?;
                println!("{}", view.secret.unwrap_or_default());
                eprintln!("Caller {} created. Its secret (above) is shown once; the store keeps only an Argon2id hash.", view.caller_id);
            }
            CallersCommand::Policy { caller_id, policy } => {
                let actor = ctx.actor()?;
                let view = ctx.operator(&actor).replace_policy(&caller_id, &policy.into()).await?;
                println!("replaced the policy of caller {}", view.caller_id);
            }
            CallersCommand::Remove { caller_id } => {
                let actor = ctx.actor()?;
                ctx.operator(&actor).delete_caller(&caller_id).await?;
                println!("removed caller {caller_id}");
            }
        }
        Ok(())
    }
    .await)
}

/// `authproxy directory export`.
pub async fn export_directory(config: &ConfigFile, output: Option<&Path>) -> ExitCode {
    finish(
        async {
            let ctx = Context::open(config).await?;
            let csv = ctx.store.export_csv().await?;
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

/// `authproxy audit`.
pub async fn audit(
    config: &ConfigFile,
    since: Option<chrono::DateTime<chrono::Utc>>,
    caller: Option<&str>,
    json: bool,
) -> ExitCode {
    use std::io::Write as _;
    finish(
        async {
            let ctx = Context::open(config).await?;
            let actor = caller.map(|c| format!("caller:{c}"));
            let rows = AuditLog::audit_since(ctx.store.as_ref(), since, actor.as_deref(), u32::MAX)
                .await?;
            let mut out = std::io::stdout().lock();
            for row in rows {
                let line = if json {
                    serde_json::to_string(&row).map_err(|e| e.to_string())?
                } else {
                    format!(
                        "{}\t{}\t{}\t{}\t{}\t{}",
                        row.at.to_rfc3339(),
                        row.actor,
                        row.action,
                        row.subject.as_deref().unwrap_or("-"),
                        row.outcome,
                        row.reason.as_deref().unwrap_or("")
                    )
                };
                match writeln!(out, "{line}") {
                    Ok(()) => {}
                    // The reader stopped (`| head`): that is the end, not a failure.
                    Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
                    Err(err) => return Err(CliError::Input(format!("could not write: {err}"))),
                }
            }
            Ok(())
        }
        .await,
    )
}
