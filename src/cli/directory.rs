//! `authproxy directory put|remove KIND KEY`: one rule; `authproxy directory
//! import FILE`: loads directory rules from CSV. The whole
//! file is checked first (every bad row reported with its line, a key given twice
//! with different targets refused) against the realms in the store, as every
//! command reads them; only a clean file is written, in one transaction.
//!
//! The format is in [`crate::admin::directory_csv`].

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use serde_json::Value;

use super::ConfigFile;
use super::backend::Backend;
use super::context::{CliError, finish};
use super::op::Op;
use super::print;
use crate::admin::ops::RuleInput;

/// `authproxy directory import`.
pub async fn import(file: &Path, config: &ConfigFile, replace: bool) -> ExitCode {
    finish(
        async {
            let backend = Backend::open(config).await?;
            let csv = std::fs::read(file)
                .map_err(|e| CliError::Input(format!("{}: {e}", file.display())))?;
            let answer = backend.run(Op::Import { csv, replace }).await?;
            print::done(
                config.output,
                &answer,
                &format!(
                    "imported {} directory rule(s)",
                    print::get(&answer, "imported")
                ),
            );
            Ok(())
        }
        .await,
    )
}

/// One rule, as `directory put` and `directory remove` take it.
#[derive(Debug, clap::Args)]
pub struct RuleArgs {
    /// `user`, `domain`, `not_migrated` or `default`.
    kind: String,
    /// The username (`alice@corp.example`) or email domain (`corp.example`); none for `default`.
    #[arg(default_value = "")]
    key: String,
    /// The users' realm (`tenant-a`; not for `not_migrated`).
    #[arg(long)]
    realm: Option<String>,
    /// The external IdP's alias in that realm (`entra`), sent as `kc_idp_hint`.
    #[arg(long)]
    idp_hint: Option<String>,
}

impl From<RuleArgs> for RuleInput {
    fn from(a: RuleArgs) -> Self {
        Self {
            kind: a.kind,
            key: a.key,
            realm: a.realm,
            idp_hint: a.idp_hint,
        }
    }
}

/// `directory put`.
pub async fn put(rule: RuleArgs, config: &ConfigFile) -> ExitCode {
    finish(
        async {
            let backend = Backend::open(config).await?;
            let input = RuleInput::from(rule);
            let message = format!("saved the {} rule {}", input.kind, input.key);
            backend.run(Op::PutRule(input)).await?;
            print::done(config.output, &Value::Null, &message);
            Ok(())
        }
        .await,
    )
}

/// `directory remove`.
pub async fn remove(rule: RuleArgs, config: &ConfigFile) -> ExitCode {
    finish(
        async {
            let backend = Backend::open(config).await?;
            let input = RuleInput::from(rule);
            let message = format!("removed the {} rule {}", input.kind, input.key);
            backend.run(Op::DeleteRule(input)).await?;
            print::done(config.output, &Value::Null, &message);
            Ok(())
        }
        .await,
    )
}

/// `directory lookup USER`: where the user goes, as discovery answers.
pub async fn lookup(user: String, config: &ConfigFile) -> ExitCode {
    finish(
        async {
            let backend = Backend::open(config).await?;
            let view = backend.run(Op::Lookup(user)).await?;
            let words = match print::get(&view, "outcome").as_str().unwrap_or_default() {
                "sso" => format!(
                    "{} logs in at realm {} ({}){}",
                    print::text(print::get(&view, "user")),
                    print::text(print::get(&view, "realm")),
                    print::text(print::get(&view, "authority")),
                    print::get(&view, "idp_hint")
                        .as_str()
                        .map(|h| format!(" through the identity provider {h}"))
                        .unwrap_or_default()
                ),
                "not_migrated" => format!(
                    "{} is not enabled for SSO (a not_migrated rule)",
                    print::text(print::get(&view, "user"))
                ),
                "realm_not_configured" => format!(
                    "{}: the directory names realm {}, which is not configured: fix the rule or add the realm",
                    print::text(print::get(&view, "user")),
                    print::text(print::get(&view, "realm"))
                ),
                _ => format!(
                    "{}: no rule names this user or their domain, and there is no default",
                    print::text(print::get(&view, "user"))
                ),
            };
            print::done(config.output, &view, &words);
            Ok(())
        }
        .await,
    )
}

#[derive(Debug, Subcommand)]
/// `authproxy directory ...`.
pub enum DirectoryCommand {
    /// Add or replace one rule.
    Put {
        #[command(flatten)]
        /// The rule.
        rule: RuleArgs,
        #[command(flatten)]
        /// The configuration file and the actor.
        config: ConfigFile,
    },
    /// Remove one rule.
    Remove {
        #[command(flatten)]
        /// The rule (its kind and key).
        rule: RuleArgs,
        #[command(flatten)]
        /// The configuration file and the actor.
        config: ConfigFile,
    },
    /// Import directory rules from a CSV file, all or nothing.
    Import {
        /// CSV with the header `kind,key,realm,idp_hint` (see docs/src/reference/directory.md).
        file: PathBuf,
        #[command(flatten)]
        /// The configuration file and the actor.
        config: ConfigFile,
        /// Replace the whole directory instead of adding to it.
        #[arg(long)]
        replace: bool,
    },
    /// Write every rule as CSV (to standard output, or to --file).
    Export {
        #[command(flatten)]
        /// The configuration file.
        config: ConfigFile,
        #[arg(long, value_name = "FILE")]
        /// Write to this file instead of standard output.
        file: Option<PathBuf>,
    },
    /// Where a user goes (what discovery answers for them):
    /// `directory lookup alice@corp.example`.
    Lookup {
        /// The username.
        user: String,
        #[command(flatten)]
        /// The configuration file.
        config: ConfigFile,
    },
}
