//! `authproxy callers ...`: the impersonation callers and their policies, as
//! the admin API keeps them (the secret printed once, stored as a hash).

use std::process::ExitCode;

use clap::Subcommand;
use serde_json::Value;

use super::ConfigFile;
use super::backend::Backend;
use super::context::finish;
use super::op::Op;
use super::print::{self};
use crate::admin::ops::{CallerInput, PolicyInput};

#[derive(Debug, Subcommand)]
/// `authproxy callers ...`.
pub enum CallersCommand {
    /// List impersonation callers.
    List,
    /// Create a caller; prints its secret once.
    Add {
        /// The caller's id.
        caller_id: String,
        #[command(flatten)]
        /// What the caller may do.
        policy: PolicyArgs,
    },
    /// Replace a caller's policy (its secret stays).
    Policy {
        /// The caller's id.
        caller_id: String,
        #[command(flatten)]
        /// What the caller may do.
        policy: PolicyArgs,
    },
    /// Give a caller a new secret, printed once; the old one stops working at
    /// once: `callers rotate-secret billing > billing.secret`.
    RotateSecret {
        /// The caller's id.
        caller_id: String,
    },
    /// Remove a caller.
    Remove {
        /// The caller's id.
        caller_id: String,
    },
}

/// A caller's policy, as `callers add` and `callers policy` take it.
#[derive(Debug, clap::Args)]
pub struct PolicyArgs {
    /// A realm the caller may act in (`tenant-a`; repeatable).
    #[arg(long = "realm", required = true)]
    realms: Vec<String>,
    /// Every user of this realm (`tenant-a`; repeatable).
    #[arg(long = "all-users-of")]
    all_users_of: Vec<String>,
    /// Every user of this email domain (`corp.example`; repeatable).
    #[arg(long = "domain")]
    domains: Vec<String>,
    /// One user (`alice@corp.example`; repeatable).
    #[arg(long = "user")]
    users: Vec<String>,
    /// An `audience` the caller may ask for (`billing-api`; repeatable).
    #[arg(long = "audience")]
    audiences: Vec<String>,
    /// Longest token lifetime the caller may receive, in seconds.
    #[arg(long, default_value_t = 300)]
    max_lifetime: u64,
    /// Sustained requests per minute.
    #[arg(long, default_value_t = 60)]
    rate: u32,
    /// Requests allowed at once above the sustained rate.
    #[arg(long, default_value_t = 10)]
    burst: u32,
}

impl From<PolicyArgs> for PolicyInput {
    fn from(a: PolicyArgs) -> Self {
        Self {
            realms: a.realms,
            all_users_of: a.all_users_of,
            domains: a.domains,
            users: a.users,
            audiences: a.audiences,
            max_lifetime_secs: a.max_lifetime,
            rate_per_minute: a.rate,
            burst: a.burst,
        }
    }
}

/// `authproxy callers ...`.
pub async fn callers(config: &ConfigFile, command: CallersCommand) -> ExitCode {
    finish(
        async {
            let backend = Backend::open(config).await?;
            let out = config.output;
            match command {
                CallersCommand::List => {
                    print::list(out, &backend.run(Op::ListCallers).await?, caller_line);
                }
                CallersCommand::Add { caller_id, policy } => {
                    let input = CallerInput {
                        caller_id,
                        policy: policy.into(),
                    };
                    let view = backend.run(Op::CreateCaller(input)).await?;
                    print::secret(out, &view, "secret", &format!(
                        "Caller {} created. Its secret (above) is shown once; the store keeps only an Argon2id hash.",
                        print::text(print::get(&view, "caller_id"))
                    ));
                }
                CallersCommand::Policy { caller_id, policy } => {
                    let view = backend
                        .run(Op::ReplacePolicy(caller_id, policy.into()))
                        .await?;
                    print::done(out, &view, &format!(
                        "replaced the policy of caller {}",
                        print::text(print::get(&view, "caller_id"))
                    ));
                }
                CallersCommand::RotateSecret { caller_id } => {
                    let view = backend.run(Op::RotateCallerSecret(caller_id)).await?;
                    print::secret(out, &view, "secret", &format!(
                        "Caller {} has a new secret (above), shown once; the old one no longer works.",
                        print::text(print::get(&view, "caller_id"))
                    ));
                }
                CallersCommand::Remove { caller_id } => {
                    backend.run(Op::DeleteCaller(caller_id.clone())).await?;
                    print::done(out, &Value::Null, &format!("removed caller {caller_id}"));
                }
            }
            Ok(())
        }
        .await,
    )
}

fn caller_line(caller: &Value) -> String {
    let p = print::get(caller, "policy");
    format!(
        "{}\trealms={}\tall_users_of={}\tdomains={}\tusers={}\taudiences={}\tmax_lifetime={}s\trate={}/min burst={}",
        print::text(print::get(caller, "caller_id")),
        print::join(print::get(p, "realms")),
        print::join(print::get(p, "all_users_of")),
        print::join(print::get(p, "domains")),
        print::join(print::get(p, "users")),
        print::join(print::get(p, "audiences")),
        print::get(p, "max_lifetime_secs"),
        print::get(p, "rate_per_minute"),
        print::get(p, "burst")
    )
}
