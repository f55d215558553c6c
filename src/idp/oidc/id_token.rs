//! ID tokens: the signature against the realm's key set, asymmetric algorithms
//! only (never `none`, never an HMAC keyed by public data), then issuer,
//! audience, nonce and times, `iat` at most a minute ahead.

use openidconnect::core::{CoreIdToken, CoreJwsSigningAlgorithm};
use openidconnect::{ClaimsVerificationError, IdTokenVerifier, IssuerUrl, Nonce};

use super::{KeySet, MAX_CLOCK_SKEW, OidcProvider};
use crate::domain::ClientId;
use crate::idp::VerifiedIdToken;
use crate::idp::jwk::RealmKey;

impl OidcProvider {
    pub(super) fn verify_with(
        &self,
        keys: &KeySet,
        issuer: &str,
        client_id: &ClientId,
        token: &CoreIdToken,
        nonce: &str,
    ) -> Result<VerifiedIdToken, ClaimsVerificationError> {
        let issuer = IssuerUrl::new(issuer.to_owned())
            .map_err(|e| ClaimsVerificationError::Other(e.to_string()))?;
        let now = self.clock.now();
        let verifier = IdTokenVerifier::<RealmKey>::new_public_client(
            openidconnect::ClientId::new(client_id.as_str().to_owned()),
            issuer,
            keys.clone(),
        )
        // Asymmetric algorithms only: never `none`, never HMAC keyed by public data.
        .set_allowed_algs([
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
            CoreJwsSigningAlgorithm::RsaSsaPssSha256,
            CoreJwsSigningAlgorithm::RsaSsaPssSha384,
            CoreJwsSigningAlgorithm::RsaSsaPssSha512,
            CoreJwsSigningAlgorithm::EcdsaP256Sha256,
            CoreJwsSigningAlgorithm::EcdsaP384Sha384,
        ])
        .set_time_fn(move || now)
        .set_issue_time_verifier_fn(move |iat| {
            if iat > now + MAX_CLOCK_SKEW {
                Err("iat is in the future".to_owned())
            } else {
                Ok(())
            }
        });
        let claims = token.claims(&verifier, &Nonce::new(nonce.to_owned()))?;
        Ok(VerifiedIdToken {
            subject: claims.subject().as_str().to_owned(),
            preferred_username: claims.preferred_username().map(|u| u.as_str().to_owned()),
        })
    }
}
