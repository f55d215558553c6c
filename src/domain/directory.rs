//! The user directory: which realm (and external IdP) a username logs in at.
//! Lookup order: the exact user, then the email domain (ASCII-lowercased, exact:
//! no suffix matching, no Unicode folding), then the optional default.

use std::collections::BTreeSet;

use super::realm::{IdpAlias, RealmName};
use super::username::Username;

/// The kinds of rule, as every surface names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    /// One user.
    User,
    /// One user, not enabled for SSO.
    NotMigrated,
    /// Every user of an email domain.
    Domain,
    /// Every user no other rule names.
    Default,
}

impl RuleKind {
    /// Parses `user`, `not_migrated`, `domain` or `default`.
    pub fn parse(raw: &str) -> Result<Self, RuleProblem> {
        match raw {
            "user" => Ok(Self::User),
            "not_migrated" => Ok(Self::NotMigrated),
            "domain" => Ok(Self::Domain),
            "default" => Ok(Self::Default),
            other => Err(RuleProblem::new(
                RuleField::Kind,
                format!("kind {other:?} is not one of user, domain, not_migrated, default"),
            )),
        }
    }
}

/// The part of a rule a problem is in; each surface names it its own way (the
/// configuration says `not_migrated` where the CSV and the API say `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleField {
    /// The kind.
    Kind,
    /// The username or domain.
    Key,
    /// The realm.
    Realm,
    /// The external IdP's alias.
    IdpHint,
}

/// What is wrong with a rule, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RuleProblem {
    /// Which field.
    pub field: RuleField,
    /// What is wrong.
    pub message: String,
}

impl RuleProblem {
    fn new(field: RuleField, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

/// Where a rule sends its users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Log in at `realm`, through the external IdP `idp_hint` when present.
    Sso {
        /// The realm.
        realm: RealmName,
        /// The external IdP's alias in that realm.
        idp_hint: Option<IdpAlias>,
    },
    /// Known, but not enabled for SSO ("not migrated").
    NotMigrated,
}

/// What a rule applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RuleKey {
    /// One user.
    User(Username),
    /// An email domain.
    Domain(EmailDomain),
    /// The default.
    Default,
}

#[derive(Debug, Clone, PartialEq, Eq)]
/// One directory rule: whom it names and where they go.
pub struct Rule {
    /// Whom it names.
    pub key: RuleKey,
    /// Where they go.
    pub target: Target,
}

impl Rule {
    /// The one validation of a rule, from its parts as the configuration file, the
    /// CSV import and the admin API carry them, against the configured realms.
    /// Every problem is reported with its field.
    pub fn from_parts(
        kind: RuleKind,
        key: &str,
        realm: Option<&str>,
        idp_hint: Option<&str>,
        realms: &BTreeSet<RealmName>,
    ) -> Result<Self, Vec<RuleProblem>> {
        let mut problems = Vec::new();
        let key = match kind {
            RuleKind::User | RuleKind::NotMigrated => Username::parse(key)
                .map(RuleKey::User)
                .map_err(|e| problems.push(RuleProblem::new(RuleField::Key, e.to_string())))
                .ok(),
            RuleKind::Domain => EmailDomain::parse(key)
                .map(RuleKey::Domain)
                .map_err(|e| problems.push(RuleProblem::new(RuleField::Key, e.to_string())))
                .ok(),
            RuleKind::Default if key.is_empty() => Some(RuleKey::Default),
            RuleKind::Default => {
                problems.push(RuleProblem::new(
                    RuleField::Key,
                    "a default rule has an empty key",
                ));
                None
            }
        };
        let target = match (kind, realm) {
            (RuleKind::NotMigrated, Some(_)) => {
                problems.push(RuleProblem::new(
                    RuleField::Kind,
                    "give either a realm or not_migrated, not both",
                ));
                None
            }
            (RuleKind::NotMigrated, None) if idp_hint.is_some() => {
                problems.push(RuleProblem::new(
                    RuleField::IdpHint,
                    "a user that is not migrated has no IdP hint",
                ));
                None
            }
            (RuleKind::NotMigrated, None) => Some(Target::NotMigrated),
            (_, None) => {
                problems.push(RuleProblem::new(
                    RuleField::Realm,
                    "name a configured realm (or, for a user, mark it not migrated)",
                ));
                None
            }
            (_, Some(realm)) => {
                let realm = known_realm(realm, realms)
                    .map_err(|e| problems.push(RuleProblem::new(RuleField::Realm, e)))
                    .ok();
                let idp_hint = idp_hint
                    .map(IdpAlias::parse)
                    .transpose()
                    .map_err(|e| problems.push(RuleProblem::new(RuleField::IdpHint, e.to_string())))
                    .ok();
                realm
                    .zip(idp_hint)
                    .map(|(realm, idp_hint)| Target::Sso { realm, idp_hint })
            }
        };
        match (key, target) {
            (Some(key), Some(target)) if problems.is_empty() => Ok(Self { key, target }),
            _ => Err(problems),
        }
    }
}

/// `raw` as one of the configured realms.
fn known_realm(raw: &str, realms: &BTreeSet<RealmName>) -> Result<RealmName, String> {
    let name = RealmName::parse(raw).map_err(|e| e.to_string())?;
    if realms.contains(&name) {
        Ok(name)
    } else {
        let known: Vec<_> = realms.iter().map(RealmName::as_str).collect();
        Err(format!(
            "realm {raw:?} is not configured (configured: {})",
            known.join(", ")
        ))
    }
}

/// The outcome of a directory lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// The user's target.
    Found(Target),
    /// No rule names the user.
    Unknown,
}

/// An email domain as a directory key: ASCII-lowercased, nothing else folded.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailDomain(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a domain is a host name of dot-separated labels (letters, digits, '-'; 1 to 63 characters each, 253 in all), exact: no wildcard, such as corp.example"
)]
/// An email domain that is not valid.
pub struct EmailDomainError;

/// One DNS label: letters (any script), digits and inner hyphens.
fn is_label(label: &str) -> bool {
    (1..=63).contains(&label.chars().count())
        && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

impl EmailDomain {
    /// Parses an email domain (lower-cased).
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
    /// The domain.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
