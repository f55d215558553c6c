//! Access to Keycloak realms behind a trait. Flows ask for a realm's metadata, a
//! code redemption and an ID-token check; they never build IdP URLs themselves
//! (PROTOCOL.md §1: endpoints come from the realm's metadata).

pub mod oidc;

use std::sync::Arc;

use async_trait::async_trait;
use secrecy::SecretString;
use url::Url;

use crate::domain::{ClientId, Realm, TokenSet};

/// The parts of a realm's OIDC metadata the broker uses.
#[derive(Debug, Clone)]
pub struct RealmMetadata {
    pub issuer: String,
    pub authorization_endpoint: Url,
    pub token_endpoint: Url,
    pub jwks_uri: Url,
    pub end_session_endpoint: Option<Url>,
}

/// A code to redeem at a realm's token endpoint.
pub struct CodeRedemption<'a> {
    pub client_id: &'a ClientId,
    pub client_secret: Option<&'a SecretString>,
    pub code: &'a str,
    pub pkce_verifier: &'a str,
    pub redirect_uri: &'a str,
}

/// The claims of a verified ID token that the broker uses.
#[derive(Debug, Clone)]
pub struct VerifiedIdToken {
    pub subject: String,
    pub preferred_username: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum IdpError {
    #[error("the realm could not be reached")]
    Unreachable,
    #[error("the realm did not answer in time")]
    Timeout,
    #[error("the realm answered with HTTP {0}")]
    Status(u16),
    #[error("the realm's answer was not usable: {0}")]
    InvalidResponse(String),
    #[error("the realm's metadata names issuer {found:?}, not the configured authority")]
    IssuerMismatch { found: String },
    #[error("the realm refused the request: {error}")]
    Rejected { error: String },
    #[error("the ID token is not valid: {0}")]
    InvalidIdToken(String),
}

#[async_trait]
pub trait IdentityProvider: Send + Sync {
    /// The realm's metadata, from cache when fresh (or stale while the realm fails).
    async fn metadata(&self, realm: &Realm) -> Result<Arc<RealmMetadata>, IdpError>;

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
