//! A login in flight and its outcome. The pending login is what `/login` seals
//! into the browser's binding cookie and `/authproxy` opens, for one state,
//! exactly once; the outcome is what the opener redeems with its `txn_verifier`.

use chrono::{DateTime, Utc};

use super::client::ClientId;
use super::origin::Origin;
use super::realm::RealmName;
use super::txn::{TxnChallenge, TxnId};
use crate::crypto::{CryptoError, Sealer};

/// How long a started login may take (the popup's whole life).
pub const PENDING_LOGIN_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::minutes(10);
/// How long a completed login waits for its redemption.
pub const OUTCOME_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::seconds(120);
/// Wrong verifiers tolerated before the transaction is burnt.
pub const MAX_VERIFIER_FAILURES: u32 = 3;

/// Everything `/authproxy` needs to finish a login. It travels sealed (AEAD) in
/// the cookie `/login` sets, bound to the login's state and the cookie's name, so
/// the broker writes nothing until the user comes back.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct PendingLogin {
    /// The client the login is for.
    pub client_id: ClientId,
    /// The realm the user logs in to.
    pub realm: RealmName,
    /// The realm's issuer, compared with the response's `iss` (RFC 9207).
    pub issuer: String,
    /// Whether the realm announced RFC 9207 `iss` when the login started.
    #[serde(default)]
    pub require_iss: bool,
    /// The OIDC nonce sent to the realm.
    pub nonce: String,
    /// The PKCE verifier of the code.
    pub pkce_verifier: String,
    /// The opener's origin, where the result is posted.
    pub origin: Origin,
    /// The opener's transaction id.
    pub txn: TxnId,
    /// The challenge of the opener's transaction verifier.
    pub txn_challenge: TxnChallenge,
    /// The username the login started with.
    pub username: String,
    /// When the login expires.
    pub expires_at: DateTime<Utc>,
}

impl PendingLogin {
    /// The login sealed for the cookie, base64url: AEAD under `sealer` with
    /// `binding` (the cookie's name and the state's hash) as associated data, so it opens only
    /// for the same state and cookie.
    pub fn seal(&self, sealer: &Sealer, binding: &[u8]) -> Result<String, CryptoError> {
        sealer.seal_json(binding, self)
    }

    /// Opens a login sealed by [`PendingLogin::seal`] with the same `binding`;
    /// `None` when it was sealed for another state or cookie, under another key, or
    /// tampered with.
    #[must_use]
    pub fn open(sealer: &Sealer, binding: &[u8], cookie: &str) -> Option<Self> {
        sealer.open_json(binding, cookie)
    }
}

/// Tokens handed over to the opener.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct TokenSet {
    /// The access token.
    pub access_token: String,
    /// The refresh token, when the realm issued one.
    pub refresh_token: Option<String>,
    /// The ID token.
    pub id_token: String,
    /// The access token's lifetime, in seconds.
    pub expires_in: Option<u64>,
    /// The refresh token's lifetime, in seconds.
    pub refresh_expires_in: Option<u64>,
    /// The token type (`Bearer`).
    pub token_type: String,
}

/// The longest realm error description an opener receives.
pub const MAX_DESCRIPTION: usize = 300;

/// A realm's `error_description` as the opener receives it: control
/// characters removed, at most [`MAX_DESCRIPTION`] characters, none when empty.
#[must_use]
pub fn realm_description(raw: Option<&str>) -> Option<String> {
    let kept: String = raw?
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_DESCRIPTION)
        .collect();
    let kept = kept.trim();
    (!kept.is_empty()).then(|| kept.to_owned())
}

/// The result of a login, as the opener receives it.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum LoginOutcome {
    /// The user logged in.
    Success {
        /// The tokens.
        tokens: TokenSet,
        /// The realm's issuer.
        authority: String,
        /// The client.
        client_id: ClientId,
        /// The user's username at the realm.
        username: String,
    },
    /// The login failed.
    Failure {
        /// A stable error code (the IdP's `error`, or the broker's own).
        error: String,
        /// The realm's own description of its error, when it gave one (shortened
        /// to [`MAX_DESCRIPTION`] characters, control characters removed).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
    },
}
