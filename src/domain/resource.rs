//! What a tenant embeds its app for (an event, a room, a call queue): a resource
//! with the app's URL for it and the people who hold more than the attendee role;
//! the roles a session gets there; and the paths a one-time login link may land
//! on, which can never point anywhere else.

use std::fmt;

use super::FieldProblem;
use super::tenant::TenantId;

super::slug::slug_id!(
    /// A resource's id within its tenant.
    ResourceId,
    ResourceIdError,
    "a resource ID"
);

super::slug::slug_id!(
    /// What kind of resource it is (`event`, `room`, ...).
    ResourceType,
    ResourceTypeError,
    "a resource type"
);

/// A resource as a request names it: its type and id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceRef {
    /// Its kind.
    #[serde(rename = "type")]
    pub kind: ResourceType,
    /// Its id.
    pub id: ResourceId,
}

impl fmt::Display for ResourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.id)
    }
}

/// A session's role on a resource, lowest first.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Anyone the tenant lets in (the default).
    Attendee,
    /// Listed as a presenter.
    Presenter,
    /// Listed as an organizer.
    Organizer,
}

impl Role {
    /// The name, as in the session token.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Attendee => "attendee",
            Self::Presenter => "presenter",
            Self::Organizer => "organizer",
        }
    }
}

/// Who holds more than the attendee role: user ids (the host's `sub`) or email
/// addresses (compared case-insensitively).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Acl {
    /// Presenters.
    #[serde(default)]
    pub presenters: Vec<String>,
    /// Organizers.
    #[serde(default)]
    pub organizers: Vec<String>,
}

/// The most entries an ACL list holds.
pub const MAX_ACL_ENTRIES: usize = 250;

impl Acl {
    /// What is wrong with the lists, if anything.
    #[must_use]
    pub fn problems(&self) -> Vec<FieldProblem> {
        let mut problems = Vec::new();
        for (name, list) in [
            ("presenters", &self.presenters),
            ("organizers", &self.organizers),
        ] {
            if list.len() > MAX_ACL_ENTRIES {
                problems.push(FieldProblem {
                    path: name.into(),
                    message: format!("at most {MAX_ACL_ENTRIES} entries"),
                });
            }
            for (i, entry) in list.iter().enumerate() {
                if entry.is_empty() || entry.len() > 320 || entry.chars().any(char::is_control) {
                    problems.push(FieldProblem {
                        path: format!("{name}[{i}]"),
                        message: "a user id or an email address: 1 to 320 characters, no control characters".into(),
                    });
                }
            }
        }
        problems
    }

    /// The role of the user `sub` (with `email`, when known).
    #[must_use]
    pub fn role_of(&self, sub: &str, email: Option<&str>) -> Role {
        let listed = |list: &[String]| {
            list.iter().any(|entry| {
                entry == sub
                    || email.is_some_and(|e| entry.contains('@') && entry.eq_ignore_ascii_case(e))
            })
        };
        if listed(&self.organizers) {
            Role::Organizer
        } else if listed(&self.presenters) {
            Role::Presenter
        } else {
            Role::Attendee
        }
    }
}

/// A tenant's resource: where the app shows it, and its ACL.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resource {
    /// The tenant it belongs to.
    pub tenant: TenantId,
    /// Its kind.
    #[serde(rename = "type")]
    pub kind: ResourceType,
    /// Its id.
    pub id: ResourceId,
    /// The embedded app's page for it (on an origin of the tenant's clients).
    pub url: String,
    /// Who presents and organizes.
    #[serde(default)]
    pub acl: Acl,
}

impl Resource {
    /// The reference a request uses.
    #[must_use]
    pub fn reference(&self) -> ResourceRef {
        ResourceRef {
            kind: self.kind.clone(),
            id: self.id.clone(),
        }
    }
}

#[cfg(test)]
mod tests;
