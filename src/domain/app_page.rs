//! An embedded app's page: the URL a resource or a tenant names for it, and
//! the paths on its origin login links may land on, which no browser reads as
//! another host.

/// Whether `raw` may be the URL of an embedded app's page: absolute https (http
/// only on a loopback host), no user name, no fragment.
#[must_use]
pub fn is_app_url(raw: &str) -> bool {
    url::Url::parse(raw).is_ok_and(|url| {
        let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        (url.scheme() == "https" || (url.scheme() == "http" && loopback))
            && url.host_str().is_some()
            && url.username().is_empty()
            && url.password().is_none()
            && url.fragment().is_none()
            && raw.len() <= 2048
    })
}

/// A path a login link may land on: one absolute path on the app's origin, in a
/// form no browser can read as another host (`//evil`, `/\evil`, their encoded
/// and white-space variants are refused).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LinkPath(String);

/// Why a value is not a link path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "a link target is one absolute path of printable ASCII starting with a single '/', without '\\', '..', white space, '//' or encoded '/', '\\' or '.' (at most 512 characters)"
)]
pub struct LinkPathError;

impl LinkPath {
    /// Parses a path.
    pub fn parse(raw: &str) -> Result<Self, LinkPathError> {
        let bytes = raw.as_bytes();
        let printable = bytes.iter().all(|b| (0x21..0x7f).contains(b));
        let lower = raw.to_ascii_lowercase();
        let encoded_separator = [
            "%2f", "%5c", "%2e", "%25", "%09", "%0a", "%0d", "%00", "%20",
        ]
        .iter()
        .any(|e| lower.contains(e));
        let ok = (1..=512).contains(&raw.len())
            && bytes.first() == Some(&b'/')
            && bytes.get(1) != Some(&b'/')
            && printable
            && !raw.contains('\\')
            && !raw.contains("//")
            && !raw.contains("..")
            && !raw.contains('#')
            && !raw.contains('@')
            && !encoded_separator;
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(LinkPathError)
        }
    }

    /// The path.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for LinkPath {
    type Error = LinkPathError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<LinkPath> for String {
    fn from(value: LinkPath) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests;
