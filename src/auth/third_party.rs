//! The verifier of tokens from a tenant's identity platform (seed 001): Auth0's
//! ID or access tokens, Gigya's `accounts.getJWT` JWT, Piano's user token and any
//! OpenID provider's ID token. Each kind has exactly one algorithm family (RS256
//! for Auth0 and Gigya, HS256 by the application's key for Piano, RS256 or ES256
//! by the key's type for OIDC): never the header's choice, so an RS256 public key
//! used as an HS256 secret verifies nothing. The issuer is compared exactly
//! (Auth0's ends in `/`, Gigya's names the API key), the audience must be the
//! configured one, and expiry has 60 s of leeway. The result is an external
//! identity keyed by (provider, issuer, subject), never by email. Every refusal
//! has a stable reason for the audit trail; the browser learns `invalid_token`.

mod piano;

mod connection;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::host_token::LEEWAY;
use super::jwt::{self, ShapeProblem};
use crate::crypto;
use crate::domain::{Environment, ProviderKind, SsoProvider, VerifyingKey};
use crate::idp::IdpError;
use crate::idp::host_jwks::HostJwks;
use crate::store::tenants::ProviderSecrets;

/// Why a platform's token is refused (the audit trail's reason).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not a compact JWS of the accepted shape.
    Shape(ShapeProblem),
    /// `alg` is not the provider's.
    AlgNotAllowed,
    /// No published key has this `kid`.
    UnknownKey,
    /// The signature does not verify.
    BadSignature,
    /// `iss` is not the provider's, exactly.
    WrongIssuer,
    /// `aud` is not the configured audience.
    WrongAudience,
    /// Gigya's `apiKey` claim is another site's.
    WrongApiKey,
    /// `exp` is past (beyond the leeway).
    Expired,
    /// `iat` or `nbf` in the future (beyond the leeway).
    NotYetValid,
    /// A claim is missing, of the wrong type or too long.
    Claim(&'static str),
    /// The provider needs secrets that were never set.
    NoSecrets,
    /// The platform's user API does not know the user.
    UnknownUser,
}

impl Refusal {
    /// The stable reason.
    #[must_use]
    pub fn reason(&self) -> String {
        match self {
            Self::Shape(problem) => problem.reason(),
            Self::AlgNotAllowed => "alg_not_allowed".into(),
            Self::UnknownKey => "unknown_key".into(),
            Self::BadSignature => "bad_signature".into(),
            Self::WrongIssuer => "wrong_issuer".into(),
            Self::WrongAudience => "wrong_audience".into(),
            Self::WrongApiKey => "wrong_api_key".into(),
            Self::Expired => "expired".into(),
            Self::NotYetValid => "not_yet_valid".into(),
            Self::Claim(name) => format!("claim:{name}"),
            Self::NoSecrets => "no_secrets".into(),
            Self::UnknownUser => "unknown_user".into(),
        }
    }
}

impl From<ShapeProblem> for Refusal {
    fn from(problem: ShapeProblem) -> Self {
        Self::Shape(problem)
    }
}

/// A user an identity platform vouched for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalIdentity {
    /// The issuer, as configured (the identity's namespace).
    pub issuer: String,
    /// The platform's id of the user.
    pub subject: String,
    /// Display name.
    pub name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Whether the platform verified the email.
    pub email_verified: bool,
    /// An `https:` picture.
    pub picture: Option<String>,
    /// When the token expires.
    pub exp: DateTime<Utc>,
}

/// What the verifier reads keys and profiles with.
pub struct PlatformVerifier<'a> {
    /// Key sets and discovery documents (cached, throttled).
    pub keys: &'a HostJwks,
    /// The tenant's environment (Piano's default host depends on it).
    pub environment: Environment,
    /// The provider's secrets, for the kinds that need them.
    pub secrets: Option<&'a ProviderSecrets>,
}

/// Gigya's accounts host for a data center.
#[must_use]
pub fn gigya_host(data_center: &str) -> String {
    match data_center {
        "cn1" => "https://accounts.cn1.sapcdm.cn".into(),
        dc => format!("https://accounts.{dc}.gigya.com"),
    }
}

fn trimmed(base: &str) -> &str {
    base.trim_end_matches('/')
}

/// Where a provider's signing keys are, or how to find them.
enum KeySource {
    /// A JWKS URL.
    Jwks(String),
    /// OpenID discovery at this URL; the issuer it must name.
    Discovery(String),
    /// The application's shared key (Piano).
    Shared,
}

fn key_source(kind: &ProviderKind) -> KeySource {
    match kind {
        ProviderKind::Auth0 {
            domain, base_url, ..
        } => {
            let base = base_url
                .as_deref()
                .map_or_else(|| format!("https://{domain}"), |b| trimmed(b).to_owned());
            KeySource::Jwks(format!("{base}/.well-known/jwks.json"))
        }
        ProviderKind::Gigya {
            api_key,
            data_center,
            base_url,
        } => {
            let base = base_url
                .as_deref()
                .map_or_else(|| gigya_host(data_center), |b| trimmed(b).to_owned());
            KeySource::Jwks(format!(
                "{base}/accounts.getJWTPublicKey?apiKey={}&V2=true",
                url::form_urlencoded::byte_serialize(api_key.as_bytes()).collect::<String>()
            ))
        }
        ProviderKind::Piano { .. } => KeySource::Shared,
        ProviderKind::Oidc {
            issuer, base_url, ..
        } => {
            let base = base_url.as_deref().unwrap_or(issuer);
            KeySource::Discovery(format!(
                "{}/.well-known/openid-configuration",
                trimmed(base)
            ))
        }
    }
}

/// The issuer a provider's tokens must name, exactly (Piano's is not checked:
/// its key belongs to one application, whose id is the audience).
fn expected_issuer(kind: &ProviderKind) -> Option<String> {
    match kind {
        ProviderKind::Auth0 { domain, .. } => Some(format!("https://{domain}/")),
        ProviderKind::Gigya { api_key, .. } => {
            Some(format!("https://fidm.gigya.com/jwt/{api_key}/"))
        }
        ProviderKind::Piano { .. } => None,
        ProviderKind::Oidc { issuer, .. } => Some(issuer.clone()),
    }
}

/// The name an identity's issuer is recorded under: the expected issuer, or
/// Piano's application.
#[must_use]
pub fn namespace(kind: &ProviderKind) -> String {
    match kind {
        ProviderKind::Piano { application_id, .. } => format!("piano:{application_id}"),
        other => expected_issuer(other).unwrap_or_default(),
    }
}

fn b64_key_part(jwk: &Value, name: &str) -> Option<Vec<u8>> {
    // Gigya publishes key parts padded; the value is the same either way.
    let raw = jwk.get(name)?.as_str()?.trim_end_matches('=');
    URL_SAFE_NO_PAD.decode(raw).ok()
}

/// Verifies `signature` of `input` with the JWK, by the one algorithm its type
/// has: RS256 for RSA keys (of 2048 to 8192 bits), ES256 for P-256 keys.
fn verify_with_jwk(jwk: &Value, alg: &str, input: &[u8], signature: &[u8]) -> Result<(), Refusal> {
    match (jwk.get("kty").and_then(Value::as_str), alg) {
        (Some("RSA"), "RS256") => {
            let (Some(n), Some(e)) = (b64_key_part(jwk, "n"), b64_key_part(jwk, "e")) else {
                return Err(Refusal::UnknownKey);
            };
            if crypto::jws::verify_rs256(&n, &e, input, signature) {
                Ok(())
            } else {
                Err(Refusal::BadSignature)
            }
        }
        (Some("EC"), "ES256") => match VerifyingKey::from_public_jwk(jwk) {
            Ok((VerifyingKey::P256(point), _)) => {
                if crypto::jws::verify_es256(&point, input, signature) {
                    Ok(())
                } else {
                    Err(Refusal::BadSignature)
                }
            }
            _ => Err(Refusal::UnknownKey),
        },
        _ => Err(Refusal::AlgNotAllowed),
    }
}

fn text(claims: &Map<String, Value>, name: &str, max: usize) -> Option<String> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && s.len() <= max && !s.chars().any(char::is_control))
        .map(str::to_owned)
}

fn time(claims: &Map<String, Value>, name: &'static str) -> Result<Option<DateTime<Utc>>, Refusal> {
    jwt::numeric_date(claims, name).map_err(Refusal::Claim)
}

/// Whether `aud` names `audience`. For an ID token (`azp_rule`), several
/// audiences also need an `azp` that names this party (OIDC Core §3.1.3.7: a
/// token for several parties says which one it was issued to, and one without
/// is refused); an Auth0 access token names its API and the userinfo endpoint,
/// with the application in `azp`, so Auth0 checks the audience only.
fn audience_matches(claims: &Map<String, Value>, audience: &str, azp_rule: bool) -> bool {
    match claims.get("aud") {
        Some(Value::String(aud)) => aud == audience,
        Some(Value::Array(auds)) => {
            auds.iter().any(|a| a.as_str() == Some(audience))
                && (!azp_rule
                    || auds.len() == 1
                    || claims
                        .get("azp")
                        .is_some_and(|azp| azp.as_str() == Some(audience)))
        }
        _ => false,
    }
}

fn https_picture(raw: Option<String>) -> Option<String> {
    raw.filter(|p| {
        p.len() <= 2048
            && url::Url::parse(p).is_ok_and(|u| u.scheme() == "https" && u.host_str().is_some())
    })
}

fn joined(first: Option<String>, last: Option<String>) -> Option<String> {
    match (first, last) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (f, l) => f.or(l),
    }
}

/// Why verification could not finish (not a verdict on the token).
#[derive(Debug, thiserror::Error)]
#[error("the identity platform could not be reached: {0}")]
pub struct PlatformUnavailable(#[from] pub IdpError);

impl PlatformVerifier<'_> {
    /// Verifies `token` of `provider` at `now`: `Ok(Err(refusal))` when refused.
    pub async fn verify(
        &self,
        provider: &SsoProvider,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<ExternalIdentity, Refusal>, PlatformUnavailable> {
        match self.check(provider, token, now).await {
            Ok(identity) => Ok(Ok(identity)),
            Err(Checked::Refused(refusal)) => Ok(Err(refusal)),
            Err(Checked::Failed(err)) => Err(PlatformUnavailable(err)),
        }
    }

    async fn check(
        &self,
        provider: &SsoProvider,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<ExternalIdentity, Checked> {
        let parsed = jwt::parse_issued(token).map_err(Refusal::from)?;
        let input = parsed.signing_input.as_bytes();
        match key_source(&provider.kind) {
            KeySource::Shared => {
                if parsed.alg != "HS256" {
                    return Err(Refusal::AlgNotAllowed.into());
                }
                let secrets = self.secrets.ok_or(Refusal::NoSecrets)?;
                if !crypto::jws::verify_hs256(
                    secrets.signing_key.as_bytes(),
                    input,
                    &parsed.signature,
                ) {
                    return Err(Refusal::BadSignature.into());
                }
            }
            source => {
                let allowed = match provider.kind {
                    ProviderKind::Oidc { .. } => ["RS256", "ES256"].contains(&parsed.alg.as_str()),
                    _ => parsed.alg == "RS256",
                };
                if !allowed {
                    return Err(Refusal::AlgNotAllowed.into());
                }
                if parsed.kid.is_empty() {
                    return Err(Refusal::Shape(ShapeProblem::NoKid).into());
                }
                let url = match source {
                    KeySource::Jwks(url) => url,
                    _ => self.jwks_uri(&provider.kind).await?,
                };
                let jwk = self
                    .keys
                    .jwk(&url, &parsed.kid)
                    .await
                    .map_err(Checked::Failed)?
                    .ok_or(Refusal::UnknownKey)?;
                verify_with_jwk(&jwk, &parsed.alg, input, &parsed.signature)?;
            }
        }
        let claims = parsed.claims;
        if let Some(issuer) = expected_issuer(&provider.kind)
            && claims.get("iss").and_then(Value::as_str) != Some(issuer.as_str())
        {
            return Err(Refusal::WrongIssuer.into());
        }
        let audience = match &provider.kind {
            ProviderKind::Auth0 { audience, .. } | ProviderKind::Oidc { audience, .. } => {
                Some(audience.as_str())
            }
            ProviderKind::Piano { application_id, .. } => Some(application_id.as_str()),
            ProviderKind::Gigya { api_key, .. } => {
                if claims.get("apiKey").and_then(Value::as_str) != Some(api_key.as_str()) {
                    return Err(Refusal::WrongApiKey.into());
                }
                None
            }
        };
        let azp_rule = matches!(provider.kind, ProviderKind::Oidc { .. });
        if let Some(audience) = audience
            && !audience_matches(&claims, audience, azp_rule)
        {
            return Err(Refusal::WrongAudience.into());
        }
        let exp = time(&claims, "exp")?.ok_or(Refusal::Claim("exp"))?;
        if exp + LEEWAY < now {
            return Err(Refusal::Expired.into());
        }
        for name in ["iat", "nbf"] {
            if time(&claims, name)?.is_some_and(|at| at > now + LEEWAY) {
                return Err(Refusal::NotYetValid.into());
            }
        }
        let subject = text(&claims, "sub", 200).ok_or(Refusal::Claim("sub"))?;
        let mut identity = profile_of(&provider.kind, &claims);
        identity.issuer = namespace(&provider.kind);
        identity.subject = subject;
        identity.exp = exp;
        if let ProviderKind::Piano { .. } = &provider.kind {
            self.piano_profile(provider, &mut identity).await?;
        }
        Ok(identity)
    }

    async fn jwks_uri(&self, kind: &ProviderKind) -> Result<String, Checked> {
        let (KeySource::Discovery(url), ProviderKind::Oidc { issuer, .. }) =
            (key_source(kind), kind)
        else {
            return Err(Refusal::UnknownKey.into());
        };
        let doc = self.keys.document(&url).await.map_err(Checked::Failed)?;
        if doc.get("issuer").and_then(Value::as_str) != Some(issuer.as_str()) {
            return Err(Checked::Failed(IdpError::InvalidResponse(
                "the discovery document names another issuer".into(),
            )));
        }
        // A fetched document's URL meets the administrator's bar, and reaches
        // loopback only where the administrator's own URL does (development).
        let loopback = crate::domain::outbound::is_loopback_url(&url);
        doc.get("jwks_uri")
            .and_then(Value::as_str)
            .filter(|u| crate::domain::outbound::is_fetchable(u, loopback))
            .map(str::to_owned)
            .ok_or_else(|| {
                Checked::Failed(IdpError::InvalidResponse(
                    "the discovery document has no jwks_uri the broker may fetch (https to a public host)".into(),
                ))
            })
    }
}

/// The profile claims of a kind (before Piano's user API).
fn profile_of(kind: &ProviderKind, claims: &Map<String, Value>) -> ExternalIdentity {
    let ns = |name: &str| match kind {
        ProviderKind::Auth0 {
            claim_namespace: Some(ns),
            ..
        } => text(claims, &format!("{ns}{name}"), 256),
        _ => None,
    };
    let (name, verified, picture) = match kind {
        ProviderKind::Gigya { .. } => (
            text(claims, "nickname", 256).or_else(|| {
                joined(
                    text(claims, "firstName", 128),
                    text(claims, "lastName", 128),
                )
            }),
            claims.get("isVerified").and_then(Value::as_bool) == Some(true)
                || claims.get("emailVerified").and_then(Value::as_bool) == Some(true),
            text(claims, "photoURL", 2048),
        ),
        _ => (
            ns("display_name")
                .or_else(|| text(claims, "name", 256))
                .or_else(|| text(claims, "nickname", 256)),
            claims.get("email_verified").and_then(Value::as_bool) == Some(true),
            text(claims, "picture", 2048),
        ),
    };
    let email = text(claims, "email", 320).filter(|e| crate::domain::Username::parse(e).is_ok());
    ExternalIdentity {
        issuer: String::new(),
        subject: String::new(),
        name,
        email_verified: verified && email.is_some(),
        email,
        picture: https_picture(picture),
        exp: DateTime::<Utc>::MIN_UTC,
    }
}

/// The verdict, or why there is none.
pub enum Checked {
    /// Refused.
    Refused(Refusal),
    /// The platform failed.
    Failed(IdpError),
}

impl From<Refusal> for Checked {
    fn from(refusal: Refusal) -> Self {
        Self::Refused(refusal)
    }
}

#[cfg(test)]
mod tests;
