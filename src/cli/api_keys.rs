//! `authproxy tenants api-keys TENANT ...`: a tenant's API keys (the
//! credential printed once), listed, made and revoked.

use clap::Subcommand;

use super::backend::Backend;
use super::context::CliError;
use super::op::Op;
use super::print::{self, Output};
use crate::admin::ops::api_keys::ApiKeyInput;
use crate::domain::Operation;

#[derive(Debug, Subcommand)]
/// `authproxy tenants api-keys TENANT ...`.
pub enum ApiKeysCommand {
    /// List the API keys.
    List,
    /// Make an API key; prints the credential once.
    Create {
        /// An operation it may call (repeatable): mint_tokens, logout, update_users,
        /// debug, create_embeds, manage_resources, manage_registrations, create_links,
        /// exchange_sso_codes.
        #[arg(long = "operation", required = true, value_parser = ["mint_tokens", "logout", "update_users", "debug", "create_embeds", "manage_resources", "manage_registrations", "create_links", "exchange_sso_codes"])]
        operations: Vec<String>,
        /// It may act for sub-tenants that grant it.
        #[arg(long)]
        for_subtenants: bool,
        /// Days until it stops working (`90`).
        #[arg(long)]
        expires_in_days: Option<u32>,
        /// Requests per minute (`60`).
        #[arg(long, default_value_t = 600)]
        rate_per_minute: u32,
    },
    /// Revoke an API key, at once.
    Revoke {
        /// The key's id.
        key_id: String,
    },
}

/// An operation an API key may call, by its name (`mint_tokens`).
fn operation(raw: &str) -> Result<Operation, CliError> {
    serde_json::from_value(serde_json::Value::String(raw.to_owned()))
        .map_err(|_| CliError::Input(format!("--operation {raw}: not an operation")))
}

pub(super) async fn api_keys(
    backend: &Backend,
    out: Output,
    tenant_id: String,
    command: ApiKeysCommand,
) -> Result<(), CliError> {
    match command {
        ApiKeysCommand::List => {
            print::list(out, &backend.run(Op::ListApiKeys(tenant_id)).await?, |k| {
                format!(
                    "{}\toperations={}\trate_per_minute={}\tcreated={}\tlast_used={}\texpires={}\trevoked={}",
                    print::text(print::get(k, "key_id")),
                    print::join(print::get(k, "operations")),
                    print::text(print::get(k, "rate_per_minute")),
                    print::text(print::get(k, "created_at")),
                    print::or_dash(print::get(k, "last_used_at")),
                    print::or_dash(print::get(k, "expires_at")),
                    print::or_dash(print::get(k, "revoked_at"))
                )
            });
        }
        ApiKeysCommand::Create {
            operations,
            for_subtenants,
            expires_in_days,
            rate_per_minute,
        } => {
            let input = ApiKeyInput {
                operations: operations
                    .iter()
                    .map(|o| operation(o))
                    .collect::<Result<_, _>>()?,
                for_subtenants,
                expires_in_days,
                rate_per_minute,
            };
            let view = backend.run(Op::CreateApiKey(tenant_id, input)).await?;
            print::secret(
                out,
                &view,
                "credential",
                &format!(
                    "API key {} made. Its credential (above) is shown once; the store keeps only a SHA-256.",
                    print::text(print::get(&view, "key_id"))
                ),
            );
        }
        ApiKeysCommand::Revoke { key_id } => {
            let message = format!("revoked API key {key_id}");
            let view = backend.run(Op::RevokeApiKey(tenant_id, key_id)).await?;
            print::done(out, &view, &message);
        }
    }
    Ok(())
}
