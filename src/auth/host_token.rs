//! The one strict verifier of host tokens (`typ: authproxy-host+jwt`): the
//! tokens a host's backend signs (or has `POST /api/v1/embed/tokens` mint) to vouch
//! for its logged-in user (docs/src/developers/protocol-facts.md, RFC 8725). The key is looked up by
//! `kid` among the keys of the tenant named by `iss`, and its one algorithm must
//! be the header's; `aud` is this broker's audience of the tenant's environment;
//! the claims have bounded lengths and the right JSON types; the token lives at
//! most 5 minutes, with 60 s of leeway; its `jti` is used once, recorded until
//! the token expires. A parent tenant's key acts for a sub-tenant only when the
//! sub-tenant grants it and the key may, and the result says it acted (RFC 8693
//! `act`). Every refusal has a stable reason for the audit trail; the browser
//! only ever learns `invalid_token`.

mod claims;
mod rejection;

pub use rejection::Rejection;

use claims::{email_claim, host_sub, picture, required_text, required_time, text, time};

use chrono::{DateTime, TimeDelta, Utc};
use secrecy::ExposeSecret as _;
use serde_json::{Map, Value};

use super::jwt;
use super::signing::{BrokerKeys, OwnTokenProblem};
use crate::crypto;
use crate::domain::HostKey;
use crate::domain::tenant::DEFAULT_SESSION_SECS;
use crate::domain::{
    Email, Environment, HostUserId, KeyAlgorithm, KeyId, Tenant, TenantId, VerifyingKey,
};
use crate::idp::host_jwks::HostJwks;
use crate::store::tenants::TenantStore;
use crate::store::{DurableStore, LoginStore, StoreError};

/// The `typ` of a host token.
pub const HOST_TOKEN_TYPE: &str = "authproxy-host+jwt";
/// Clock leeway on `exp`, `iat` and `nbf`.
pub const LEEWAY: TimeDelta = TimeDelta::seconds(60);
/// The longest a host token may live (`exp - iat`).
pub const MAX_LIFETIME: TimeDelta = TimeDelta::seconds(300);

/// The audience of host tokens for `environment` at the broker `issuer`.
#[must_use]
pub fn audience(issuer: &str, environment: Environment) -> String {
    format!("{issuer}/embed/{environment}")
}

/// A host token that passed every check.
#[derive(Debug, Clone)]
pub struct VerifiedHostToken {
    /// The tenant the user belongs to.
    pub tenant: Tenant,
    /// The parent tenant that signed for it, when one did (`act`).
    pub acting: Option<TenantId>,
    /// The host's id of the user.
    pub sub: HostUserId,
    /// The token's id.
    pub jti: String,
    /// The user's display name.
    pub name: Option<String>,
    /// The user's email.
    pub email: Option<Email>,
    /// The host's `email_verified`, when the token has one.
    pub email_verified: Option<bool>,
    /// An `https:` picture URL.
    pub picture: Option<String>,
    /// When the session ends.
    pub session_exp: DateTime<Utc>,
    /// When the token expires.
    pub exp: DateTime<Utc>,
}

/// Why verification could not finish (not a verdict on the token).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    /// The store failed.
    Store(#[from] StoreError),
    #[error("the host's JWKS URL failed: {0}")]
    /// The host's JWKS URL could not be read (and no keys of it are cached).
    Keys(crate::idp::IdpError),
}

/// What verifies host tokens: the tenants' keys, the single-use marks and the
/// broker's own keys (for minted tokens).
pub struct HostTokenVerifier<'a> {
    /// Tenants and their keys.
    pub tenants: &'a dyn DurableStore,
    /// Where `jti`s are marked used.
    pub marks: &'a dyn LoginStore,
    /// The broker's keys (they sign minted tokens, `iss` = the broker).
    pub broker: &'a BrokerKeys,
    /// Keys hosts publish at a JWKS URL.
    pub remote: &'a HostJwks,
    /// Check without using the `jti` up (the sandbox's debug endpoint).
    pub dry_run: bool,
}

impl HostTokenVerifier<'_> {
    /// Verifies `token` at `now`: `Ok(Err(rejection))` when the token is refused.
    pub async fn verify(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<VerifiedHostToken, Rejection>, VerifyError> {
        match self.check(token, now).await {
            Ok(verified) => Ok(Ok(verified)),
            Err(Checked::Refused(rejection)) => Ok(Err(rejection)),
            Err(Checked::Failed(err)) => Err(err),
        }
    }

    async fn check(&self, token: &str, now: DateTime<Utc>) -> Result<VerifiedHostToken, Checked> {
        let parsed = jwt::parse(token, HOST_TOKEN_TYPE).map_err(Rejection::from)?;
        self.refuse_early(&parsed.claims, now).await?;
        let iss = required_text(&parsed.claims, "iss", 1024)?;
        let minted = iss == self.broker.issuer();
        let (claims, signer) = if minted {
            let claims = self.broker.verify_parsed(parsed).map_err(|p| match p {
                OwnTokenProblem::Shape(shape) => Rejection::Shape(shape),
                OwnTokenProblem::UnknownKey => Rejection::UnknownKey,
                OwnTokenProblem::AlgMismatch => Rejection::AlgMismatch,
                OwnTokenProblem::BadSignature => Rejection::BadSignature,
            })?;
            (claims, None)
        } else {
            let signer = TenantId::parse(&iss).map_err(|_| Rejection::UnknownKey)?;
            let (claims, for_subtenants) = self.check_host_signature(&signer, parsed).await?;
            (
                claims,
                Some(Signer {
                    tenant: signer,
                    for_subtenants,
                }),
            )
        };
        self.check_claims(&claims, signer, now).await
    }

    /// The refusals that need no signature check, so a flood of expired or
    /// replayed tokens costs no signature verification
    /// (docs/src/embedded/host-tokens.md, "What a refusal costs"): a token past
    /// its `exp`, and one whose `jti` is already used. Nothing is marked here,
    /// and a claim that does not read is left to the full checks. The sandbox's
    /// dry run skips them, to report every problem in its order.
    async fn refuse_early(
        &self,
        claims: &Map<String, Value>,
        now: DateTime<Utc>,
    ) -> Result<(), Checked> {
        if self.dry_run {
            return Ok(());
        }
        if let Ok(Some(exp)) = time(claims, "exp")
            && exp + LEEWAY < now
        {
            return Err(Rejection::Expired.into());
        }
        if let (Ok(tenant), Ok(jti)) = (
            required_text(claims, "tenant", 64),
            required_text(claims, "jti", 128),
        ) && self.marks.was_used(&jti_mark(&tenant, &jti)).await?
        {
            return Err(Rejection::Replayed.into());
        }
        Ok(())
    }

    async fn check_host_signature(
        &self,
        signer: &TenantId,
        parsed: jwt::Parsed<'_>,
    ) -> Result<(Map<String, Value>, bool), Checked> {
        let kid = KeyId::parse(&parsed.kid).map_err(|_| Rejection::UnknownKey)?;
        let key = match self.tenants.host_key(signer, &kid).await? {
            Some(key) => key,
            None => self.published_key(signer, kid).await?,
        };
        if key.revoked_at.is_some() {
            return Err(Rejection::RevokedKey.into());
        }
        // The key's one algorithm, compared exactly: never the header's choice.
        if parsed.alg != key.alg.as_str() {
            return Err(Rejection::AlgMismatch.into());
        }
        let input = parsed.signing_input.as_bytes();
        let valid = match (&key.key, key.alg) {
            (VerifyingKey::P256(point), KeyAlgorithm::Es256) => {
                crypto::jws::verify_es256(point, input, &parsed.signature)
            }
            (VerifyingKey::Ed25519(public), KeyAlgorithm::EdDsa) => {
                crypto::jws::verify_ed25519(public, input, &parsed.signature)
            }
            (VerifyingKey::Shared(secret), KeyAlgorithm::Hs256) => {
                let allowed = self
                    .tenants
                    .tenant(signer)
                    .await?
                    .is_some_and(|t| t.allow_hs256);
                if !allowed {
                    return Err(Rejection::Hs256NotAllowed.into());
                }
                crypto::jws::verify_hs256(secret.expose_secret(), input, &parsed.signature)
            }
            _ => false,
        };
        if !valid {
            return Err(Rejection::BadSignature.into());
        }
        Ok((parsed.claims, key.for_subtenants))
    }

    /// The key `kid` at the signer's JWKS URL, as a key of that tenant (one that
    /// does not sign for sub-tenants).
    async fn published_key(&self, signer: &TenantId, kid: KeyId) -> Result<HostKey, Checked> {
        let url = self
            .tenants
            .tenant(signer)
            .await?
            .and_then(|t| t.jwks_url)
            .ok_or(Rejection::UnknownKey)?;
        let (key, alg) = match self.remote.key(&url, kid.as_str()).await {
            Ok(Some(found)) => found,
            Ok(None) => return Err(Rejection::UnknownKey.into()),
            Err(err) => return Err(Checked::Failed(VerifyError::Keys(err))),
        };
        Ok(HostKey {
            tenant: signer.clone(),
            kid,
            alg,
            key,
            for_subtenants: false,
            created_at: DateTime::<Utc>::MIN_UTC,
            revoked_at: None,
        })
    }

    async fn check_claims(
        &self,
        claims: &Map<String, Value>,
        signer: Option<Signer>,
        now: DateTime<Utc>,
    ) -> Result<VerifiedHostToken, Checked> {
        let sub = host_sub(claims)?;
        let jti = required_text(claims, "jti", 128)?;
        let tenant_id = required_text(claims, "tenant", 64)?;
        let aud = match claims.get("aud") {
            Some(Value::String(aud)) => aud.clone(),
            _ => return Err(Rejection::Claim("aud").into()),
        };
        let iat = required_time(claims, "iat")?;
        let exp = required_time(claims, "exp")?;
        let nbf = time(claims, "nbf")?;
        let session_exp = time(claims, "session_exp")?;
        let name = text(claims, "name", 256)?;
        let email = email_claim(claims)?;
        let email_verified = match claims.get("email_verified") {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => return Err(Rejection::Claim("email_verified").into()),
        };
        let picture = picture(claims)?;
        // Only the broker's minted tokens carry `act`: a host cannot claim it.
        let minted_act = match (claims.get("act"), &signer) {
            (None, _) => None,
            (Some(Value::Object(act)), None) => Some(
                act.get("sub")
                    .and_then(Value::as_str)
                    .and_then(|s| TenantId::parse(s).ok())
                    .ok_or(Rejection::Claim("act"))?,
            ),
            (Some(_), _) => return Err(Rejection::Claim("act").into()),
        };

        if exp + LEEWAY < now {
            return Err(Rejection::Expired.into());
        }
        if iat > now + LEEWAY || nbf.is_some_and(|nbf| nbf > now + LEEWAY) {
            return Err(Rejection::NotYetValid.into());
        }
        if exp <= iat || exp - iat > MAX_LIFETIME {
            return Err(Rejection::LifetimeTooLong.into());
        }

        let tenant_id = TenantId::parse(&tenant_id).map_err(|_| Rejection::UnknownTenant)?;
        let tenant = self
            .tenants
            .tenant(&tenant_id)
            .await?
            .ok_or(Rejection::UnknownTenant)?;
        let acting = match signer {
            // Minted: the API key's scope was checked when it minted.
            None => minted_act,
            Some(signer) if signer.tenant == tenant.id => None,
            Some(signer) if tenant.parent.as_ref() == Some(&signer.tenant) => {
                if !(tenant.parent_may_act && signer.for_subtenants) {
                    return Err(Rejection::ParentNotGranted.into());
                }
                let parent = self.tenants.tenant(&signer.tenant).await?;
                if parent.is_none_or(|p| p.environment != tenant.environment) {
                    return Err(Rejection::WrongEnvironment.into());
                }
                Some(signer.tenant)
            }
            Some(_) => return Err(Rejection::OtherTenant.into()),
        };
        if aud != audience(self.broker.issuer(), tenant.environment) {
            let other = match tenant.environment {
                Environment::Sandbox => Environment::Production,
                Environment::Production => Environment::Sandbox,
            };
            return Err(if aud == audience(self.broker.issuer(), other) {
                Rejection::WrongEnvironment
            } else {
                Rejection::WrongAudience
            }
            .into());
        }
        let longest = iat + TimeDelta::seconds(i64::try_from(tenant.max_session_secs).unwrap_or(0));
        let default = iat + TimeDelta::seconds(i64::try_from(DEFAULT_SESSION_SECS).unwrap_or(0));
        let session_exp = match session_exp {
            Some(at) if at > longest || at <= now => return Err(Rejection::SessionTooLong.into()),
            Some(at) => at,
            None => default.min(longest),
        };

        // Last, once everything else passed: a refused token burns no jti.
        let mark = jti_mark(tenant_id.as_str(), &jti);
        if !self.dry_run && !self.marks.use_state(&mark, exp + LEEWAY).await? {
            return Err(Rejection::Replayed.into());
        }
        Ok(VerifiedHostToken {
            tenant,
            acting,
            sub,
            jti,
            name,
            email,
            email_verified,
            picture,
            session_exp,
            exp,
        })
    }
}

/// The single-use mark of `jti` in `tenant` (as the token names it).
fn jti_mark(tenant: &str, jti: &str) -> String {
    format!("host-jti\0{tenant}\0{jti}")
}

/// The tenant whose key signed, and whether that key may sign for sub-tenants.
struct Signer {
    tenant: TenantId,
    for_subtenants: bool,
}

enum Checked {
    Refused(Rejection),
    Failed(VerifyError),
}

impl From<Rejection> for Checked {
    fn from(rejection: Rejection) -> Self {
        Self::Refused(rejection)
    }
}

impl From<StoreError> for Checked {
    fn from(err: StoreError) -> Self {
        Self::Failed(VerifyError::Store(err))
    }
}
