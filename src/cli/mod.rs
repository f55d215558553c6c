//! The command line: its parser (every command, `serve` included) and the
//! administration commands; `serve` itself is run by `main` through `startup`.

pub mod admin;
pub mod directory;
pub mod keys;
pub mod providers;
pub mod tenants;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;

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
        #[arg(long, env = "AUTHPROXY_CONFIG")]
        config: PathBuf,
    },
    /// Apply the store's migrations and exit (`serve` applies them too): the
    /// step of an upgrade that runs once, before the new replicas start.
    Migrate {
        /// The TOML configuration file (AUTHPROXY__* variables override it).
        #[arg(long, env = "AUTHPROXY_CONFIG", default_value = "authproxy.toml")]
        config: PathBuf,
    },
    /// Print a new sealing key (`store.sealing_key`), for every replica to share.
    GenerateSealingKey,
    /// Check a configuration file and print every problem with its key.
    CheckConfig {
        /// The TOML configuration file.
        file: PathBuf,
    },
    /// Manage the user directory.
    Directory {
        #[command(subcommand)]
        /// What to do with the directory.
        command: DirectoryCommand,
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
        command: admin::CallersCommand,
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
        /// The URL to ask.
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
        command: tenants::SigningKeysCommand,
    },
    /// Administrator tokens for the admin API.
    Admin {
        #[command(flatten)]
        /// The configuration file and the actor.
        config: ConfigFile,
        #[command(subcommand)]
        /// What to do.
        command: AdminCommand,
    },
    /// Read the audit trail.
    Audit {
        #[command(flatten)]
        /// The configuration file.
        config: ConfigFile,
        /// Only rows at or after this time (RFC 3339).
        #[arg(long)]
        since: Option<chrono::DateTime<chrono::Utc>>,
        /// Only rows of this caller.
        #[arg(long)]
        caller: Option<String>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
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
    /// required for every change, never guessed.
    #[arg(long, env = "AUTHPROXY_ACTOR", global = true)]
    pub actor: Option<String>,
}

#[derive(Debug, Subcommand)]
/// `authproxy admin ...`.
pub enum AdminCommand {
    /// Create an admin token; prints it once.
    CreateToken {
        #[arg(long, default_value = "admin")]
        /// The name the audit trail gives the token's holder (`admin:<label>`).
        label: String,
    },
}

#[derive(Debug, Subcommand)]
/// `authproxy directory ...`.
pub enum DirectoryCommand {
    /// Add or replace one rule.
    Put {
        #[command(flatten)]
        /// The rule.
        rule: directory::RuleArgs,
        #[command(flatten)]
        /// The configuration file and the actor.
        config: ConfigFile,
    },
    /// Remove one rule.
    Remove {
        #[command(flatten)]
        /// The rule (its kind and key).
        rule: directory::RuleArgs,
        #[command(flatten)]
        /// The configuration file and the actor.
        config: ConfigFile,
    },
    /// Import directory rules from a CSV file, all or nothing.
    Import {
        /// CSV with the header `kind,key,realm,idp_hint` (see the README).
        file: PathBuf,
        #[command(flatten)]
        /// The configuration file and the actor.
        config: ConfigFile,
        /// Replace the whole directory instead of adding to it.
        #[arg(long)]
        replace: bool,
    },
    /// Write every rule as CSV (to stdout, or to --output).
    Export {
        #[command(flatten)]
        /// The configuration file.
        config: ConfigFile,
        #[arg(long)]
        /// Write to this file instead of standard output.
        output: Option<PathBuf>,
    },
}

/// Runs a parsed command other than `serve` (which `main` hands to `startup`).
pub async fn run(command: Command) -> ExitCode {
    match command {
        Command::Serve { .. } => {
            eprintln!("authproxy: serve is started by the binary, not by the admin commands");
            ExitCode::from(2)
        }
        Command::CheckConfig { file } => check_config(&file),
        Command::Migrate { config } => migrate(&config).await,
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
                DirectoryCommand::Import {
                    file,
                    config,
                    replace,
                },
        } => directory::import(&file, &config, replace).await,
        Command::Directory {
            command: DirectoryCommand::Put { rule, config },
        } => directory::put(rule, &config).await,
        Command::Directory {
            command: DirectoryCommand::Remove { rule, config },
        } => directory::remove(rule, &config).await,
        Command::Directory {
            command: DirectoryCommand::Export { config, output },
        } => admin::export_directory(&config, output.as_deref()).await,
        Command::Clients { config, command } => admin::clients(&config, command).await,
        Command::Callers { config, command } => admin::callers(&config, command).await,
        Command::Tenants { config, command } => tenants::tenants(&config, command).await,
        Command::SigningKeys { config, command } => tenants::signing_keys(&config, command).await,
        Command::Keys { config, command } => keys::keys(&config, command).await,
        Command::Healthcheck { url } => healthcheck(&url).await,
        Command::Backup { config, to } => keys::backup(&config, &to).await,
        Command::Realms { config, command } => admin::realms(&config, command).await,
        Command::Admin {
            config,
            command: AdminCommand::CreateToken { label },
        } => admin::create_token(&config, &label).await,
        Command::Audit {
            config,
            since,
            caller,
            json,
        } => admin::audit(&config, since, caller.as_deref(), json).await,
    }
}

async fn healthcheck(url: &str) -> ExitCode {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(3))
        .redirect(reqwest::redirect::Policy::none())
        .build();
    let answer = match client {
        Ok(client) => client.get(url).send().await,
        Err(err) => Err(err),
    };
    match answer {
        Ok(response) if response.status().is_success() => ExitCode::SUCCESS,
        Ok(response) => {
            eprintln!("authproxy: {url} answered {}", response.status());
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("authproxy: {url}: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn migrate(path: &std::path::Path) -> ExitCode {
    let config = match Config::load(path) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("{}: {err}", path.display());
            return ExitCode::from(2);
        }
    };
    let clock: std::sync::Arc<dyn crate::clock::Clock> =
        std::sync::Arc::new(crate::clock::SystemClock);
    let opened = config.store.open_durable(&clock).await.map(|_| ());
    match opened {
        Ok(()) => {
            let backend = if config.store.postgres_url.is_some() {
                "PostgreSQL"
            } else {
                "SQLite"
            };
            println!("{backend}: the schema is up to date");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("authproxy: {err}");
            ExitCode::FAILURE
        }
    }
}

fn check_config(path: &std::path::Path) -> ExitCode {
    match Config::load(path) {
        Ok(config) => {
            println!(
                "{}: ok ({} realm(s), {} client(s), {} directory rule(s))",
                path.display(),
                config.realms.len(),
                config.clients.len(),
                config.directory_seed.len()
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("{}: {err}", path.display());
            ExitCode::from(2)
        }
    }
}
