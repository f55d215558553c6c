//! Why a host token is refused: one reason per check, recorded in the audit
//! trail and explained by the sandbox's debug endpoint, never shown to the
//! browser.

use crate::auth::jwt::ShapeProblem;

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
