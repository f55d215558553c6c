//! `authproxy signing-keys ...`: the broker's own signing keys (newest first:
//! it signs), listed and rotated.

use std::process::ExitCode;

use clap::Subcommand;

use super::ConfigFile;
use super::context::{CliError, finish, open_context};
use crate::auth::signing::BrokerKeys;

#[derive(Debug, Subcommand)]
/// `authproxy signing-keys ...`.
pub enum SigningKeysCommand {
    /// List the broker's signing keys (newest first: it signs).
    List,
    /// Make a new signing key, which signs from now on (running replicas pick it
    /// up within a minute); keys replaced more than two days ago are retired.
    Rotate,
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
