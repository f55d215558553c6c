//! Tenants (host organisations) and the credentials their backends use: API keys
//! (an id and a secret kept only as a SHA-256 hash) and signing keys (a public key
//! with exactly one algorithm). A tenant lives in one environment; a sub-tenant
//! has a parent in the same environment, whose credentials may act for it only
//! when the sub-tenant grants it.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

use super::FieldProblem;
use super::client::ClientId;
use super::realm::RealmName;

super::slug::slug_id!(
    /// A tenant's id: `[a-z0-9._-]`, 1 to 64 characters.
    TenantId,
    TenantIdError,
    "a tenant ID"
);

super::slug::slug_id!(
    /// An API key's id (the public half of the credential).
    ApiKeyId,
    ApiKeyIdError,
    "an API key ID"
);

/// Where a tenant's users live: never both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    /// For trying an integration out.
    Sandbox,
    /// For real users.
    Production,
}

impl Environment {
    /// The name, as in the token's audience.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sandbox => "sandbox",
            Self::Production => "production",
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happens when a host vouches for a user the realm does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provisioning {
    /// The user must already exist in the realm (found through the directory).
    ExistingOnly,
    /// authproxy creates a passwordless user on first use.
    Create,
}

/// The prefixes of the user ids the broker gives (registrants, third-party
/// identities): no host may vouch for one.
pub const RESERVED_USER_PREFIXES: [&str; 2] = ["registration:", "ext:"];

/// Whether `id` is in the broker's own namespaces of user ids.
#[must_use]
pub fn is_reserved_user_id(id: &str) -> bool {
    RESERVED_USER_PREFIXES.iter().any(|p| id.starts_with(p))
}

/// The session subject of a registrant (`registration:<id>`).
#[must_use]
pub fn registrant_sub(registration: &str) -> String {
    format!("registration:{registration}")
}

/// The end mark of all of a user's embed sessions, as the login store keeps it.
#[must_use]
pub fn user_key(tenant: &TenantId, sub: &str) -> String {
    format!("embed-user\0{tenant}\0{sub}")
}

/// The session lifetime when the host token names none: 4 hours.
pub const DEFAULT_SESSION_SECS: u64 = 4 * 3600;
/// The longest a tenant may allow: 7 days.
pub const MAX_SESSION_SECS: u64 = 7 * 86_400;

/// A host organisation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tenant {
    /// Its id (also the `iss` of the tokens its keys sign).
    pub id: TenantId,
    /// Sandbox or production.
    pub environment: Environment,
    /// The parent tenant, for a sub-tenant.
    #[serde(default)]
    pub parent: Option<TenantId>,
    /// Whether the parent's credentials may act for this sub-tenant.
    #[serde(default)]
    pub parent_may_act: bool,
    /// The Keycloak realm its users live in.
    pub realm: RealmName,
    /// The embedded-app clients its users may be logged in to.
    pub clients: Vec<ClientId>,
    /// Whether unknown users are created.
    pub provisioning: Provisioning,
    /// The longest session a token may ask for, in seconds.
    #[serde(default = "default_max_session")]
    pub max_session_secs: u64,
    /// Whether signing keys may be HS256 shared secrets (off: only ES256 and EdDSA).
    #[serde(default)]
    pub allow_hs256: bool,
    /// Whether the tenant's hosts may vouch for their users' emails, so that an
    /// email they send selects an existing realm user and grants ACL roles. Off
    /// by default: it lets a host log in as any user of the realm, like the
    /// impersonation permission (docs/src/embedded/host-tokens.md, "Who vouches for an email").
    #[serde(default)]
    pub hosts_vouch_for_emails: bool,
    /// Where the host publishes its signing keys (a JWKS), besides those
    /// registered one by one.
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// The alias of the realm's identity provider (of type JWT Authorization
    /// Grant) that trusts the broker's keys: Keycloak tokens then come from RFC
    /// 7523's grant; without it, from the impersonation exchange.
    #[serde(default)]
    pub assertion_grant_idp: Option<super::realm::IdpAlias>,
    /// Per-user embed URLs, registrations and login links.
    #[serde(default)]
    pub embeds: EmbedSettings,
    /// Third-party SSO: the host page's origin and the identity providers.
    #[serde(default)]
    pub sso: super::sso::SsoSettings,
}

/// What a new session does when its registration (or user, where the tenant
/// asks) already has one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionPolicy {
    /// The new session wins; the older frame is told it was signed out.
    #[default]
    TerminateOldest,
    /// The new session is refused (409 `session_active`) while the older lives.
    DenyNew,
}

/// A tenant's settings for per-user embed URLs, registrations and links.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbedSettings {
    /// The embedded app's page for embeds and links without a resource.
    #[serde(default)]
    pub app_url: Option<String>,
    /// The paths (on `app_url`'s origin) a login link may land on.
    #[serde(default)]
    pub link_paths: Vec<super::app_page::LinkPath>,
    /// One session per registration: which one wins.
    #[serde(default)]
    pub session_policy: SessionPolicy,
    /// Whether each user, too, has one session at a time.
    #[serde(default)]
    pub one_session_per_user: bool,
}

fn default_max_session() -> u64 {
    DEFAULT_SESSION_SECS
}

impl Tenant {
    /// Checks the tenant's own consistency; its parent and realm are checked
    /// against the registry by the admin layer.
    #[must_use]
    pub fn problems(&self) -> Vec<FieldProblem> {
        let mut problems = Vec::new();
        let mut add = |path: &str, message: &str| {
            problems.push(FieldProblem {
                path: path.to_owned(),
                message: message.to_owned(),
            });
        };
        if self.clients.is_empty() {
            add("clients", "list at least one embedded-app client ID");
        }
        if self.parent.as_ref() == Some(&self.id) {
            add("parent", "a tenant cannot be its own parent");
        }
        if self.parent.is_none() && self.parent_may_act {
            add(
                "parent_may_act",
                "only a sub-tenant (with a parent) grants its parent",
            );
        }
        if let Some(url) = &self.jwks_url
            && !is_key_url(url)
        {
            add(
                "jwks_url",
                "an https URL of a public host (http only on loopback: localhost, 127.0.0.1, [::1]; never a private or link-local address such as 169.254.169.254) without user name or fragment",
            );
        }
        if let Some(url) = &self.embeds.app_url
            && !super::app_page::is_app_url(url)
        {
            add(
                "embeds.app_url",
                "an absolute https URL (http only for localhost, 127.0.0.1 or [::1]) without user name or fragment",
            );
        }
        if !self.embeds.link_paths.is_empty() && self.embeds.app_url.is_none() {
            add(
                "embeds.link_paths",
                "paths are on the origin of embeds.app_url: set it too",
            );
        }
        if self.embeds.link_paths.len() > 100 {
            add("embeds.link_paths", "at most 100 paths");
        }
        if !(300..=MAX_SESSION_SECS).contains(&self.max_session_secs) {
            add(
                "max_session_secs",
                "between 300 seconds and 7 days (604800 seconds)",
            );
        }
        problems.extend(self.sso.problems());
        problems
    }
}

/// Whether `raw` may be a JWKS URL: one the broker may fetch
/// ([`super::outbound::is_fetchable`]: https to a public host, loopback for
/// development).
fn is_key_url(raw: &str) -> bool {
    super::outbound::is_fetchable(raw, true)
}

/// A signing key's id as the host chose it (`kid`): 1 to 128 characters of
/// `A-Z a-z 0-9 . _ - : +`.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct KeyId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a key ID (kid) is 1 to 128 characters of A-Z, a-z, 0-9, '.', '_', '-', ':' and '+'")]
/// A `kid` that is not valid.
pub struct KeyIdError;

impl KeyId {
    /// Parses a `kid`.
    pub fn parse(raw: &str) -> Result<Self, KeyIdError> {
        let valid = (1..=128).contains(&raw.len())
            && raw.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':' | b'+')
            });
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(KeyIdError)
        }
    }

    #[must_use]
    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for KeyId {
    type Error = KeyIdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<KeyId> for String {
    fn from(value: KeyId) -> Self {
        value.0
    }
}

/// The one algorithm a signing key allows (RFC 8725 §3.1: the key decides, never
/// the token's header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum KeyAlgorithm {
    /// ECDSA P-256 with SHA-256.
    #[serde(rename = "ES256")]
    Es256,
    /// Ed25519.
    #[serde(rename = "EdDSA")]
    EdDsa,
    /// HMAC-SHA-256 with a shared secret (only where the tenant allows it).
    #[serde(rename = "HS256")]
    Hs256,
}

impl KeyAlgorithm {
    /// The JOSE name (`alg`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
            Self::Hs256 => "HS256",
        }
    }
}

/// The verifying half of a host's key.
#[derive(Debug, Clone)]
pub enum VerifyingKey {
    /// A P-256 point, uncompressed (`04 || x || y`).
    P256(Vec<u8>),
    /// An Ed25519 public key.
    Ed25519([u8; 32]),
    /// An HS256 secret (stored sealed).
    Shared(secrecy::SecretSlice<u8>),
}

/// Why a public JWK is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct JwkProblem(pub &'static str);

fn coordinate(jwk: &serde_json::Value, name: &str) -> Result<[u8; 32], JwkProblem> {
    jwk.get(name)
        .and_then(serde_json::Value::as_str)
        .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
        .and_then(|v| <[u8; 32]>::try_from(v).ok())
        .ok_or(JwkProblem("x (and y) must be 32 bytes of base64url"))
}

impl VerifyingKey {
    /// Reads a public JWK (`kty`/`crv`/`x`/`y`), refusing private members and
    /// requiring `alg`, when present, to be the key's one algorithm.
    pub fn from_public_jwk(jwk: &serde_json::Value) -> Result<(Self, KeyAlgorithm), JwkProblem> {
        if jwk.get("d").is_some() || jwk.get("k").is_some() {
            return Err(JwkProblem(
                "this JWK holds a private key: register only its public half",
            ));
        }
        let kty = jwk.get("kty").and_then(serde_json::Value::as_str);
        let crv = jwk.get("crv").and_then(serde_json::Value::as_str);
        let (key, alg) = match (kty, crv) {
            (Some("EC"), Some("P-256")) => {
                let mut point = vec![4u8];
                point.extend_from_slice(&coordinate(jwk, "x")?);
                point.extend_from_slice(&coordinate(jwk, "y")?);
                if !crate::crypto::jws::is_p256_point(&point) {
                    return Err(JwkProblem("x and y are not a point of P-256"));
                }
                (Self::P256(point), KeyAlgorithm::Es256)
            }
            (Some("OKP"), Some("Ed25519")) => {
                let x = coordinate(jwk, "x")?;
                if !crate::crypto::jws::is_ed25519_key(&x) {
                    return Err(JwkProblem(
                        "x is not a usable Ed25519 public key (not a curve point in canonical form, or of small order)",
                    ));
                }
                (Self::Ed25519(x), KeyAlgorithm::EdDsa)
            }
            _ => {
                return Err(JwkProblem(
                    "only EC P-256 (ES256) and OKP Ed25519 (EdDSA) public keys are accepted",
                ));
            }
        };
        match jwk.get("alg").and_then(serde_json::Value::as_str) {
            None => {}
            Some(named) if named == alg.as_str() => {}
            Some(_) => return Err(JwkProblem("alg does not match the key type")),
        }
        Ok((key, alg))
    }

    /// The public JWK (nothing for a shared secret).
    #[must_use]
    pub fn public_jwk(&self) -> Option<serde_json::Value> {
        match self {
            Self::P256(point) => {
                let x = point.get(1..33)?;
                let y = point.get(33..65)?;
                Some(serde_json::json!({
                    "kty": "EC", "crv": "P-256",
                    "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
                }))
            }
            Self::Ed25519(x) => Some(serde_json::json!({
                "kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(x),
            })),
            Self::Shared(_) => None,
        }
    }
}

/// A host's signing key.
#[derive(Debug, Clone)]
pub struct HostKey {
    /// The tenant it signs for (the `iss` of its tokens).
    pub tenant: TenantId,
    /// Its `kid`, unique within the tenant.
    pub kid: KeyId,
    /// Its one algorithm.
    pub alg: KeyAlgorithm,
    /// The verifying key.
    pub key: VerifyingKey,
    /// Whether it may sign for the tenant's sub-tenants (that grant it).
    pub for_subtenants: bool,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// When it was revoked; a revoked key verifies nothing.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What a host's API key may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// `POST /api/v1/embed/tokens`.
    MintTokens,
    /// Ending users' sessions.
    Logout,
    /// Updating users' profiles.
    UpdateUsers,
    /// The sandbox's explanation of a refused token.
    Debug,
    /// `POST /api/v1/embeds`: per-user embed URLs.
    CreateEmbeds,
    /// Resources and their ACLs.
    ManageResources,
    /// Registrations and their join URLs.
    ManageRegistrations,
    /// `POST /api/v1/links`: one-time login links.
    CreateLinks,
    /// `POST /api/v1/sso/codes`: the standard SSO handshake's second code.
    ExchangeSsoCodes,
}

/// A host backend's API key: the secret only as its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ApiKey {
    /// The public id.
    pub id: ApiKeyId,
    /// The tenant it acts for.
    pub tenant: TenantId,
    /// Whether it may act for the tenant's sub-tenants (that grant it).
    pub for_subtenants: bool,
    /// What it may call.
    pub operations: Vec<Operation>,
    /// SHA-256 of the secret, base64url.
    pub secret_sha256: String,
    /// When it stops working.
    pub expires_at: Option<DateTime<Utc>>,
    /// Requests per minute (and the burst).
    pub rate_per_minute: u32,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When it was last used (kept apart, updated at most once a minute).
    #[serde(default)]
    pub last_used_at: Option<DateTime<Utc>>,
}

impl ApiKey {
    /// Whether the key works at `now`.
    #[must_use]
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| now < at)
    }
}

/// A tenant of the configuration file and its public keys (written at every start).
#[derive(Debug, Clone)]
pub struct ConfiguredTenant {
    /// The tenant.
    pub tenant: Tenant,
    /// Its keys: `kid`, verifying key and algorithm, and the sub-tenant scope.
    pub keys: Vec<ConfiguredKey>,
}

/// A public key of a configured tenant.
#[derive(Debug, Clone)]
pub struct ConfiguredKey {
    /// Its `kid`.
    pub kid: KeyId,
    /// The key.
    pub key: VerifyingKey,
    /// Its one algorithm.
    pub alg: KeyAlgorithm,
    /// Whether it may sign for sub-tenants.
    pub for_subtenants: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_jwks_of_the_two_curves_are_read_and_private_ones_refused() {
        let private = crate::crypto::jws::generate_p256().unwrap();
        let (x, y) = crate::crypto::jws::p256_public(&private).unwrap();
        let ec = serde_json::json!({"kty":"EC","crv":"P-256",
            "x":URL_SAFE_NO_PAD.encode(x),"y":URL_SAFE_NO_PAD.encode(y)});
        let mut off_curve = ec.clone();
        off_curve["y"] = URL_SAFE_NO_PAD.encode([2u8; 32]).into();
        assert!(VerifyingKey::from_public_jwk(&off_curve).is_err());
        let (key, alg) = VerifyingKey::from_public_jwk(&ec).unwrap();
        assert_eq!(alg, KeyAlgorithm::Es256);
        assert_eq!(key.public_jwk().unwrap()["x"], ec["x"]);
        let mut private = ec.clone();
        private["d"] = "AAAA".into();
        assert!(VerifyingKey::from_public_jwk(&private).is_err());
        let mut wrong_alg = ec;
        wrong_alg["alg"] = "HS256".into();
        assert!(VerifyingKey::from_public_jwk(&wrong_alg).is_err());
        // RFC 8032 §7.1, test 1.
        let rfc8032 = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
        let okp_x: Vec<u8> = (0..32)
            .map(|i| u8::from_str_radix(&rfc8032[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        let okp =
            serde_json::json!({"kty":"OKP","crv":"Ed25519","x":URL_SAFE_NO_PAD.encode(&okp_x)});
        assert_eq!(
            VerifyingKey::from_public_jwk(&okp).unwrap().1,
            KeyAlgorithm::EdDsa
        );
        // The identity point, a point of order 2, and the identity encoded
        // non-canonically (y = 1 + p) sign anything: refused.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let mut order_two = [0xffu8; 32];
        order_two[0] = 0xec;
        order_two[31] = 0x7f;
        let mut non_canonical = [0xffu8; 32];
        non_canonical[0] = 0xee;
        non_canonical[31] = 0x7f;
        for x in [identity, order_two, non_canonical] {
            let weak =
                serde_json::json!({"kty":"OKP","crv":"Ed25519","x":URL_SAFE_NO_PAD.encode(x)});
            assert!(VerifyingKey::from_public_jwk(&weak).is_err(), "{weak}");
        }
        let rsa = serde_json::json!({"kty":"RSA","n":"AQAB","e":"AQAB"});
        assert!(VerifyingKey::from_public_jwk(&rsa).is_err());
    }

    #[test]
    fn a_sub_tenant_grant_needs_a_parent() {
        let tenant = Tenant {
            id: TenantId::parse("acme").unwrap(),
            environment: Environment::Sandbox,
            parent: None,
            parent_may_act: true,
            realm: RealmName::parse("tenant-a").unwrap(),
            clients: vec![],
            provisioning: Provisioning::Create,
            max_session_secs: 60,
            allow_hs256: false,
            hosts_vouch_for_emails: false,
            jwks_url: Some("http://evil.example/jwks".into()),
            assertion_grant_idp: None,
            sso: crate::domain::SsoSettings::default(),
            embeds: EmbedSettings {
                app_url: Some("https://app.example/#x".into()),
                ..EmbedSettings::default()
            },
        };
        let paths: Vec<_> = tenant.problems().into_iter().map(|p| p.path).collect();
        assert_eq!(
            paths,
            [
                "clients",
                "parent_may_act",
                "jwks_url",
                "embeds.app_url",
                "max_session_secs"
            ]
        );
    }
}
