//! `authproxy directory put|remove KIND KEY`: one rule; `authproxy directory
//! import FILE`: loads directory rules from CSV. The whole
//! file is checked first (every bad row reported with its line, a key given twice
//! with different targets refused) against the realms in the store, as every
//! command reads them; only a clean file is written, in one transaction.
//!
//! The format is in [`crate::admin::directory_csv`].

use std::path::Path;
use std::process::ExitCode;

use super::ConfigFile;
use super::admin::{CliError, finish, open_context};
use crate::admin::ops::RuleInput;

/// `authproxy directory import`.
pub async fn import(file: &Path, config: &ConfigFile, replace: bool) -> ExitCode {
    finish(
        async {
            let ctx = open_context(config).await?;
            let actor = ctx.actor()?;
            let csv = std::fs::read(file)
                .map_err(|e| CliError::Input(format!("{}: {e}", file.display())))?;
            let count = ctx.operator(&actor).import_directory(csv, replace).await?;
            println!("imported {count} directory rule(s)");
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
    /// The username or email domain (none for `default`).
    #[arg(default_value = "")]
    key: String,
    /// The users' realm (not for `not_migrated`).
    #[arg(long)]
    realm: Option<String>,
    /// The external IdP's alias in that realm.
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
            let ctx = open_context(config).await?;
            let actor = ctx.actor()?;
            let input = RuleInput::from(rule);
            ctx.operator(&actor).put_rule(&input).await?;
            println!("saved the {} rule {}", input.kind, input.key);
            Ok(())
        }
        .await,
    )
}

/// `directory remove`.
pub async fn remove(rule: RuleArgs, config: &ConfigFile) -> ExitCode {
    finish(
        async {
            let ctx = open_context(config).await?;
            let actor = ctx.actor()?;
            let input = RuleInput::from(rule);
            ctx.operator(&actor).delete_rule(&input).await?;
            println!("removed the {} rule {}", input.kind, input.key);
            Ok(())
        }
        .await,
    )
}
