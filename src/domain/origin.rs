//! A registered web origin (`scheme://host[:port]`) in canonical form.
//!
//! RFC 9700 §4.1.3: registered values are validated once, at
//! registration, and requests are compared to them byte for byte. The `url` crate
//! is used only to check that a value is already canonical, never to normalise a
//! value that arrives in a request.

use std::fmt;

use url::Url;

#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
/// A web origin in its canonical form (`https://host[:port]`).
pub struct Origin(String);

impl TryFrom<String> for Origin {
    type Error = OriginError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Origin> for String {
    fn from(value: Origin) -> Self {
        value.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
/// Why a value is not an origin.
pub enum OriginError {
    #[error("not an absolute URL of the form scheme://host[:port]")]
    /// Not a URL.
    NotAUrl,
    #[error("the scheme must be https (http only for localhost, 127.0.0.1 or [::1])")]
    /// Not http or https.
    Scheme,
    #[error("an origin has no user name or password (no '@')")]
    /// Carries a user name or password.
    Userinfo,
    #[error("an origin has no path, not even a trailing '/'")]
    /// Carries a path.
    Path,
    #[error("an origin has no query or fragment")]
    /// Carries a query or a fragment.
    QueryOrFragment,
    #[error("wildcards are not allowed: register each origin")]
    /// A wildcard.
    Wildcard,
    #[error("not in canonical form: write it as {0}")]
    /// Not written canonically; the canonical form.
    NotCanonical(String),
}

impl Origin {
    /// Parses an origin, refusing any form but the canonical one.
    pub fn parse(raw: &str) -> Result<Self, OriginError> {
        if raw.contains('*') {
            return Err(OriginError::Wildcard);
        }
        let url = Url::parse(raw).map_err(|_| OriginError::NotAUrl)?;
        if !url.username().is_empty() || url.password().is_some() || raw.contains('@') {
            return Err(OriginError::Userinfo);
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(OriginError::QueryOrFragment);
        }
        let Some(host) = url.host_str() else {
            return Err(OriginError::NotAUrl);
        };
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(host) => {}
            _ => return Err(OriginError::Scheme),
        }
        if url.path() != "/" || raw.ends_with('/') {
            return Err(OriginError::Path);
        }
        let canonical = url.origin().ascii_serialization();
        if host.ends_with('.') {
            return Err(OriginError::NotCanonical(
                canonical.trim_end_matches('.').to_owned(),
            ));
        }
        if canonical != raw {
            return Err(OriginError::NotCanonical(canonical));
        }
        Ok(Self(canonical))
    }

    #[must_use]
    /// The origin.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Hosts on which plain `http` is tolerated (development on one machine).
#[must_use]
pub fn is_loopback(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

impl fmt::Debug for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Origin({})", self.0)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests;
