//! The administrative commands: the CLI face of the admin API. They open the
//! same store, validate through the same operations, and record each change in
//! the audit trail as `cli:<user>`. A running service picks changes up within a
//! second.

use std::path::Path;
use std::process::ExitCode;

use clap::Subcommand;
use serde_json::Value;

use super::ConfigFile;
use super::backend::Backend;
use super::context::{CliError, finish, read_secret};
use super::op::Op;
use super::print::{self, Output};
use crate::admin::ops::{AdminTokenInput, ClientChange, ExpireInput};
use crate::domain::{Approval, ClientAuth};
use crate::registry::input::{ClientInput, RealmInput};

use crate::store::AuditFilter;

/// A whole client, as `clients add` and `clients replace` take it.
#[derive(Debug, clap::Args)]
pub struct ClientArgs {
    /// The application's host, lowercase, optional port (`crm.example.com`).
    client_id: String,
    /// An exact origin of its pages (`https://crm.example.com`); repeat for more.
    #[arg(long = "origin", required = true)]
    origins: Vec<String>,
    /// A realm its users belong to (`tenant-a`); repeat for more.
    #[arg(long = "realm", required = true)]
    realms: Vec<String>,
    /// For a confidential client in the realm: a file holding its secret (`-` reads
    /// standard input). Secrets are never taken as arguments, which other users of
    /// the machine can read.
    #[arg(long, value_name = "FILE")]
    secret_file: Option<std::path::PathBuf>,
    /// When a login window has lost its opener: `ask` the user where the result
    /// goes (needed behind Cross-Origin-Opener-Policy), or `off`: never ask.
    #[arg(long, value_name = "ask|off", value_parser = Approval::parse, default_value = "ask")]
    approval: Approval,
}

impl ClientArgs {
    fn input(self) -> Result<ClientInput, CliError> {
        Ok(ClientInput {
            client_id: self.client_id,
            realms: self.realms,
            origins: self.origins,
            client_secret: self.secret_file.as_deref().map(read_secret).transpose()?,
            approval: self.approval,
        })
    }
}

#[derive(Debug, Subcommand)]
/// `authproxy clients ...`.
pub enum ClientsCommand {
    /// List registered clients.
    List,
    /// Register a new client (an existing one is never overwritten):
    /// `clients add crm.example.com --origin https://crm.example.com --realm tenant-a`.
    Add(ClientArgs),
    /// Replace a client as a whole (it must exist).
    Replace(ClientArgs),
    /// Add or remove origins and realms of a client, keeping the rest:
    /// `clients update crm.example.com --add-origin https://new.example.com`.
    Update {
        /// The client's id (the web app's FQDN).
        client_id: String,
        #[arg(long = "add-origin")]
        /// An origin to add (repeatable).
        add_origins: Vec<String>,
        #[arg(long = "remove-origin")]
        /// An origin to remove (repeatable).
        remove_origins: Vec<String>,
        #[arg(long = "add-realm")]
        /// A realm to add (repeatable).
        add_realms: Vec<String>,
        #[arg(long = "remove-realm")]
        /// A realm to remove (repeatable).
        remove_realms: Vec<String>,
        #[arg(long, value_name = "ask|off", value_parser = Approval::parse)]
        /// Whether a login window that lost its opener asks the user (`ask`) or not (`off`).
        approval: Option<Approval>,
    },
    /// Remove a client.
    Remove {
        /// The client's id.
        client_id: String,
    },
    /// Make every client exist in its Keycloak realms (never deletes).
    Sync {
        #[arg(long)]
        /// Only this realm.
        realm: Option<String>,
        #[arg(long)]
        /// Show what would change without changing it.
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
/// `authproxy realms ...`.
pub enum RealmsCommand {
    /// List realms.
    List,
    /// Add or replace a realm.
    Put {
        /// The realm's name.
        name: String,
        #[arg(long)]
        /// The realm's issuer URL (`https://HOST/realms/NAME`).
        authority: String,
        #[arg(long = "scope")]
        /// A scope to request besides `openid` (repeatable).
        extra_scopes: Vec<String>,
        #[arg(long)]
        /// The broker's confidential client in this realm (impersonation, provisioning).
        broker_client_id: Option<String>,
        #[arg(long, value_name = "FILE")]
        /// A file holding that client's secret (`-` reads standard input); never an
        /// argument, which other users of the machine can read.
        broker_client_secret_file: Option<std::path::PathBuf>,
        /// How client secrets reach the realm's token endpoint: `client_secret_basic` (the default) or `client_secret_post`.
        #[arg(long, default_value = "client_secret_basic", value_parser = ["client_secret_basic", "client_secret_post"])]
        token_endpoint_auth_method: String,
        #[arg(long)]
        /// Save without first asking the realm for its metadata.
        no_check: bool,
    },
    /// Remove a realm no client uses.
    Remove {
        /// The realm's name.
        name: String,
    },
}

/// `authproxy clients ...`.
pub async fn clients(config: &ConfigFile, command: ClientsCommand) -> ExitCode {
    finish(
        async {
            let backend = Backend::open(config).await?;
            let out = config.output;
            match command {
                ClientsCommand::List => {
                    print::list(out, &backend.run(Op::ListClients).await?, client_line);
                }
                ClientsCommand::Add(args) => {
                    let view = backend.run(Op::CreateClient(args.input()?)).await?;
                    print::done(
                        out,
                        &view,
                        &format!(
                            "registered client {}",
                            print::text(print::get(&view, "client_id"))
                        ),
                    );
                }
                ClientsCommand::Replace(args) => {
                    let view = backend.run(Op::ReplaceClient(args.input()?)).await?;
                    print::done(
                        out,
                        &view,
                        &format!(
                            "replaced client {}",
                            print::text(print::get(&view, "client_id"))
                        ),
                    );
                }
                ClientsCommand::Update {
                    client_id,
                    add_origins,
                    remove_origins,
                    add_realms,
                    remove_realms,
                    approval,
                } => {
                    let change = ClientChange {
                        add_origins,
                        remove_origins,
                        add_realms,
                        remove_realms,
                        approval,
                    };
                    let view = backend.run(Op::UpdateClient(client_id, change)).await?;
                    print::done(
                        out,
                        &view,
                        &format!("updated client {}", client_line(&view)),
                    );
                }
                ClientsCommand::Remove { client_id } => {
                    backend.run(Op::DeleteClient(client_id.clone())).await?;
                    print::done(out, &Value::Null, &format!("removed client {client_id}"));
                }
                ClientsCommand::Sync { realm, dry_run } => {
                    let changes = backend.run(Op::SyncClients { realm, dry_run }).await?;
                    print::list(out, &changes, |c| sync_line(c, dry_run));
                    let all_same = changes
                        .as_array()
                        .is_none_or(|c| c.iter().all(|c| print::get(c, "action") == "unchanged"));
                    if out == Output::Text && all_same {
                        println!("no differences");
                    }
                }
            }
            Ok(())
        }
        .await,
    )
}

fn client_line(view: &Value) -> String {
    format!(
        "{}\trealms={}\torigins={}\tapproval={}",
        print::text(print::get(view, "client_id")),
        print::join(print::get(view, "realms")),
        print::join(print::get(view, "origins")),
        print::text(print::get(view, "approval"))
    )
}

/// A line of `clients sync`, with the diff under it.
fn sync_line(change: &Value, dry_run: bool) -> String {
    let action = print::text(print::get(change, "action"));
    let mut line = format!(
        "{}/{}: {action}{}",
        print::text(print::get(change, "realm")),
        print::text(print::get(change, "client_id")),
        if dry_run && action != "unchanged" {
            " (dry run)"
        } else {
            ""
        }
    );
    for diff in print::get(change, "diff").as_array().into_iter().flatten() {
        line.push_str("\n    ");
        line.push_str(&print::text(diff));
    }
    line
}

/// `authproxy realms ...`.
pub async fn realms(config: &ConfigFile, command: RealmsCommand) -> ExitCode {
    finish(
        async {
            let backend = Backend::open(config).await?;
            let out = config.output;
            match command {
                RealmsCommand::List => {
                    print::list(out, &backend.run(Op::ListRealms).await?, |r| {
                        format!(
                            "{}\t{}\tbroker_client={}",
                            print::text(print::get(r, "name")),
                            print::text(print::get(r, "authority")),
                            print::get(r, "broker_client_id").as_str().unwrap_or("-")
                        )
                    });
                }
                RealmsCommand::Put {
                    name,
                    authority,
                    extra_scopes,
                    broker_client_id,
                    broker_client_secret_file,
                    token_endpoint_auth_method,
                    no_check,
                } => {
                    let input = RealmInput {
                        name,
                        authority,
                        extra_scopes,
                        broker_client_id,
                        broker_client_secret: broker_client_secret_file
                            .as_deref()
                            .map(read_secret)
                            .transpose()?,
                        token_endpoint_auth_method: ClientAuth::parse(&token_endpoint_auth_method)?,
                    };
                    let view = backend.run(Op::PutRealm(input, !no_check)).await?;
                    print::done(
                        out,
                        &view,
                        &format!("realm {} saved", print::text(print::get(&view, "name"))),
                    );
                }
                RealmsCommand::Remove { name } => {
                    backend.run(Op::DeleteRealm(name.clone())).await?;
                    print::done(out, &Value::Null, &format!("removed realm {name}"));
                }
            }
            Ok(())
        }
        .await,
    )
}

/// `authproxy admin ...`.
pub async fn admin(config: &ConfigFile, command: AdminCommand) -> ExitCode {
    finish(
        async {
            let backend = Backend::open(config).await?;
            let out = config.output;
            match command {
                AdminCommand::CreateToken {
                    label,
                    expires_in_days,
                } => {
                    let input = AdminTokenInput {
                        label,
                        expires_in_days,
                    };
                    let view = backend.run(Op::CreateAdminToken(input)).await?;
                    print::secret(out, &view, "token", &format!(
                        "Admin token {} made. It is shown once (above); the store keeps only its hash.",
                        print::text(print::get(&view, "id"))
                    ));
                }
                AdminCommand::Tokens => {
                    print::list(out, &backend.run(Op::ListAdminTokens).await?, |t| {
                        format!(
                            "{}\t{}\t{}\tcreated={}\texpires={}",
                            print::text(print::get(t, "id")),
                            print::text(print::get(t, "label")),
                            print::text(print::get(t, "status")),
                            print::text(print::get(t, "created_at")),
                            print::get(t, "expires_at").as_str().unwrap_or("never")
                        )
                    });
                }
                AdminCommand::Expire { id, at } => {
                    let view = backend
                        .run(Op::ExpireAdminToken(id, ExpireInput { at }))
                        .await?;
                    print::done(out, &view, &format!(
                        "admin token {} ({}) stops working at {}",
                        print::text(print::get(&view, "id")),
                        print::text(print::get(&view, "label")),
                        print::text(print::get(&view, "expires_at"))
                    ));
                }
                AdminCommand::Revoke { id } => {
                    backend.run(Op::RevokeAdminToken(id.clone())).await?;
                    print::done(out, &Value::Null, &format!("revoked admin token {id}"));
                }
                AdminCommand::EndConsoleSessions { subject } => {
                    backend.run(Op::EndConsoleSessions(subject.clone())).await?;
                    print::done(
                        out,
                        &Value::Null,
                        &format!("ended every console session of {subject}"),
                    );
                }
            }
            Ok(())
        }
        .await,
    )
}

/// `authproxy directory export`.
pub async fn export_directory(config: &ConfigFile, output: Option<&Path>) -> ExitCode {
    finish(
        async {
            let backend = Backend::open(config).await?;
            let csv = backend.run(Op::Export).await?;
            let csv = csv.as_str().unwrap_or_default();
            match output {
                Some(path) => {
                    std::fs::write(path, csv).map_err(|e| format!("{}: {e}", path.display()))?;
                }
                None => print!("{csv}"),
            }
            Ok(())
        }
        .await,
    )
}

/// `authproxy audit`.
pub async fn audit(config: &ConfigFile, filter: AuditFilter, json: bool) -> ExitCode {
    finish(
        async {
            let backend = Backend::open(config).await?;
            let rows = backend.run(Op::Audit(filter)).await?;
            if json {
                // JSON Lines: a row per line, for `jq -c` and log shippers.
                return print::lines(Output::Text, &rows, Value::to_string);
            }
            print::lines(config.output, &rows, |row| {
                format!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    print::text(print::get(row, "at")),
                    print::text(print::get(row, "actor")),
                    print::text(print::get(row, "action")),
                    print::get(row, "subject").as_str().unwrap_or("-"),
                    print::text(print::get(row, "outcome")),
                    print::get(row, "reason").as_str().unwrap_or("")
                )
            })
        }
        .await,
    )
}

#[derive(Debug, Subcommand)]
/// `authproxy admin ...`.
pub enum AdminCommand {
    /// Create an admin token; prints it once:
    /// `admin create-token --label ops --expires-in-days 90 > ops.token`.
    CreateToken {
        #[arg(long, default_value = "admin")]
        /// The name the audit trail gives the token's holder (`admin:<label>`).
        label: String,
        #[arg(long, value_name = "DAYS")]
        /// Days until it stops working (1 to 3650); without it, it works until
        /// expired or revoked.
        expires_in_days: Option<u32>,
    },
    /// List admin tokens: id, label, status, creation and end (never the tokens).
    Tokens,
    /// Make a token stop working, now or at --at; it stays listed as expired.
    Expire {
        /// The token's id (from `admin tokens`).
        id: String,
        /// When: `2026-12-31` or `2026-12-31T18:00:00Z` (default: now).
        #[arg(long, value_parser = crate::clock::parse_instant)]
        at: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Revoke a token: it stops working at once and is no longer listed.
    Revoke {
        /// The token's id (from `admin tokens`).
        id: String,
    },
    /// End every console session of an administrator at once, on every
    /// replica (a lost laptop); signing in again works. Needs the running
    /// broker: `--url`.
    EndConsoleSessions {
        /// The administrator's subject at the console's realm (in Keycloak,
        /// the user's ID), as listed in `[console] admin_subjects`.
        subject: String,
    },
}
