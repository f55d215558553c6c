//! The broker's session token (`typ: authproxy-session+jwt`, ES256): its
//! claims as one type, written and read by serde, so the format is stated once.
//! The broker signs it ([`crate::auth::signing::BrokerKeys`]); the session core
//! checks `iss`, `aud` and the times when it reads one back.

use chrono::serde::ts_seconds;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::vouched::Profile;
use crate::domain::{ClientId, ResourceRef, Role, TenantId};

/// The `typ` of the broker's session tokens.
pub const SESSION_TOKEN_TYPE: &str = "authproxy-session+jwt";

/// The claims of a session token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionClaims {
    /// The broker (set again when signed).
    pub iss: String,
    /// The client whose frame holds the session.
    pub aud: ClientId,
    /// The host's id of the user.
    pub sub: String,
    /// The user's tenant.
    pub tenant: TenantId,
    /// The session's id.
    pub sid: String,
    /// When this token was signed.
    #[serde(with = "ts_seconds")]
    pub iat: DateTime<Utc>,
    /// When this token stops working (the SDK renews it before).
    #[serde(with = "ts_seconds")]
    pub exp: DateTime<Utc>,
    /// When the session started.
    #[serde(with = "ts_seconds")]
    pub session_iat: DateTime<Utc>,
    /// When the session ends, whatever renewals happen.
    #[serde(with = "ts_seconds")]
    pub session_exp: DateTime<Utc>,
    /// The user's id at the tenant's realm.
    pub realm_user: String,
    /// The parent tenant acting for the user's tenant (RFC 8693 `act`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Actor>,
    /// The resource it was made for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceRef>,
    /// Whether it is valid for that resource only (written with `resource`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_specific: Option<bool>,
    /// The user's role on the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// The registration it was made for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration: Option<String>,
    /// The slot it holds (one session per registration, or per user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<String>,
    /// What the embedded app shows of the user (`name`, `email`, ...).
    #[serde(flatten)]
    pub profile: Profile,
}

/// Who acts for the user's tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The parent tenant.
    pub sub: TenantId,
}

impl SessionClaims {
    /// The claims as the signer takes them.
    #[must_use]
    pub fn to_map(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }

    /// Reads verified claims; `None` when they are not a session token's.
    #[must_use]
    pub fn from_map(claims: Map<String, Value>) -> Option<Self> {
        serde_json::from_value(Value::Object(claims)).ok()
    }
}

/// An embed session as its token carries it.
pub(crate) struct Session {
    pub(crate) client: ClientId,
    pub(crate) tenant: TenantId,
    pub(crate) sub: String,
    pub(crate) sid: String,
    pub(crate) started: DateTime<Utc>,
    pub(crate) ends_at: DateTime<Utc>,
    pub(crate) realm_user: String,
    pub(crate) acting: Option<TenantId>,
    pub(crate) profile: Profile,
    pub(crate) resource: Option<ResourceRef>,
    pub(crate) resource_specific: bool,
    pub(crate) role: Option<Role>,
    pub(crate) registration: Option<String>,
    /// The slot it holds (one session per registration, or per user).
    pub(crate) slot: Option<String>,
}

#[cfg(test)]
mod tests;
