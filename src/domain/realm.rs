//! A Keycloak realm authproxy may talk to. Realms come only from configuration:
//! an authority never comes from request input, so no request can make the
//! broker contact a server of its choosing (no SSRF).

use std::fmt;

use url::Url;

use super::origin::is_loopback;

/// A realm's configured name, such as `tenant-a`.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct RealmName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
/// Why a realm's field is not valid.
pub enum RealmError {
    #[error(
        "a realm name is 1 to 64 characters of a-z, 0-9, '-' and '_', starting with a letter or digit"
    )]
    /// The realm name.
    Name,
    #[error("an IdP alias is 1 to 64 characters of A-Z, a-z, 0-9, '.', '-' and '_'")]
    /// The IdP alias.
    Alias,
    #[error(
        "the authority must be an absolute https URL (http only on loopback), without query, fragment or trailing '/'"
    )]
    /// The authority.
    Authority,
    #[error("a scope is 1 to 64 printable ASCII characters without spaces, quotes or backslashes")]
    /// A scope.
    Scope,
}

impl RealmName {
    /// Parses a realm name.
    pub fn parse(raw: &str) -> Result<Self, RealmError> {
        let valid = (1..=64).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            && raw
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphanumeric());
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(RealmError::Name)
        }
    }

    #[must_use]
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RealmName {
    type Error = RealmError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<RealmName> for String {
    fn from(value: RealmName) -> Self {
        value.0
    }
}

impl fmt::Display for RealmName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The alias of an external identity provider configured in a realm, sent as
/// `kc_idp_hint`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdpAlias(String);

impl IdpAlias {
    /// Parses an IdP alias.
    pub fn parse(raw: &str) -> Result<Self, RealmError> {
        let valid = (1..=64).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(RealmError::Alias)
        }
    }

    #[must_use]
    /// The alias.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for IdpAlias {
    type Error = RealmError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<IdpAlias> for String {
    fn from(value: IdpAlias) -> Self {
        value.0
    }
}

/// A configured realm.
#[derive(Debug, Clone)]
pub struct Realm {
    /// The realm's name.
    pub name: RealmName,
    /// The realm URL, which is also its issuer (`https://HOST/realms/REALM`).
    pub authority: Authority,
    /// Scopes requested besides `openid`.
    pub extra_scopes: Vec<String>,
    /// The broker's own confidential client in this realm, for impersonation and
    /// client provisioning (its service account needs those permissions).
    pub broker_client: Option<BrokerClient>,
    /// How confidential clients authenticate at the realm's token endpoint.
    pub client_auth: ClientAuth,
}

/// How a confidential client sends its secret to the token endpoint (RFC 6749
/// §2.3.1; OIDC Core §9). Keycloak accepts both; other servers accept one.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// HTTP Basic with the form-urlencoded id and secret.
    #[default]
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
}

impl ClientAuth {
    #[must_use]
    /// The method's name in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
        }
    }

    /// Parses `client_secret_basic` or `client_secret_post`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "client_secret_basic" => Ok(Self::ClientSecretBasic),
            "client_secret_post" => Ok(Self::ClientSecretPost),
            _ => Err("must be client_secret_basic or client_secret_post".to_owned()),
        }
    }
}

/// Credentials of the broker's confidential client in a realm.
#[derive(Debug, Clone)]
pub struct BrokerClient {
    /// The client's id in the realm.
    pub client_id: String,
    /// Its secret.
    pub secret: secrecy::SecretString,
}

impl Realm {
    /// The `scope` parameter: `openid` followed by the extra scopes.
    #[must_use]
    pub fn scope(&self) -> String {
        std::iter::once("openid")
            .chain(
                self.extra_scopes
                    .iter()
                    .map(String::as_str)
                    .filter(|s| *s != "openid"),
            )
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Validates an extra scope value (RFC 6749 §3.3 `scope-token`).
pub fn parse_scope(raw: &str) -> Result<String, RealmError> {
    let valid = (1..=64).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\');
    if valid {
        Ok(raw.to_owned())
    } else {
        Err(RealmError::Scope)
    }
}

/// A realm URL, exactly as the realm states its issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authority(Url);

impl Authority {
    /// Parses an authority (`https://HOST/realms/NAME`).
    pub fn parse(raw: &str) -> Result<Self, RealmError> {
        let url = Url::parse(raw).map_err(|_| RealmError::Authority)?;
        let scheme_ok = match url.scheme() {
            "https" => true,
            "http" => url.host_str().is_some_and(is_loopback),
            _ => false,
        };
        let shape_ok = url.username().is_empty()
            && url.password().is_none()
            && url.query().is_none()
            && url.fragment().is_none()
            && !raw.ends_with('/')
            && url.as_str() == raw;
        if scheme_ok && shape_ok {
            Ok(Self(url))
        } else {
            Err(RealmError::Authority)
        }
    }

    #[must_use]
    /// The authority.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// `{authority}/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4).
    #[must_use]
    pub fn metadata_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.0.as_str())
    }

    /// The realm's Admin REST base, `https://HOST/admin/realms/REALM` (Keycloak's
    /// Admin REST API; not part of the OIDC metadata, so derived from the configured URL).
    #[must_use]
    pub fn admin_url(&self) -> Option<String> {
        let (base, realm) = self.0.as_str().rsplit_once("/realms/")?;
        Some(format!("{base}/admin/realms/{realm}"))
    }
}

#[cfg(test)]
mod tests;
