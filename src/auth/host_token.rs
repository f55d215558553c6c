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

use chrono::{DateTime, TimeDelta, Utc};
use secrecy::ExposeSecret as _;
use serde_json::{Map, Value};

use super::jwt::{self, ShapeProblem};
use super::signing::{BrokerKeys, OwnTokenProblem};
use crate::crypto;
use crate::domain::HostKey;
use crate::domain::tenant::DEFAULT_SESSION_SECS;
use crate::domain::{
    Email, Environment, HostUserId, KeyAlgorithm, KeyId, Tenant, TenantId, Username, VerifyingKey,
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

/// Why a host token is refused: the reason recorded in the audit trail (and
/// explained by the sandbox's debug endpoint), never shown to the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// The shape or header is wrong.
    Shape(ShapeProblem),
    /// A claim is missing, of the wrong type, too long or invalid.
    Claim(&'static str),
    /// `iss` names no tenant with this `kid`.
    UnknownKey,
    /// The key was revoked.
    RevokedKey,
    /// The header's `alg` is not the key's.
    AlgMismatch,
    /// An HS256 key of a tenant that no longer allows HS256.
    Hs256NotAllowed,
    /// The signature does not verify.
    BadSignature,
    /// `aud` is not this broker's.
    WrongAudience,
    /// `aud` is this broker's other environment, or the tenants' differ.
    WrongEnvironment,
    /// Expired (past the leeway).
    Expired,
    /// `iat` or `nbf` in the future (past the leeway).
    NotYetValid,
    /// `exp - iat` over 5 minutes.
    LifetimeTooLong,
    /// `tenant` names no tenant.
    UnknownTenant,
    /// `tenant` is not the key's tenant nor its sub-tenant.
    OtherTenant,
    /// The key's tenant is the parent, but the sub-tenant (or the key) does not grant it.
    ParentNotGranted,
    /// `session_exp` is past the tenant's longest session, or already over.
    SessionTooLong,
    /// The `jti` was used before.
    Replayed,
}

impl Rejection {
    /// The stable reason.
    #[must_use]
    pub fn reason(&self) -> String {
        match self {
            Self::Shape(problem) => problem.reason(),
            Self::Claim(what) => format!("claim:{what}"),
            Self::UnknownKey => "unknown_key".into(),
            Self::RevokedKey => "revoked_key".into(),
            Self::AlgMismatch => "alg_mismatch".into(),
            Self::Hs256NotAllowed => "hs256_not_allowed".into(),
            Self::BadSignature => "bad_signature".into(),
            Self::WrongAudience => "wrong_audience".into(),
            Self::WrongEnvironment => "wrong_environment".into(),
            Self::Expired => "expired".into(),
            Self::NotYetValid => "not_yet_valid".into(),
            Self::LifetimeTooLong => "lifetime_too_long".into(),
            Self::UnknownTenant => "unknown_tenant".into(),
            Self::OtherTenant => "other_tenant".into(),
            Self::ParentNotGranted => "parent_not_granted".into(),
            Self::SessionTooLong => "session_too_long".into(),
            Self::Replayed => "replayed_jti".into(),
        }
    }

    /// What the check means, for the sandbox's debug endpoint.
    #[must_use]
    pub fn explanation(&self) -> &'static str {
        match self {
            Self::Shape(ShapeProblem::TooLarge) => "the token is longer than 8 KiB",
            Self::Shape(ShapeProblem::Malformed) => {
                "not a compact JWS: three base64url parts (no padding) of JSON objects"
            }
            Self::Shape(ShapeProblem::DuplicateKey) => "a JSON object repeats a key",
            Self::Shape(ShapeProblem::HeaderNotAllowed(_)) => {
                "the header may hold only alg, kid and typ (no jwk, jku, x5u, x5c, crit)"
            }
            Self::Shape(ShapeProblem::AlgNone) => "alg none is never accepted",
            Self::Shape(ShapeProblem::WrongType) => "typ must be authproxy-host+jwt",
            Self::Shape(ShapeProblem::NoKid) => "the header must name the key (kid)",
            Self::Claim(_) => {
                "a claim is missing, of the wrong JSON type, too long or invalid (see the reason)"
            }
            Self::UnknownKey => "iss names no tenant with a key of this kid",
            Self::RevokedKey => "the key was revoked",
            Self::AlgMismatch => "alg is not the algorithm the key was registered with",
            Self::Hs256NotAllowed => "the tenant no longer allows HS256 keys",
            Self::BadSignature => "the signature does not verify with the key",
            Self::WrongAudience => "aud is not this broker's audience for the environment",
            Self::WrongEnvironment => {
                "the token is for the other environment (sandbox and production never mix)"
            }
            Self::Expired => "exp is past (beyond 60 s of leeway)",
            Self::NotYetValid => "iat or nbf is in the future (beyond 60 s of leeway)",
            Self::LifetimeTooLong => "exp is more than 5 minutes after iat",
            Self::UnknownTenant => "the tenant claim names no tenant",
            Self::OtherTenant => "the key's tenant may not sign for this tenant",
            Self::ParentNotGranted => {
                "the parent's key may act for this sub-tenant only when the sub-tenant grants it (parent_may_act) and the key allows it (for_subtenants)"
            }
            Self::SessionTooLong => "session_exp is past the tenant's longest session, or over",
            Self::Replayed => "the jti was already used",
        }
    }
}

impl From<ShapeProblem> for Rejection {
    fn from(problem: ShapeProblem) -> Self {
        Self::Shape(problem)
    }
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

fn text(
    claims: &Map<String, Value>,
    name: &'static str,
    max: usize,
) -> Result<Option<String>, Rejection> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(s))
            if !s.is_empty() && s.len() <= max && !s.chars().any(char::is_control) =>
        {
            Ok(Some(s.clone()))
        }
        Some(_) => Err(Rejection::Claim(name)),
    }
}

/// The `email` claim, under the registrations' email rule for every way in
/// (look-alikes refused).
fn email_claim(claims: &Map<String, Value>) -> Result<Option<Email>, Rejection> {
    text(claims, "email", 320)?
        .map(|e| {
            Email::parse(&e)
                .ok()
                .filter(|_| Username::parse(&e).is_ok())
                .ok_or(Rejection::Claim("email"))
        })
        .transpose()
}

fn required_text(
    claims: &Map<String, Value>,
    name: &'static str,
    max: usize,
) -> Result<String, Rejection> {
    text(claims, name, max)?.ok_or(Rejection::Claim(name))
}

fn time(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<DateTime<Utc>>, Rejection> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .and_then(|secs| DateTime::from_timestamp(secs, 0))
            .map(Some)
            .ok_or(Rejection::Claim(name)),
        Some(_) => Err(Rejection::Claim(name)),
    }
}

/// The `sub`, never in the broker's own namespaces (registrants, third-party
/// identities).
fn host_sub(claims: &Map<String, Value>) -> Result<HostUserId, Rejection> {
    match claims.get("sub") {
        Some(Value::String(sub)) => HostUserId::parse(sub).map_err(|_| Rejection::Claim("sub")),
        _ => Err(Rejection::Claim("sub")),
    }
}

fn required_time(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<DateTime<Utc>, Rejection> {
    time(claims, name)?.ok_or(Rejection::Claim(name))
}

fn picture(claims: &Map<String, Value>) -> Result<Option<String>, Rejection> {
    let Some(raw) = text(claims, "picture", 2048)? else {
        return Ok(None);
    };
    match url::Url::parse(&raw) {
        Ok(url) if url.scheme() == "https" && url.host_str().is_some() => Ok(Some(raw)),
        _ => Err(Rejection::Claim("picture")),
    }
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
        let mark = format!("host-jti\0{tenant_id}\0{jti}");
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
