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
mod tests {
    use super::*;

    fn tenant(hosts_vouch_for_emails: bool) -> Tenant {
        let mut tenant: Tenant = serde_json::from_value(serde_json::json!({
            "id": "acme", "environment": "production", "realm": "tenant-a",
            "clients": [], "provisioning": "existing_only",
        }))
        .unwrap();
        tenant.hosts_vouch_for_emails = hosts_vouch_for_emails;
        tenant
    }

    #[test]
    fn a_host_claim_counts_only_where_the_tenant_grants_it() {
        let host = EmailSource::Host {
            says_verified: None,
        };
        assert!(!email_trusted(&tenant(false), "u1", host));
        assert!(email_trusted(&tenant(true), "u1", host));
        assert!(email_trusted(
            &tenant(true),
            "u1",
            EmailSource::Host {
                says_verified: Some(true)
            }
        ));
    }

    #[test]
    fn a_host_that_says_unverified_is_believed() {
        let source = EmailSource::Host {
            says_verified: Some(false),
        };
        assert!(!email_trusted(&tenant(true), "u1", source));
    }

    #[test]
    fn no_host_vouches_for_the_brokers_own_users() {
        let host = EmailSource::Host {
            says_verified: Some(true),
        };
        assert!(!email_trusted(&tenant(true), "ext:auth0:ab:cd", host));
        assert!(!email_trusted(&tenant(true), "registration:r1", host));
    }

    #[test]
    fn platforms_count_as_they_say_and_typed_emails_never() {
        let t = tenant(false);
        assert!(email_trusted(
            &t,
            "ext:a",
            EmailSource::Platform { verified: true }
        ));
        assert!(!email_trusted(
            &t,
            "ext:a",
            EmailSource::Platform { verified: false }
        ));
        assert!(!email_trusted(
            &tenant(true),
            "registration:r",
            EmailSource::Typed
        ));
    }
}
