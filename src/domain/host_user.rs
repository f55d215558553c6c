//! What a host says of its user, parsed once at the edge: the user's id
//! ([`HostUserId`]) and the profile fields ([`Email`], a name, a picture), each
//! with the rule its refusal names.

use serde::{Deserialize, Serialize};

use super::email::{EmailProblem, RegistrationEmail};
use super::tenant::is_reserved_user_id;

/// A user's id in a tenant: 1 to 255 characters, no control characters. A host
/// names its users with [`HostUserId::parse`], which also refuses the broker's
/// own namespaces (`registration:`, `ext:`); the broker makes those itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HostUserId(String);

/// Why a host's user id is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the host's user id, 1 to 255 characters, no control characters, not starting with registration: or ext:"
)]
pub struct HostUserIdError;

impl HostUserId {
    /// A host's id of its user.
    ///
    /// # Errors
    /// Empty, longer than 255 bytes, with a control character, or in the
    /// broker's namespaces.
    pub fn parse(raw: &str) -> Result<Self, HostUserIdError> {
        let shaped = !raw.is_empty() && raw.len() <= 255 && !raw.chars().any(char::is_control);
        if !shaped || is_reserved_user_id(raw) {
            return Err(HostUserIdError);
        }
        Ok(Self(raw.to_owned()))
    }

    /// An id the broker made in its own namespace (`registration:<id>`,
    /// `ext:<provider>:<id>`).
    #[must_use]
    pub fn broker_made(id: String) -> Self {
        debug_assert!(is_reserved_user_id(&id));
        Self(id)
    }

    /// The id as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for HostUserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An email address a party gave for a user, kept as written once it passed
/// the one email rule of every way in (look-alikes refused).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// An address as written, if it is one.
    ///
    /// # Errors
    /// Not an address, or one with look-alike characters.
    pub fn parse(raw: &str) -> Result<Self, EmailProblem> {
        RegistrationEmail::parse(raw)?;
        Ok(Self(raw.to_owned()))
    }

    /// The address as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = EmailProblem;

    fn try_from(raw: String) -> Result<Self, EmailProblem> {
        RegistrationEmail::parse(&raw)?;
        Ok(Self(raw))
    }
}

impl From<Email> for String {
    fn from(email: Email) -> Self {
        email.0
    }
}

/// Which profile field is refused, and the rule it breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProfileProblem {
    /// The name.
    #[error("1 to 256 characters, no control characters")]
    Name,
    /// The email.
    #[error("{}", email_rule(*.0))]
    Email(EmailProblem),
    /// The picture.
    #[error("an https: URL of at most 2048 characters")]
    Picture,
}

fn email_rule(problem: EmailProblem) -> &'static str {
    match problem {
        EmailProblem::LookAlike => {
            "holds look-alike characters (fullwidth or compatibility forms, invisible characters, or letters of several scripts in one word); write the address in its plain form"
        }
        EmailProblem::Malformed => "an email address",
    }
}

impl ProfileProblem {
    /// The field, as the broker's own requests name it (`name`, `email`,
    /// `picture`).
    #[must_use]
    pub fn field(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Email(_) => "email",
            Self::Picture => "picture",
        }
    }
}

/// A display name: 1 to 256 characters, no control characters.
///
/// # Errors
/// [`ProfileProblem::Name`].
pub fn check_name(name: &str) -> Result<(), ProfileProblem> {
    if name.is_empty() || name.len() > 256 || name.chars().any(char::is_control) {
        return Err(ProfileProblem::Name);
    }
    Ok(())
}

/// A picture: an `https:` URL of at most 2048 characters.
///
/// # Errors
/// [`ProfileProblem::Picture`].
pub fn check_picture(picture: &str) -> Result<(), ProfileProblem> {
    let https = picture.len() <= 2048
        && url::Url::parse(picture).is_ok_and(|u| u.scheme() == "https" && u.host_str().is_some());
    if https {
        Ok(())
    } else {
        Err(ProfileProblem::Picture)
    }
}

#[cfg(test)]
mod tests;
