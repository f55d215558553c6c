//! `authproxy tenants resources TENANT ...`: a tenant's resources and the people
//! registered for them (made by its backend with API keys), through the same
//! operations as `/admin/api/tenants/{id}/resources` (and the same audit rows).

use clap::Subcommand;

use super::backend::Backend;
use super::context::CliError;
use super::op::Op;
use super::print::{self, Output};

#[derive(Debug, Subcommand)]
/// `authproxy tenants resources TENANT ...`.
pub enum ResourcesCommand {
    /// List the resources: id, type, registrations, page URL.
    List,
    /// List the people registered for a resource: id, registered at, name, email.
    Registrations {
        /// The resource's id (`webinar-42`).
        resource_id: String,
    },
    /// Revoke a registration: its join URL stops and its open sessions end at
    /// once (needs the running broker: run it with `--url`).
    RevokeRegistration {
        /// The resource's id (`webinar-42`).
        resource_id: String,
        /// The registration's id, as `registrations` lists it.
        registration_id: String,
    },
}

/// Runs a resources command.
pub(super) async fn resources(
    backend: &Backend,
    out: Output,
    tenant_id: String,
    command: ResourcesCommand,
) -> Result<(), CliError> {
    match command {
        ResourcesCommand::List => {
            print::list(
                out,
                &backend.run(Op::ListResources(tenant_id)).await?,
                |r| {
                    [
                        print::text(print::get(r, "resource_id")),
                        print::text(print::get(r, "type")),
                        format!("{} registered", print::text(print::get(r, "registrations"))),
                        print::text(print::get(r, "url")),
                    ]
                    .join("\t")
                },
            );
        }
        ResourcesCommand::Registrations { resource_id } => {
            let found = backend
                .run(Op::ListRegistrations(tenant_id, resource_id))
                .await?;
            print::list(out, &found, |r| {
                [
                    print::text(print::get(r, "registration_id")),
                    print::text(print::get(r, "created_at")),
                    print::text(print::get(r, "name")),
                    print::text(print::get(r, "email")),
                ]
                .join("\t")
            });
        }
        ResourcesCommand::RevokeRegistration {
            resource_id,
            registration_id,
        } => {
            let message = format!(
                "revoked registration {registration_id} of {tenant_id}/{resource_id}: its join URL stopped and its sessions ended"
            );
            backend
                .run(Op::RevokeRegistration(
                    tenant_id,
                    resource_id,
                    registration_id,
                ))
                .await?;
            print::done(out, &serde_json::Value::Null, &message);
        }
    }
    Ok(())
}
