//! The administrative operations, one function each, shared by the admin API and
//! the CLI: validate, check conflicts (an entry that exists, one still in use,
//! one the configuration file owns), write, and record the audit row. Errors are
//! [`OpsError`], free of HTTP; each surface renders them its own way.
//!
//! Precedence (docs/src/operate/administration.md, "Who owns what"): the
//! configuration file's realms, clients and tenants are written once and then
//! belong to the store, which these operations change. Entries marked
//! `managed_by = "file"` (and the console's realm) stay owned by the file: written
//! at every start, and refused here (`managed_by_config`), so no change made
//! elsewhere is ever silently undone.

pub mod api_keys;
pub mod callers;
pub mod changes;
pub mod directory;
pub mod host_keys;
pub mod providers;
pub mod provisioning;
pub mod registry;
pub mod resources;
pub mod tenants;
pub mod tokens;

use crate::admin::directory_csv::CsvProblems;
use crate::clock::Clock;
use crate::crypto::CryptoError;
use crate::domain::FieldProblem;
use crate::idp::IdpError;
use crate::registry::{Managed, Registry};
use crate::store::{
    AccessStore, AuditEntry, AuditLog, DirectoryStore, DocumentStore, LoginStore, StoreError,
};

pub use callers::{CallerInput, CallerView, PolicyInput};
pub use directory::{LookupView, RuleInput};
pub use registry::ClientChange;
pub use tokens::{AdminTokenInput, AdminTokenView, ExpireInput};

/// Why an administrative change was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// The input does not validate; every problem with its field path.
    #[error("the input does not validate")]
    Invalid(Vec<FieldProblem>),
    /// Rows of a CSV import are bad; nothing was written.
    #[error("import refused, nothing was written: {0}")]
    BadRows(CsvProblems),
    /// The entry to change does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The entry to create exists already.
    #[error("{0}")]
    Exists(String),
    /// The entry to remove is still used by another.
    #[error("{0}")]
    InUse(String),
    /// The entry is defined in the configuration file, which owns it.
    #[error("{0}")]
    ManagedByConfig(String),
    /// The change needs the running broker's shared state (a local command
    /// without it).
    #[error("{0}")]
    NeedsBroker(String),
    /// A Keycloak realm's Admin REST API failed (provisioning).
    #[error("{0}")]
    Realm(#[from] IdpError),
    /// `clients sync` failed for one client in one realm: both named, and
    /// what to check.
    #[error("{0}")]
    Sync(#[from] crate::admin::sync::SyncError),
    /// Randomness or hashing failed.
    #[error("{0}")]
    Crypto(#[from] CryptoError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Who changes what, and where the change is written and recorded.
pub struct Operator<'a> {
    /// Realms and clients.
    pub registry: &'a Registry,
    /// The user directory.
    pub directory: &'a dyn DirectoryStore,
    /// Impersonation callers and admin tokens.
    pub access: &'a dyn AccessStore,
    /// Tenants and their credentials.
    pub tenants: &'a dyn DocumentStore,
    /// The running broker's login store, where embed and console sessions
    /// are ended (the admin API has it; a local command does not).
    pub sessions: Option<&'a dyn LoginStore>,
    /// Where every change is recorded.
    pub audit: &'a dyn AuditLog,
    /// The time of the audit rows.
    pub clock: &'a dyn Clock,
    /// `admin:<label>` (API) or `cli:<actor>` (CLI).
    pub actor: &'a str,
    /// The client's address, for a change made over HTTP.
    pub source: Option<&'a str>,
    /// The request's id, for a change made over HTTP.
    pub request_id: Option<&'a str>,
    /// The entries the configuration file owns.
    pub managed: &'a Managed,
}

impl Operator<'_> {
    /// Records a change made by this operator.
    async fn record(&self, action: &str, subject: &str) -> Result<(), OpsError> {
        self.record_with(action, subject, None).await
    }

    /// Records a change of an entry, with what changed between its views
    /// `before` (none: it is new) and `after` ([`changes::describe`]).
    async fn record_change<T: serde::Serialize>(
        &self,
        action: &str,
        subject: &str,
        before: Option<&T>,
        after: &T,
    ) -> Result<(), OpsError> {
        let json = |view: &T| serde_json::to_value(view).unwrap_or(serde_json::Value::Null);
        let reason = changes::describe(before.map(json).as_ref(), &json(after));
        self.record_with(action, subject, Some(reason)).await
    }

    async fn record_with(
        &self,
        action: &str,
        subject: &str,
        reason: Option<String>,
    ) -> Result<(), OpsError> {
        self.audit
            .append(&AuditEntry {
                at: self.clock.now(),
                actor: self.actor.to_owned(),
                action: action.to_owned(),
                subject: Some(subject.to_owned()),
                outcome: crate::store::AuditOutcome::Changed,
                reason,
                source: self.source.map(str::to_owned),
                request_id: self.request_id.map(str::to_owned),
                ..AuditEntry::default()
            })
            .await?;
        Ok(())
    }
}
