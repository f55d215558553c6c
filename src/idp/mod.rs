//! Access to Keycloak realms behind a trait. Flows ask for a realm's metadata, a
//! code redemption and an ID-token check; they never build IdP URLs themselves
//! (OpenID Connect Discovery: endpoints come from the realm's metadata).

pub mod admin_rest;
pub mod health;
pub mod host_jwks;
pub mod http;
pub mod issued;
pub mod jwk;
pub mod jws;
pub mod oidc;

use std::sync::Arc;

use async_trait::async_trait;
use secrecy::SecretString;
use url::Url;

use crate::domain::{ClientId, Realm, TokenSet};

/// The parts of a realm's OIDC metadata the broker uses.
#[derive(Debug, Clone)]
pub struct RealmMetadata {
    /// The issuer.
    pub issuer: String,
    /// Where to send the user.
    pub authorization_endpoint: Url,
    /// Where codes are redeemed.
    pub token_endpoint: Url,
    /// The realm's keys.
    pub jwks_uri: Url,
    /// Where sessions end, when the realm supports RP-initiated logout.
    pub end_session_endpoint: Option<Url>,
    /// `authorization_response_iss_parameter_supported` (RFC 9207 §3): the realm
    /// sends `iss` in every authorization response, so one without it is refused.
    pub sends_iss: bool,
}

/// A code to redeem at a realm's token endpoint.
pub struct CodeRedemption<'a> {
    /// The client the code was issued to.
    pub client_id: &'a ClientId,
    /// Its secret, when confidential.
    pub client_secret: Option<&'a SecretString>,
    /// The code.
    pub code: &'a str,
    /// The PKCE verifier.
    pub pkce_verifier: &'a str,
    /// The redirect URI the code was sent to.
    pub redirect_uri: &'a str,
}

/// The claims of a verified ID token that the broker uses.
#[derive(Debug, Clone)]
pub struct VerifiedIdToken {
    /// The user's id at the realm.
    pub subject: String,
    /// The user's username at the realm.
    pub preferred_username: Option<String>,
}

#[derive(Debug, thiserror::Error)]
/// Why a call to a realm failed.
pub enum IdpError {
    #[error("the realm could not be reached")]
    /// The realm does not answer.
    Unreachable,
    #[error("the realm did not answer in time")]
    /// The realm took too long.
    Timeout,
    #[error("the realm answered with HTTP {0}")]
    /// The realm answered with an error status.
    Status(u16),
    #[error("the realm's answer was not usable: {0}")]
    /// The realm's answer is malformed.
    InvalidResponse(String),
    #[error("the realm's metadata names issuer {found:?}, not the configured authority")]
    /// The realm names another issuer.
    IssuerMismatch {
        /// The issuer the realm names.
        found: String,
    },
    #[error("the realm refused the request (HTTP {status}): {error}")]
    /// The realm refused the request.
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The OAuth `error` (or `http_<status>`).
        error: String,
    },
    #[error("the realm has no broker client configured")]
    /// The realm has no broker client configured.
    NoBrokerClient,
    #[error("the realm does not offer the token exchange with requested_subject")]
    /// The realm's token endpoint does not take `requested_subject` (a Keycloak
    /// without the legacy token exchange).
    ExchangeUnsupported,
    #[error("the ID token is not valid: {0}")]
    /// The ID token does not verify.
    InvalidIdToken(String),
}

/// A realm user found through Admin REST.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealmUser {
    /// The user's id.
    pub id: String,
    /// The user's username.
    pub username: String,
}

/// What looking a directory name up in the realm found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserLookup {
    /// One user.
    Found(RealmUser),
    /// No user.
    NotFound,
    /// Several users share the address (a realm that allows duplicate emails).
    Ambiguous,
}

/// A token obtained by impersonation (Keycloak's legacy token exchange).
pub struct ExchangedToken {
    /// The token.
    pub access_token: String,
    /// Its lifetime, in seconds.
    pub expires_in: u64,
    /// Its type (`Bearer`).
    pub token_type: String,
    /// The issued token type.
    pub issued_token_type: String,
}

/// The subset of Keycloak's Admin REST API for clients that provisioning uses,
/// called with the broker's service-account token. Client representations stay
/// JSON so fields authproxy does not manage survive updates.
#[async_trait]
pub trait KeycloakAdmin: Send + Sync {
    /// `GET /admin/realms/{realm}/clients?clientId=X`: the client, if it exists.
    async fn find_client(
        &self,
        realm: &Realm,
        client_id: &str,
    ) -> Result<Option<serde_json::Value>, IdpError>;
    /// `POST /admin/realms/{realm}/clients`.
    async fn create_client(
        &self,
        realm: &Realm,
        representation: &serde_json::Value,
    ) -> Result<(), IdpError>;
    /// `PUT /admin/realms/{realm}/clients/{id}`.
    async fn update_client(
        &self,
        realm: &Realm,
        id: &str,
        representation: &serde_json::Value,
    ) -> Result<(), IdpError>;

    /// The realm's user for a directory name: `GET /admin/realms/{realm}/users`
    /// with `email=NAME&exact=true`, then `username=NAME&exact=true`. Keycloak's
    /// legacy exchange matches `requested_subject` against a username or an id,
    /// never an email (docs/src/developers/protocol-facts.md), so impersonation sends the id found here.
    async fn find_user(&self, realm: &Realm, name: &str) -> Result<UserLookup, IdpError>;

    /// `POST /admin/realms/{realm}/users`: creates a user (no credentials).
    async fn create_user(
        &self,
        realm: &Realm,
        representation: &serde_json::Value,
    ) -> Result<(), IdpError>;

    /// `POST /admin/realms/{realm}/users/{id}/federated-identity/{alias}`: links the
    /// user to an identity provider as `external_id`; `Ok` also when linked already.
    async fn link_user(
        &self,
        realm: &Realm,
        id: &str,
        alias: &str,
        external_id: &str,
        username: &str,
    ) -> Result<(), IdpError>;

    /// `PUT /admin/realms/{realm}/users/{id}`: updates the fields given.
    async fn update_user(
        &self,
        realm: &Realm,
        id: &str,
        representation: &serde_json::Value,
    ) -> Result<(), IdpError>;

    /// `POST /admin/realms/{realm}/users/{id}/logout`: ends every Keycloak
    /// session of the user (their refresh tokens stop working).
    async fn logout_user(&self, realm: &Realm, id: &str) -> Result<(), IdpError>;
}

#[async_trait]
/// A realm's OIDC endpoints, as the flows use them.
pub trait IdentityProvider: Send + Sync {
    /// Keycloak's legacy (V1) token exchange with `requested_subject` (the
    /// standard V2 exchange cannot impersonate), as the broker's service
    /// account, whose token is cached and fetched once for concurrent callers.
    async fn impersonate(
        &self,
        realm: &Realm,
        subject: &str,
        audience: Option<&str>,
    ) -> Result<ExchangedToken, IdpError>;

    /// RFC 7523's JWT authorization grant (Keycloak 26.5+, feature
    /// `jwt-authorization-grant`): the broker's client trades an `assertion` the
    /// broker signed, for the user linked to the realm's identity provider that
    /// trusts the broker, for an access token (no refresh token).
    async fn assertion_grant(
        &self,
        realm: &Realm,
        assertion: &str,
    ) -> Result<ExchangedToken, IdpError>;

    /// The realm's metadata, from cache when fresh (or stale while the realm fails).
    async fn metadata(&self, realm: &Realm) -> Result<Arc<RealmMetadata>, IdpError>;

    /// Asks the realm now, past any cache: its metadata answers and names the
    /// configured issuer (a health check, and the check before a realm is saved).
    async fn check(&self, realm: &Realm) -> Result<(), IdpError> {
        self.metadata(realm).await.map(|_| ())
    }

    /// Redeems an authorization code (never retried: a code is used once).
    async fn redeem_code(
        &self,
        realm: &Realm,
        redemption: CodeRedemption<'_>,
    ) -> Result<TokenSet, IdpError>;

    /// Verifies an ID token's signature against the realm's keys and its claims.
    async fn verify_id_token(
        &self,
        realm: &Realm,
        client_id: &ClientId,
        id_token: &str,
        nonce: &str,
    ) -> Result<VerifiedIdToken, IdpError>;
}
