//! Domain types that validate themselves ("parse, don't validate"): a function that
//! takes an [`Origin`] or a [`Username`] never checks it again. Nothing here knows
//! about HTTP, templates or storage drivers.

pub mod app_page;
pub mod caller;
pub mod client;
pub mod console;
pub mod directory;
pub mod email;
pub mod host_key;
pub mod host_user;
pub mod login;
pub mod origin;
pub mod outbound;
pub mod realm;
pub mod resource;
pub mod server;
pub(crate) mod slug;
pub mod sso;
pub mod tenant;
pub mod txn;
pub mod username;
pub mod vouch;

pub use caller::{CallerId, CallerPolicy, Denial};

/// An input field that does not validate: its path (`origins[1]`) and what to fix.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldProblem {
    /// Where (`origins[1]`).
    pub path: String,
    /// What is wrong, and what to write instead.
    pub message: String,
}
pub use app_page::LinkPath;
pub use client::{Approval, Client, ClientId};
pub use console::{ConsoleLogin, ConsoleSession, ConsoleSettings};
pub use directory::{
    EmailDomain, Resolution, Rule, RuleField, RuleKey, RuleKind, RuleProblem, Target,
};
pub use email::{EmailProblem, RegistrationEmail};
pub use host_key::{HostKey, KeyAlgorithm, KeyId, VerifyingKey};
pub use host_user::{Email, HostUserId, HostUserIdError, ProfileProblem};
pub use login::{LoginOutcome, PendingLogin, TokenSet};
pub use origin::Origin;
pub use realm::{Authority, BrokerClient, ClientAuth, IdpAlias, Realm, RealmName};
pub use resource::{Acl, Resource, ResourceId, ResourceRef, ResourceType, Role};
pub use server::{
    AccessLog, ForwardedHeader, LogFormat, LogSettings, PublicUrl, ServerLimits, TracingSettings,
    TrustedProxies,
};
pub use sso::{ProviderKind, ProviderName, SsoProvider, SsoSettings};
pub use tenant::{
    ApiKey, ApiKeyId, EmbedSettings, Environment, Operation, Provisioning, SessionPolicy, Tenant,
    TenantId,
};
pub use txn::{Confirmation, TxnChallenge, TxnId, TxnVerifier};
pub use username::Username;
pub use vouch::{EmailSource, email_trusted};
