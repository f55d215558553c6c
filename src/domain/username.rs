//! A username as discovery receives it: an email-shaped login name, ASCII-lowercased.
//! Only ASCII is folded: Unicode look-alikes stay distinct and simply match no rule.

use std::fmt;

/// Longest accepted username, in characters (RFC 5321's practical maximum).
pub const MAX_USERNAME_CHARS: usize = 320;

#[derive(Clone, PartialEq, Eq, Hash)]
/// A username as typed, trimmed and lower-cased: an email address or a plain name.
pub struct Username(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
/// Why a value is not a username.
pub enum UsernameError {
    #[error("the username is empty")]
    /// Empty.
    Empty,
    #[error("the username is longer than {MAX_USERNAME_CHARS} characters")]
    /// Longer than 254 characters.
    TooLong,
    #[error("the username contains a control character")]
    /// Has a control character.
    ControlCharacter,
    #[error("the username contains U+FFFD, the mark of bytes that were not valid UTF-8")]
    /// Has U+FFFD (the input was not UTF-8).
    ReplacementCharacter,
    #[error("the username contains white space")]
    /// Has whitespace inside.
    Whitespace,
    #[error("the username must contain exactly one '@' (name@domain)")]
    /// Has more than one `@`.
    AtSignCount,
    #[error("the username has nothing before the '@'")]
    /// Nothing before the `@`.
    EmptyLocalPart,
    #[error("the username has no domain after the '@'")]
    /// Nothing after the `@`.
    EmptyDomain,
}

impl Username {
    /// Parses a username.
    pub fn parse(raw: &str) -> Result<Self, UsernameError> {
        if raw.is_empty() {
            return Err(UsernameError::Empty);
        }
        if raw.chars().count() > MAX_USERNAME_CHARS {
            return Err(UsernameError::TooLong);
        }
        if raw.chars().any(char::is_control) {
            return Err(UsernameError::ControlCharacter);
        }
        if raw.contains('\u{FFFD}') {
            return Err(UsernameError::ReplacementCharacter);
        }
        if raw.chars().any(char::is_whitespace) {
            return Err(UsernameError::Whitespace);
        }
        let Some((local, domain)) = raw.split_once('@') else {
            return Err(UsernameError::AtSignCount);
        };
        if domain.contains('@') {
            return Err(UsernameError::AtSignCount);
        }
        if local.is_empty() {
            return Err(UsernameError::EmptyLocalPart);
        }
        if domain.is_empty() {
            return Err(UsernameError::EmptyDomain);
        }
        Ok(Self(raw.to_ascii_lowercase()))
    }

    #[must_use]
    /// The username.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after the '@'.
    #[must_use]
    pub fn domain(&self) -> &str {
        self.0.split_once('@').map_or("", |(_, domain)| domain)
    }
}

// Usernames are email addresses: never print them in logs by accident.
impl fmt::Debug for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Username(..)")
    }
}

#[cfg(test)]
mod tests;
