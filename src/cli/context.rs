//! What every command stands on: why a command fails ([`CliError`]) and its exit
//! code, the store and registry a local command opens ([`Context`]), and secrets
//! read from files, never from arguments.

use std::process::ExitCode;
use std::sync::Arc;

use secrecy::SecretString;

use super::ConfigFile;
use crate::admin::ops::{Operator, OpsError};
use crate::clock::SystemClock;
use crate::config::Config;
use crate::domain::FieldProblem;
use crate::registry::{Managed, Registry};
use crate::store::{DurableStore, RegistryStore, StoreError};

/// A file's text, trimmed (a key, a JSON document, a list).
pub(super) fn read(path: &std::path::Path) -> Result<String, CliError> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_owned())
        .map_err(|e| CliError::Input(format!("{}: {e}", path.display())))
}

/// A secret from a file, or from standard input for `-`; one trailing newline is
/// dropped, an empty secret refused.
pub(super) fn read_secret(path: &std::path::Path) -> Result<SecretString, CliError> {
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
    #[error("{0}")]
    /// The broker of `--url` could not be reached or refused the token.
    Remote(String),
}

impl From<String> for CliError {
    fn from(message: String) -> Self {
        Self::Input(message)
    }
}

/// Opens the store and the registry as every command does.
pub(super) async fn open_context(file: &ConfigFile) -> Result<Context, CliError> {
    local_only(file)?;
    Context::open(file).await
}

/// Refuses `--url` for a command of the broker's own store (its keys, backups).
pub(super) fn local_only(file: &ConfigFile) -> Result<(), CliError> {
    match file.url {
        Some(_) => Err(CliError::Input(
            "this command works on the broker's own store, which the admin API does not expose: run it without --url, where the configuration file is".into(),
        )),
        None => Ok(()),
    }
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
    pub(super) async fn open(file: &ConfigFile) -> Result<Self, CliError> {
        let config = Config::load(&file.path)?;
        let clock: Arc<dyn crate::clock::Clock> = Arc::new(SystemClock);
        let (store, _) = config.store.open_durable(&clock).await?;
        // The file's entries, as `serve` writes them.
        config
            .seed(store.as_ref(), crate::clock::Clock::now(&SystemClock))
            .await?;
        let registry = Registry::load(Arc::clone(&store) as Arc<dyn RegistryStore>).await?;
        Ok(Self {
            store,
            registry,
            managed: config.owned.clone(),
            config,
            actor: file.actor.clone().filter(|a| !a.trim().is_empty()),
        })
    }

    /// The broker's public URL (the issuer of its tokens).
    pub(super) fn public_url(&self) -> &str {
        self.config.public_url.as_str()
    }

    /// The broker's public URL, as the operations take it.
    pub(super) fn public_url_of(&self) -> &crate::domain::PublicUrl {
        &self.config.public_url
    }

    /// The realm of the admin console's sign-in, when the console is on.
    pub(super) fn console_realm(&self) -> Option<&crate::domain::RealmName> {
        self.config.console.as_ref().map(|c| &c.realm)
    }

    /// How long a call to a realm may take.
    pub(super) fn idp_timeout(&self) -> std::time::Duration {
        self.config.idp_timeout
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
            sessions: None,
            audit: self.store.as_ref(),
            clock: &SystemClock,
            actor,
            source: None,
            request_id: None,
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
        Err(
            err @ (CliError::NoActor
            | CliError::Input(_)
            | CliError::Config(_)
            | CliError::Ops(OpsError::NeedsBroker(_))),
        ) => {
            eprintln!("authproxy: {err}");
            ExitCode::from(2)
        }
        Err(err) => {
            eprintln!("authproxy: {err}");
            ExitCode::FAILURE
        }
    }
}
