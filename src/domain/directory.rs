//! The user directory: which realm (and external IdP) a username logs in at.
//! Lookup order: the exact user, then the email domain (ASCII-lowercased, exact:
//! no suffix matching, no Unicode folding), then the optional default.

use super::realm::{IdpAlias, RealmName};
use super::username::Username;

/// Where a rule sends its users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Log in at `realm`, through the external IdP `idp_hint` when present.
    Sso {
        realm: RealmName,
        idp_hint: Option<IdpAlias>,
    },
    /// Known, but not enabled for SSO ("not migrated").
    NotMigrated,
}

/// What a rule applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleKey {
    User(Username),
    Domain(EmailDomain),
    Default,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub key: RuleKey,
    pub target: Target,
}

/// The outcome of a directory lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    Found(Target),
    Unknown,
}

/// An email domain as a directory key: ASCII-lowercased, nothing else folded.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailDomain(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a domain is a host name of dot-separated labels (letters, digits, '-'; 1 to 63 characters each, 253 in all), exact: no wildcard, such as corp.example"
)]
pub struct EmailDomainError;

/// One DNS label: letters (any script), digits and inner hyphens.
fn is_label(label: &str) -> bool {
    (1..=63).contains(&label.chars().count())
        && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

impl EmailDomain {
    pub fn parse(raw: &str) -> Result<Self, EmailDomainError> {
        // Exact match only: `*.corp.test` or `corp.test/..` would promise matching
        // the directory does not do.
        let valid = (1..=253).contains(&raw.chars().count()) && raw.split('.').all(is_label);
        if valid {
            Ok(Self(raw.to_ascii_lowercase()))
        } else {
            Err(EmailDomainError)
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
