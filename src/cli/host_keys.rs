//! `authproxy tenants keys TENANT ...`: a tenant's signing keys (a public JWK
//! file, a pair made here whose private JWK is printed once, or an HS256
//! secret file), listed, added and revoked.

use std::path::PathBuf;

use clap::Subcommand;

use super::backend::Backend;
use super::context::{CliError, read};
use super::op::Op;
use super::print::{self, Output};
use crate::admin::ops::host_keys::HostKeyInput;

#[derive(Debug, Subcommand)]
/// `authproxy tenants keys TENANT ...`.
pub enum KeysCommand {
    /// List the keys.
    List,
    /// Register a key: a public JWK file, a pair made here (`--generate`, prints
    /// the private JWK once) or an HS256 secret file.
    Add {
        /// The `kid`.
        kid: String,
        /// A file holding the public JWK (`key.jwk.json`; `-` reads standard input).
        #[arg(long, conflicts_with_all = ["generate", "secret_file"])]
        jwk_file: Option<PathBuf>,
        /// Make an ES256 pair.
        #[arg(long)]
        generate: bool,
        /// A file holding an HS256 secret (base64url, 32 bytes or more).
        #[arg(long)]
        secret_file: Option<PathBuf>,
        /// The key may sign for sub-tenants that grant it.
        #[arg(long)]
        for_subtenants: bool,
    },
    /// Revoke a key, at once.
    Revoke {
        /// The `kid`.
        kid: String,
    },
}

pub(super) async fn keys(
    backend: &Backend,
    out: Output,
    tenant_id: String,
    command: KeysCommand,
) -> Result<(), CliError> {
    match command {
        KeysCommand::List => {
            print::list(out, &backend.run(Op::ListHostKeys(tenant_id)).await?, |k| {
                format!(
                    "{}\t{}\tcreated={}\trevoked={}\tfor_subtenants={}",
                    print::text(print::get(k, "kid")),
                    print::text(print::get(k, "alg")),
                    print::text(print::get(k, "created_at")),
                    print::or_dash(print::get(k, "revoked_at")),
                    print::text(print::get(k, "for_subtenants"))
                )
            });
        }
        KeysCommand::Add {
            kid,
            jwk_file,
            generate,
            secret_file,
            for_subtenants,
        } => {
            let jwk = jwk_file
                .as_ref()
                .map(|path| {
                    serde_json::from_str(&read(path)?)
                        .map_err(|e| CliError::Input(format!("{}: not JSON ({e})", path.display())))
                })
                .transpose()?;
            let secret = secret_file.as_deref().map(read).transpose()?;
            let input = HostKeyInput {
                kid,
                jwk,
                generate,
                secret,
                for_subtenants,
            };
            let view = backend.run(Op::AddHostKey(tenant_id, input)).await?;
            if print::get(&view, "private_jwk").is_object() {
                print::secret(
                    out,
                    &view,
                    "private_jwk",
                    &format!(
                        "Key {} made. Its private JWK (above) is shown once: give it to the host's backend.",
                        print::text(print::get(&view, "kid"))
                    ),
                );
            } else {
                print::done(
                    out,
                    &view,
                    &format!(
                        "registered key {} ({})",
                        print::text(print::get(&view, "kid")),
                        print::text(print::get(&view, "alg"))
                    ),
                );
            }
        }
        KeysCommand::Revoke { kid } => {
            let message = format!("revoked key {kid} of tenant {tenant_id}");
            let view = backend.run(Op::RevokeHostKey(tenant_id, kid)).await?;
            print::done(out, &view, &message);
        }
    }
    Ok(())
}
