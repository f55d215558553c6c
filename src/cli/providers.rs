//! `authproxy tenants providers TENANT ...`: a tenant's identity providers, their
//! secrets and the connection test, through the same operations as
//! `/admin/api/tenants/{id}/providers` (and the same audit rows). The providers
//! themselves are part of the tenant (`tenants put --sso-file`).

use std::path::PathBuf;

use clap::Subcommand;

use super::admin::{CliError, Context};
use super::tenants::{READER, json, read};
use crate::admin::ops::providers::SecretsInput;

#[derive(Debug, Subcommand)]
/// `authproxy tenants providers TENANT ...`.
pub enum ProvidersCommand {
    /// List the providers (and whether their secrets are set).
    List,
    /// Set a provider's secrets (Piano: the API token and the signing key),
    /// each read from a file so it never shows in the shell's history.
    Secrets {
        /// The provider's name.
        name: String,
        /// A file holding the API token.
        #[arg(long)]
        api_token_file: PathBuf,
        /// A file holding the application's signing key.
        #[arg(long)]
        signing_key_file: PathBuf,
    },
    /// Test a provider: fetch its keys (Piano: call its API with the token).
    Test {
        /// The provider's name.
        name: String,
    },
}

/// Runs a providers command; a failed test is an error (exit status 1).
pub(super) async fn providers(
    ctx: &Context,
    tenant_id: &str,
    command: ProvidersCommand,
) -> Result<(), CliError> {
    match command {
        ProvidersCommand::List => {
            for view in ctx.operator(READER).list_providers(tenant_id).await? {
                println!("{}", json(&view));
            }
        }
        ProvidersCommand::Secrets {
            name,
            api_token_file,
            signing_key_file,
        } => {
            let input = SecretsInput {
                api_token: read(&api_token_file)?,
                signing_key: read(&signing_key_file)?,
            };
            let actor = ctx.actor()?;
            ctx.operator(&actor)
                .put_provider_secrets(tenant_id, &name, &input)
                .await?;
            println!("set the secrets of provider {name}");
        }
        ProvidersCommand::Test { name } => {
            let actor = ctx.actor()?;
            let keys = ctx.key_sets()?;
            let report = ctx
                .operator(&actor)
                .test_provider(&keys, tenant_id, &name)
                .await?;
            if !report.ok {
                return Err(CliError::Input(format!(
                    "provider {name} failed its test: {}",
                    report.detail
                )));
            }
            println!("provider {name}: {}", report.detail);
        }
    }
    Ok(())
}
