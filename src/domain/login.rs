//! A login in flight and its outcome. The pending login is what `/login` stores
//! under its `state` and `/authproxy` consumes exactly once; the outcome is what
//! the opener redeems with its `txn_verifier`.

use chrono::{DateTime, Utc};

use super::client::ClientId;
use super::origin::Origin;
use super::realm::RealmName;
use super::txn::{TxnChallenge, TxnId};

/// How long a started login may take (the popup's whole life).
pub const PENDING_LOGIN_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::minutes(10);
/// How long a completed login waits for its redemption.
pub const OUTCOME_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::seconds(120);
/// Wrong verifiers tolerated before the transaction is burnt.
pub const MAX_VERIFIER_FAILURES: u32 = 3;

/// Everything `/authproxy` needs to finish a login, stored server-side under the
/// hash of its `state`.
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
    /// SHA-256 (base64url) of the browser-binding cookie set by `/login`.
    pub browser_binding: String,
    /// The username the login started with.
    pub username: String,
    /// When the login expires.
    pub expires_at: DateTime<Utc>,
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
    },
}
