//! Tenants (host organisations) and the credentials their backends use: API keys
//! (an id and a secret kept only as a SHA-256 hash) and signing keys (a public key
//! with exactly one algorithm). A tenant lives in one environment; a sub-tenant
//! has a parent in the same environment, whose credentials may act for it only
//! when the sub-tenant grants it.

use std::fmt;

use chrono::{DateTime, Utc};

use super::FieldProblem;
use super::client::ClientId;
use super::realm::RealmName;

super::slug::slug_id!(
    /// A tenant's id: `[a-z0-9._-]`, 1 to 64 characters.
    TenantId,
    TenantIdError,
    "a tenant ID"
);

super::slug::slug_id!(
    /// An API key's id (the public half of the credential).
    ApiKeyId,
    ApiKeyIdError,
    "an API key ID"
);

/// Where a tenant's users live: never both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    /// For trying an integration out.
    Sandbox,
    /// For real users.
    Production,
}

impl Environment {
    /// The name, as in the token's audience.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sandbox => "sandbox",
            Self::Production => "production",
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happens when a host vouches for a user the realm does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provisioning {
    /// The user must already exist in the realm (found through the directory).
    ExistingOnly,
    /// authproxy creates a passwordless user on first use.
    Create,
}

/// The prefixes of the user ids the broker gives (registrants, third-party
/// identities): no host may vouch for one.
pub const RESERVED_USER_PREFIXES: [&str; 2] = ["registration:", "ext:"];

/// Whether `id` is in the broker's own namespaces of user ids.
#[must_use]
pub fn is_reserved_user_id(id: &str) -> bool {
    RESERVED_USER_PREFIXES.iter().any(|p| id.starts_with(p))
}

/// The session subject of a registrant (`registration:<id>`).
#[must_use]
pub fn registrant_sub(registration: &str) -> String {
    format!("registration:{registration}")
}

/// The end mark of all of a user's embed sessions, as the login store keeps it.
#[must_use]
pub fn user_key(tenant: &TenantId, sub: &str) -> String {
    format!("embed-user\0{tenant}\0{sub}")
}

/// The session lifetime when the host token names none: 4 hours.
pub const DEFAULT_SESSION_SECS: u64 = 4 * 3600;
/// The longest a tenant may allow: 7 days.
pub const MAX_SESSION_SECS: u64 = 7 * 86_400;

/// A host organisation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tenant {
    /// Its id (also the `iss` of the tokens its keys sign).
    pub id: TenantId,
    /// Sandbox or production.
    pub environment: Environment,
    /// The parent tenant, for a sub-tenant.
    #[serde(default)]
    pub parent: Option<TenantId>,
    /// Whether the parent's credentials may act for this sub-tenant.
    #[serde(default)]
    pub parent_may_act: bool,
    /// The Keycloak realm its users live in.
    pub realm: RealmName,
    /// The embedded-app clients its users may be logged in to.
    pub clients: Vec<ClientId>,
    /// Whether unknown users are created.
    pub provisioning: Provisioning,
    /// The longest session a token may ask for, in seconds.
    #[serde(default = "default_max_session")]
    pub max_session_secs: u64,
    /// Whether signing keys may be HS256 shared secrets (off: only ES256 and EdDSA).
    #[serde(default)]
    pub allow_hs256: bool,
    /// Whether the tenant's hosts may vouch for their users' emails, so that an
    /// email they send selects an existing realm user and grants ACL roles. Off
    /// by default: it lets a host log in as any user of the realm, like the
    /// impersonation permission (docs/src/embedded/host-tokens.md, "Who vouches for an email").
    #[serde(default)]
    pub hosts_vouch_for_emails: bool,
    /// Where the host publishes its signing keys (a JWKS), besides those
    /// registered one by one.
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// The alias of the realm's identity provider (of type JWT Authorization
    /// Grant) that trusts the broker's keys: Keycloak tokens then come from RFC
    /// 7523's grant; without it, from the impersonation exchange.
    #[serde(default)]
    pub assertion_grant_idp: Option<super::realm::IdpAlias>,
    /// Per-user embed URLs, registrations and login links.
    #[serde(default)]
    pub embeds: EmbedSettings,
    /// Third-party SSO: the host page's origin and the identity providers.
    #[serde(default)]
    pub sso: super::sso::SsoSettings,
}

/// What a new session does when its registration (or user, where the tenant
/// asks) already has one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionPolicy {
    /// The new session wins; the older frame is told it was signed out.
    #[default]
    TerminateOldest,
    /// The new session is refused (409 `session_active`) while the older lives.
    DenyNew,
}

/// A tenant's settings for per-user embed URLs, registrations and links.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbedSettings {
    /// The embedded app's page for embeds and links without a resource.
    #[serde(default)]
    pub app_url: Option<String>,
    /// The paths (on `app_url`'s origin) a login link may land on.
    #[serde(default)]
    pub link_paths: Vec<super::app_page::LinkPath>,
    /// One session per registration: which one wins.
    #[serde(default)]
    pub session_policy: SessionPolicy,
    /// Whether each user, too, has one session at a time.
    #[serde(default)]
    pub one_session_per_user: bool,
}

fn default_max_session() -> u64 {
    DEFAULT_SESSION_SECS
}

impl Tenant {
    /// Checks the tenant's own consistency; its parent and realm are checked
    /// against the registry by the admin layer.
    #[must_use]
    pub fn problems(&self) -> Vec<FieldProblem> {
        let mut problems = Vec::new();
        let mut add = |path: &str, message: &str| {
            problems.push(FieldProblem {
                path: path.to_owned(),
                message: message.to_owned(),
            });
        };
        if self.clients.is_empty() {
            add("clients", "list at least one embedded-app client ID");
        }
        if self.parent.as_ref() == Some(&self.id) {
            add("parent", "a tenant cannot be its own parent");
        }
        if self.parent.is_none() && self.parent_may_act {
            add(
                "parent_may_act",
                "only a sub-tenant (with a parent) grants its parent",
            );
        }
        if let Some(url) = &self.jwks_url
            && !is_key_url(url)
        {
            add(
                "jwks_url",
                "an https URL of a public host (http only on loopback: localhost, 127.0.0.1, [::1]; never a private or link-local address such as 169.254.169.254) without user name or fragment",
            );
        }
        if let Some(url) = &self.embeds.app_url
            && !super::app_page::is_app_url(url)
        {
            add(
                "embeds.app_url",
                "an absolute https URL (http only for localhost, 127.0.0.1 or [::1]) without user name or fragment",
            );
        }
        if !self.embeds.link_paths.is_empty() && self.embeds.app_url.is_none() {
            add(
                "embeds.link_paths",
                "paths are on the origin of embeds.app_url: set it too",
            );
        }
        if self.embeds.link_paths.len() > 100 {
            add("embeds.link_paths", "at most 100 paths");
        }
        if !(300..=MAX_SESSION_SECS).contains(&self.max_session_secs) {
            add(
                "max_session_secs",
                "between 300 seconds and 7 days (604800 seconds)",
            );
        }
        problems.extend(self.sso.problems());
        problems
    }
}

/// Whether `raw` may be a JWKS URL: one the broker may fetch
/// ([`super::outbound::is_fetchable`]: https to a public host, loopback for
/// development).
fn is_key_url(raw: &str) -> bool {
    super::outbound::is_fetchable(raw, true)
}

/// What a host's API key may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// `POST /api/v1/embed/tokens`.
    MintTokens,
    /// Ending users' sessions.
    Logout,
    /// Updating users' profiles.
    UpdateUsers,
    /// The sandbox's explanation of a refused token.
    Debug,
    /// `POST /api/v1/embeds`: per-user embed URLs.
    CreateEmbeds,
    /// Resources and their ACLs.
    ManageResources,
    /// Registrations and their join URLs.
    ManageRegistrations,
    /// `POST /api/v1/links`: one-time login links.
    CreateLinks,
    /// `POST /api/v1/sso/codes`: the standard SSO handshake's second code.
    ExchangeSsoCodes,
}

/// A host backend's API key: the secret only as its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ApiKey {
    /// The public id.
    pub id: ApiKeyId,
    /// The tenant it acts for.
    pub tenant: TenantId,
    /// Whether it may act for the tenant's sub-tenants (that grant it).
    pub for_subtenants: bool,
    /// What it may call.
    pub operations: Vec<Operation>,
    /// SHA-256 of the secret, base64url.
    pub secret_sha256: String,
    /// When it stops working.
    pub expires_at: Option<DateTime<Utc>>,
    /// Requests per minute (and the burst).
    pub rate_per_minute: u32,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When it was last used (kept apart, updated at most once a minute).
    #[serde(default)]
    pub last_used_at: Option<DateTime<Utc>>,
}

impl ApiKey {
    /// Whether the key works at `now`.
    #[must_use]
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| now < at)
    }
}

#[cfg(test)]
mod tests;
