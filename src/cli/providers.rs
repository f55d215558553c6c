//! `authproxy tenants providers TENANT ...`: a tenant's identity providers, their
//! secrets and the connection test, through the same operations as
//! `/admin/api/tenants/{id}/providers` (and the same audit rows). The providers
//! themselves are part of the tenant (`tenants put --sso-file`).

use std::path::PathBuf;

use clap::Subcommand;

use serde_json::Value;

use super::backend::Backend;
use super::context::{CliError, read};
use super::op::Op;
use super::print::{self, Output};
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
        /// A file holding the provider's API token (`-` reads standard input).
        #[arg(long)]
        api_token_file: PathBuf,
        /// A file holding the application's signing key (`-` reads standard input).
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
    backend: &Backend,
    out: Output,
    tenant_id: String,
    command: ProvidersCommand,
) -> Result<(), CliError> {
    match command {
        ProvidersCommand::List => {
            print::list(
                out,
                &backend.run(Op::ListProviders(tenant_id)).await?,
                |p| {
                    let secrets = match (p.get("needs_secrets"), p.get("secrets_set")) {
                        (Some(Value::Bool(false)), _) => "none needed",
                        (_, Some(Value::Bool(true))) => "set",
                        _ => "missing",
                    };
                    format!(
                        "{}\t{}\tsecrets={secrets}",
                        print::text(print::get(p, "name")),
                        print::text(print::get(p, "kind"))
                    )
                },
            );
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
            let message = format!("set the secrets of provider {name}");
            let view = backend
                .run(Op::PutProviderSecrets(tenant_id, name, input))
                .await?;
            print::done(out, &view, &message);
        }
        ProvidersCommand::Test { name } => {
            let report = backend
                .run(Op::TestProvider(tenant_id, name.clone()))
                .await?;
            if print::get(&report, "ok").as_bool() != Some(true) {
                return Err(CliError::Input(format!(
                    "provider {name} failed its test: {}",
                    print::text(print::get(&report, "detail"))
                )));
            }
            print::done(
                out,
                &report,
                &format!(
                    "provider {name}: {}",
                    print::text(print::get(&report, "detail"))
                ),
            );
        }
    }
    Ok(())
}
