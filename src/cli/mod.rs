//! The command line: its parser (every command, `serve` included) and the
//! administration commands; `serve` itself is run by `main` through `startup`.

pub mod admin;
pub mod api_keys;
pub mod backend;
pub mod callers;
pub mod context;
pub mod directory;
pub mod host_keys;
pub mod keys;
pub mod op;
pub mod print;
pub mod providers;
pub mod remote;
pub mod resources;
pub mod service;
pub mod signing_keys;
pub mod tenants;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "authproxy",
    version,
    about = "Login broker for embedded apps and Keycloak realms"
)]
/// The command line.
pub struct Cli {
    #[command(subcommand)]
    /// What to do.
    pub command: Command,
}

impl Cli {
    /// Whether this runs the service (whose stdout is its log).
    #[must_use]
    pub fn is_serve(&self) -> bool {
        matches!(self.command, Command::Serve { .. })
    }
}

#[derive(Debug, Subcommand)]
/// The commands.
pub enum Command {
    /// Run the broker.
    Serve {
        /// The TOML configuration file (AUTHPROXY__* variables override it).
        #[arg(long, env = "AUTHPROXY_CONFIG", default_value = "authproxy.toml")]
        config: PathBuf,
    },
    /// Apply the store's migrations and exit (`serve` applies them too): the
    /// step of an upgrade that runs once, before the new replicas start.
    Migrate {
        /// The TOML configuration file (AUTHPROXY__* variables override it).
        #[arg(long, env = "AUTHPROXY_CONFIG", default_value = "authproxy.toml")]
        config: PathBuf,
    },
    /// Print a new sealing key, for `store.sealing_keys` (newest first), the same on every replica.
    GenerateSealingKey,
    /// Check a configuration file and print every problem with its key.
    CheckConfig {
        /// The TOML configuration file (the same as --config).
        file: Option<PathBuf>,
        /// The TOML configuration file.
        #[arg(long, env = "AUTHPROXY_CONFIG", default_value = "authproxy.toml")]
        config: PathBuf,
    },
    /// Manage the user directory.
    Directory {
        #[command(subcommand)]
        /// What to do with the directory.
        command: directory::DirectoryCommand,
    },
    /// Manage the embedding applications (clients).
    Clients {
        #[command(flatten)]
        /// The configuration file and the actor.
        config: ConfigFile,
        #[command(subcommand)]
        /// What to do with the clients.
        command: admin::ClientsCommand,
    },
    /// Manage the Keycloak realms.
    Realms {
        #[command(flatten)]
        /// The configuration file and the actor.
        config: ConfigFile,
        #[command(subcommand)]
        /// What to do with the realms.
        command: admin::RealmsCommand,
    },
    /// Manage the backend callers of the impersonation endpoint.
    Callers {
        #[command(flatten)]
        /// The configuration file and the actor.
        config: ConfigFile,
        #[command(subcommand)]
        /// What to do with the callers.
        command: callers::CallersCommand,
    },
    /// Manage tenants (host organisations), their signing keys and API keys.
    Tenants {
        #[command(flatten)]
        /// The configuration file and the actor.
        config: ConfigFile,
        #[command(subcommand)]
        /// What to do.
        command: tenants::TenantsCommand,
    },
    /// Ask a running broker whether it is up (for container health checks,
    /// which have no curl): exit 0 when it answers 2xx within 3 seconds.
    Healthcheck {
        /// The URL to ask (`http://127.0.0.1:8080/readyz`).
        #[arg(long, default_value = "http://127.0.0.1:8080/healthz")]
        url: String,
    },
    /// The keys that seal stored secrets: list, rotate.
    Keys {
        #[command(flatten)]
        /// The configuration file.
        config: ConfigFile,
        #[command(subcommand)]
        /// What to do.
        command: keys::KeysCommand,
    },
    /// Copy the SQLite store, while it serves, with the key file that opens it,
    /// into an empty folder (PostgreSQL: use its own tools).
    Backup {
        #[command(flatten)]
        /// The configuration file.
        config: ConfigFile,
        #[arg(long, value_name = "DIR")]
        /// The folder to write (new or empty).
        to: PathBuf,
    },
    /// The broker's own signing keys (embed session tokens, minted host tokens).
    SigningKeys {
        #[command(flatten)]
        /// The configuration file and the actor.
        config: ConfigFile,
        #[command(subcommand)]
        /// What to do.
        command: signing_keys::SigningKeysCommand,
    },
    /// Administrator tokens for the admin API: create, list, expire, revoke.
    Admin {
        #[command(flatten)]
        /// The configuration file and the actor.
        config: ConfigFile,
        #[command(subcommand)]
        /// What to do.
        command: admin::AdminCommand,
    },
    /// Read the audit trail, oldest first:
    /// `audit --since 2026-12-01 --action client --outcome changed --limit 50`.
    Audit {
        #[command(flatten)]
        /// The configuration file.
        config: ConfigFile,
        #[command(flatten)]
        /// Which rows.
        filter: AuditArgs,
        /// One JSON object per line (JSON Lines), where `--output json` prints one array.
        #[arg(long)]
        json: bool,
    },
    /// Keep an admin token for a broker, so that `--url URL` needs no
    /// `--token-file`: `login --url https://broker.example --token-file admin.token`.
    /// The token is checked first, then kept in a file only you can read.
    Login {
        /// The broker's URL (https; http only on this machine).
        #[arg(long, env = "AUTHPROXY_URL")]
        url: String,
        /// A file holding the admin token (`-` reads standard input).
        #[arg(long, value_name = "FILE")]
        token_file: PathBuf,
    },
    /// Forget the admin token kept for a broker.
    Logout {
        /// The broker's URL (`https://broker.example`).
        #[arg(long, env = "AUTHPROXY_URL")]
        url: String,
    },
}

/// Which audit rows `audit` reads.
#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Only rows at or after this time: `2026-12-01` (midnight UTC) or
    /// `2026-12-01T09:30:00Z`.
    #[arg(long, value_parser = crate::clock::parse_instant)]
    since: Option<chrono::DateTime<chrono::Utc>>,
    /// Only rows before this time (same forms as --since).
    #[arg(long, value_parser = crate::clock::parse_instant)]
    until: Option<chrono::DateTime<chrono::Utc>>,
    /// Only rows by this actor: `admin:ops`, `cli:alice`, `caller:billing`.
    #[arg(long, value_name = "ACTOR")]
    by: Option<String>,
    /// Only rows of this impersonation caller (`--by caller:<id>`).
    #[arg(long, conflicts_with = "by")]
    caller: Option<String>,
    /// Only this action, or the actions under it: `client` for `client.create`,
    /// `client.update`...
    #[arg(long)]
    action: Option<String>,
    /// Only this outcome: `changed`, `issued`, `denied`...
    #[arg(long)]
    outcome: Option<String>,
    /// At most this many rows (`50`; default: all locally, 1000 with --url):
    /// the newest, newest first, as `git log` shows commits.
    #[arg(long)]
    limit: Option<u32>,
    /// The oldest rows first (with --limit: the oldest rows), to read the
    /// trail forward.
    #[arg(long)]
    oldest_first: bool,
}

impl AuditArgs {
    fn filter(self, remote: bool) -> crate::store::AuditFilter {
        crate::store::AuditFilter {
            since: self.since,
            until: self.until,
            actor: self.by.or(self.caller.map(|c| format!("caller:{c}"))),
            action: self.action,
            outcome: self.outcome,
            limit: self.limit.unwrap_or(if remote { 1000 } else { u32::MAX }),
            newest_first: !self.oldest_first,
        }
    }
}

/// The `--config` of the administration commands, accepted before or after their
/// subcommand.
#[derive(Debug, clap::Args)]
pub struct ConfigFile {
    /// The configuration file (also accepted after the subcommand).
    #[arg(
        long = "config",
        value_name = "CONFIG",
        env = "AUTHPROXY_CONFIG",
        global = true,
        default_value = "authproxy.toml"
    )]
    pub path: PathBuf,
    /// Who makes the change, as the audit trail records it (`cli:<actor>`);
    /// required for every local change, never guessed. With --url the admin
    /// token names the actor (`admin:<label>`).
    #[arg(long, env = "AUTHPROXY_ACTOR", global = true)]
    pub actor: Option<String>,
    /// Work through this running broker's admin API instead of the local store:
    /// `--url https://broker.example` (https; http only on this machine).
    #[arg(long, env = "AUTHPROXY_URL", global = true)]
    pub url: Option<String>,
    /// With --url: a file holding the admin token (`-` reads standard input);
    /// else AUTHPROXY_ADMIN_TOKEN, else the token `authproxy login` kept.
    #[arg(
        long,
        value_name = "FILE",
        env = "AUTHPROXY_ADMIN_TOKEN_FILE",
        global = true
    )]
    pub token_file: Option<PathBuf>,
    /// `text` (a line per entry) or `json` (the admin API's JSON).
    #[arg(long, value_enum, default_value_t = print::Output::Text, global = true)]
    pub output: print::Output,
}

/// Runs a parsed command other than `serve` (which `main` hands to `startup`).
pub async fn run(command: Command) -> ExitCode {
    match command {
        Command::Serve { .. } => {
            eprintln!("authproxy: serve is started by the binary, not by the admin commands");
            ExitCode::from(2)
        }
        Command::CheckConfig { file, config } => {
            service::check_config(file.as_ref().unwrap_or(&config))
        }
        Command::Migrate { config } => service::migrate(&config).await,
        Command::GenerateSealingKey => match crate::crypto::Sealer::generate_key() {
            Ok(key) => {
                println!("{}", secrecy::ExposeSecret::expose_secret(&key));
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("authproxy: {err}");
                ExitCode::FAILURE
            }
        },
        Command::Directory {
            command:
                directory::DirectoryCommand::Import {
                    file,
                    config,
                    replace,
                },
        } => directory::import(&file, &config, replace).await,
        Command::Directory {
            command: directory::DirectoryCommand::Put { rule, config },
        } => directory::put(rule, &config).await,
        Command::Directory {
            command: directory::DirectoryCommand::Remove { rule, config },
        } => directory::remove(rule, &config).await,
        Command::Directory {
            command: directory::DirectoryCommand::Export { config, file },
        } => admin::export_directory(&config, file.as_deref()).await,
        Command::Directory {
            command: directory::DirectoryCommand::Lookup { user, config },
        } => directory::lookup(user, &config).await,
        Command::Clients { config, command } => admin::clients(&config, command).await,
        Command::Callers { config, command } => callers::callers(&config, command).await,
        Command::Tenants { config, command } => tenants::tenants(&config, command).await,
        Command::SigningKeys { config, command } => {
            signing_keys::signing_keys(&config, command).await
        }
        Command::Keys { config, command } => keys::keys(&config, command).await,
        Command::Healthcheck { url } => service::healthcheck(&url).await,
        Command::Backup { config, to } => keys::backup(&config, &to).await,
        Command::Realms { config, command } => admin::realms(&config, command).await,
        Command::Admin { config, command } => admin::admin(&config, command).await,
        Command::Audit {
            config,
            filter,
            json,
        } => {
            let filter = filter.filter(config.url.is_some());
            admin::audit(&config, filter, json).await
        }
        Command::Login { url, token_file } => service::login(&url, &token_file).await,
        Command::Logout { url } => service::logout(&url),
    }
}
