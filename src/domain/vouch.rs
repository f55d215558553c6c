//! Who vouches for a user's email in an embedded session: decided here, once, for
//! every way in (host tokens, minted tokens, embed URLs, login links, the
//! third-party handshake, platform tokens, registrations, the host's profile
//! updates). Only a trusted email may select an existing realm user or grant an
//! ACL role (docs/src/embedded/host-tokens.md, "Who vouches for an email").

use super::tenant::{Tenant, is_reserved_user_id};

/// Where an email came from, as the way in knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailSource {
    /// A host's backend said it (a signed or minted host token, an embed URL, a
    /// login link, the handshake's second half, a profile update); `says_verified`
    /// is the host's own `email_verified`, `None` when it did not say.
    Host {
        /// The host's `email_verified`, when it sent one.
        says_verified: Option<bool>,
    },
    /// A third-party identity platform the tenant configured verified it
    /// (`email_verified: true` in a token the broker checked, or Piano's
    /// `email_confirmed`).
    Platform {
        /// What the platform said.
        verified: bool,
    },
    /// A person typed it (a registration form): nobody proved it is theirs.
    Typed,
}

/// Whether `tenant` trusts an email from `source` for the user `sub`.
///
/// - A platform's verification counts: the tenant chose that provider.
/// - A host's claim counts only where the tenant granted its hosts the right to
///   vouch for emails (`hosts_vouch_for_emails`, off by default: it lets the host
///   log in as any user of the realm), never when the host itself says
///   `email_verified: false`, and never for the broker's own user ids
///   (`ext:`, `registration:`), which no host speaks for.
/// - A typed email never counts.
#[must_use]
pub fn email_trusted(tenant: &Tenant, sub: &str, source: EmailSource) -> bool {
    match source {
        EmailSource::Platform { verified } => verified,
        EmailSource::Host { says_verified } => {
            tenant.hosts_vouch_for_emails
                && says_verified != Some(false)
                && !is_reserved_user_id(sub)
        }
        EmailSource::Typed => false,
    }
}

#[cfg(test)]
mod tests;
