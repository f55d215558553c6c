//! An embedding web application registered with the broker. By the seed's convention
//! its client ID is the application's host (`window.location.host`): a DNS name,
//! lowercase, with an optional port.

use std::fmt;

use secrecy::SecretString;

use super::origin::Origin;
use super::realm::RealmName;

#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
/// A client's id: the FQDN (and port) of the web app.
pub struct ClientId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a client ID is the web application's host name in lowercase with an optional port, such as crm.example.com or localhost:8081 (not a number-only name a URL parser reads as an IP address)"
)]
/// A client id that is not valid.
pub struct ClientIdError;

impl ClientId {
    /// Parses a client id.
    pub fn parse(raw: &str) -> Result<Self, ClientIdError> {
        let (host, port) = match raw.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (raw, None),
        };
        let port_ok = port.is_none_or(|p| {
            !p.starts_with('0') && p.len() <= 5 && p.parse::<u16>().is_ok_and(|n| n > 0)
        });
        let host_ok = (1..=253).contains(&host.len())
            && host.split('.').all(|label| {
                (1..=63).contains(&label.len())
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            });
        // The host must stay itself in a URL: this refuses names a URL parser
        // reads as an IP address written otherwise (`0`, `1.2.3`, `0x7f.1`).
        let host_is_literal = || Origin::parse(&format!("https://{host}")).is_ok();
        if host_ok && port_ok && host_is_literal() {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ClientIdError)
        }
    }

    #[must_use]
    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ClientId {
    type Error = ClientIdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ClientId> for String {
    fn from(value: ClientId) -> Self {
        value.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A registered client: which realms it may log users in to and which opener
/// origins may start a login and receive its outcome.
#[derive(Debug, Clone)]
pub struct Client {
    /// The client's id.
    pub id: ClientId,
    /// The realms its users may log in to.
    pub realms: Vec<RealmName>,
    /// The origins that may embed it (where results are posted).
    pub origins: Vec<Origin>,
    /// Present for confidential clients; the code is then redeemed with HTTP Basic.
    pub secret: Option<SecretString>,
    /// Whether the completion page may ask the user when the login window has
    /// lost its opener.
    pub approval: Approval,
}

/// What the completion page does when the login window has lost its opener
/// (docs/src/security/threat-model.md: who receives a login's result). Asking
/// lets a login finish behind `Cross-Origin-Opener-Policy`, at the price of a
/// prompt a page elsewhere can bring up by opening `/login` without an opener;
/// a client whose pages always keep the opener turns it off and loses nothing.
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
pub enum Approval {
    /// Ask "Continue to <origin> as <user>?" in the broker's window.
    #[default]
    Ask,
    /// Never ask: a login window without its opener releases nothing and
    /// says to start again from the page.
    Off,
}

impl Approval {
    #[must_use]
    /// Its name in the configuration and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ask => "ask",
            Self::Off => "off",
        }
    }

    /// Parses `ask` or `off`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "ask" => Ok(Self::Ask),
            "off" => Ok(Self::Off),
            _ => Err("must be ask or off".to_owned()),
        }
    }
}

impl Client {
    /// Exact, byte-for-byte comparison with the registered origins (RFC 9700 §4.1.3).
    #[must_use]
    pub fn allows_origin(&self, origin: &str) -> bool {
        self.origins.iter().any(|o| o.as_str() == origin)
    }

    #[must_use]
    /// Whether users of `realm` may log in through this client.
    pub fn allows_realm(&self, realm: &RealmName) -> bool {
        self.realms.contains(realm)
    }
}

#[cfg(test)]
mod tests;
