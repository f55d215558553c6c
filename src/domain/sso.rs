//! Third-party identity platforms a tenant accepts (seed 001): Auth0, Gigya (SAP
//! Customer Data Cloud), Piano and any OpenID provider, each named by the tenant
//! (`auth0`, `gigya`, ...), with the one origin of the host page that hands the
//! embedded app its users. Every field validates itself; the secrets (Piano's API
//! token and signing key) are never part of this public configuration.

use super::FieldProblem;
use super::origin::Origin;

super::slug::slug_id!(
    /// A provider's name in a tenant (what `sso.start({provider})` names).
    ProviderName,
    ProviderNameError,
    "a provider name"
);

/// What two display names share when users would take them for one: NFKC
/// (fullwidth and ligature forms), case folding, invisible characters and
/// spaces dropped, then the UTS #39 skeleton (a Cyrillic `а` is a Latin `a`).
#[must_use]
pub fn display_name_key(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization as _;
    let compatible: String = name.nfkc().collect();
    let folded: String = caseless::default_case_fold_str(&compatible)
        .nfkc()
        .filter(|c| !c.is_whitespace() && !c.is_control() && !is_format(*c))
        .collect();
    unicode_security::skeleton(&folded).collect()
}

/// Format characters (zero-width joiners, direction marks, variation selectors).
fn is_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
    )
}

/// Gigya's data centers (`accounts.<dc>.gigya.com`; China's has its own domain).
pub const GIGYA_DATA_CENTERS: [&str; 6] = ["us1", "eu1", "au1", "ru1", "cn1", "global"];

/// What a provider is and how its tokens are checked.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ProviderKind {
    /// Auth0: ID (or access) tokens of `domain`, RS256, issuer `https://<domain>/`.
    Auth0 {
        /// The tenant's Auth0 domain (`example.eu.auth0.com`, or a custom domain).
        domain: String,
        /// The expected `aud` (the Auth0 application's client id, or an API's identifier).
        audience: String,
        /// Where custom claims live (`https://example.com/`), when they are namespaced.
        #[serde(default)]
        claim_namespace: Option<String>,
        /// Where the keys are fetched instead of `https://<domain>`.
        #[serde(default)]
        base_url: Option<String>,
    },
    /// Gigya: the JWT of `accounts.getJWT`, RS256, issuer bound to the API key.
    Gigya {
        /// The site's API key.
        api_key: String,
        /// The site's data center (`us1`, `eu1`, `au1`, `ru1`, `cn1`, `global`).
        data_center: String,
        /// Where the public key is fetched instead of the data center's accounts host.
        #[serde(default)]
        base_url: Option<String>,
    },
    /// Piano: the user token (HS256 by the application's key), then the profile
    /// from Piano's user API.
    Piano {
        /// The application id (`aid`).
        application_id: String,
        /// Where the user API is called instead of Piano's host for the tenant's environment.
        #[serde(default)]
        base_url: Option<String>,
    },
    /// Any OpenID provider: discovery at `issuer`, its JWKS, RS256 or ES256.
    Oidc {
        /// The issuer, exactly as its tokens say.
        issuer: String,
        /// The expected `aud`.
        audience: String,
        /// Where discovery is fetched instead of `issuer`.
        #[serde(default)]
        base_url: Option<String>,
    },
}

impl ProviderKind {
    /// The kind's name.
    #[must_use]
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Auth0 { .. } => "auth0",
            Self::Gigya { .. } => "gigya",
            Self::Piano { .. } => "piano",
            Self::Oidc { .. } => "oidc",
        }
    }

    /// Whether the provider needs secrets (an API token and a signing key).
    #[must_use]
    pub fn needs_secrets(&self) -> bool {
        matches!(self, Self::Piano { .. })
    }
}

/// One provider of a tenant (its kind's fields refuse unknown ones).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SsoProvider {
    /// Its name in the tenant.
    pub name: ProviderName,
    /// What it is.
    #[serde(flatten)]
    pub kind: ProviderKind,
}

/// A tenant's third-party SSO.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsoSettings {
    /// The host page's origin: the only one the embedded app takes tokens and
    /// codes from, and tells that a login is required.
    #[serde(default)]
    pub host_origin: Option<Origin>,
    /// The providers, by name.
    #[serde(default)]
    pub providers: Vec<SsoProvider>,
}

/// The most providers one tenant has.
pub const MAX_PROVIDERS: usize = 16;

impl SsoSettings {
    /// The provider `name`, if the tenant has it.
    #[must_use]
    pub fn provider(&self, name: &str) -> Option<&SsoProvider> {
        self.providers.iter().find(|p| p.name.as_str() == name)
    }

    /// What is wrong, with field paths under `sso`.
    #[must_use]
    pub fn problems(&self) -> Vec<FieldProblem> {
        let mut problems = Vec::new();
        let mut add = |path: String, message: &str| {
            problems.push(FieldProblem {
                path,
                message: message.to_owned(),
            });
        };
        if self.providers.len() > MAX_PROVIDERS {
            add("sso.providers".into(), "at most 16 providers");
        }
        if !self.providers.is_empty() && self.host_origin.is_none() {
            add(
                "sso.host_origin".into(),
                "the host page's origin is needed: the embedded app takes tokens from it only",
            );
        }
        for (i, provider) in self.providers.iter().enumerate() {
            let at = |field: &str| format!("sso.providers[{i}].{field}");
            if self
                .providers
                .iter()
                .take(i)
                .any(|p| p.name == provider.name)
            {
                add(at("name"), "another provider has this name");
            }
            for (field, message) in kind_problems(&provider.kind) {
                add(at(field), message);
            }
        }
        problems
    }
}

fn kind_problems(kind: &ProviderKind) -> Vec<(&'static str, &'static str)> {
    let mut problems = Vec::new();
    let base = match kind {
        ProviderKind::Auth0 {
            domain,
            audience,
            claim_namespace,
            base_url,
        } => {
            if !is_host_name(domain) {
                problems.push((
                    "domain",
                    "a host name such as example.eu.auth0.com (no scheme, path or port)",
                ));
            }
            if !is_text(audience, 512) {
                problems.push((
                    "audience",
                    "the Auth0 application's client id (or API identifier), 1 to 512 characters",
                ));
            }
            if claim_namespace.as_ref().is_some_and(|n| !is_text(n, 256)) {
                problems.push((
                    "claim_namespace",
                    "a prefix of 1 to 256 characters, such as https://example.com/",
                ));
            }
            base_url
        }
        ProviderKind::Gigya {
            api_key,
            data_center,
            base_url,
        } => {
            if !is_token_text(api_key) {
                problems.push((
                    "api_key",
                    "the site's API key: 1 to 128 characters of A-Z a-z 0-9 _ -",
                ));
            }
            if !GIGYA_DATA_CENTERS.contains(&data_center.as_str()) {
                problems.push(("data_center", "one of us1, eu1, au1, ru1, cn1, global"));
            }
            base_url
        }
        ProviderKind::Piano {
            application_id,
            base_url,
        } => {
            if !is_token_text(application_id) {
                problems.push((
                    "application_id",
                    "the application id (aid): 1 to 128 characters of A-Z a-z 0-9 _ -",
                ));
            }
            base_url
        }
        ProviderKind::Oidc {
            issuer,
            audience,
            base_url,
        } => {
            if !is_base_url(issuer) {
                problems.push(("issuer", "an https URL of a public host (http only on loopback: localhost, 127.0.0.1, [::1]; never a private or link-local address such as 169.254.169.254) without query or fragment"));
            }
            if !is_text(audience, 512) {
                problems.push((
                    "audience",
                    "the client id the tokens are for, 1 to 512 characters",
                ));
            }
            base_url
        }
    };
    if base.as_ref().is_some_and(|u| !is_base_url(u)) {
        problems.push((
            "base_url",
            "an https URL of a public host (http only on loopback: localhost, 127.0.0.1, [::1]; never a private or link-local address such as 169.254.169.254) without query or fragment",
        ));
    }
    problems
}

fn is_text(raw: &str, max: usize) -> bool {
    !raw.is_empty() && raw.len() <= max && !raw.chars().any(char::is_control)
}

fn is_token_text(raw: &str) -> bool {
    (1..=128).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
}

fn is_host_name(raw: &str) -> bool {
    (1..=253).contains(&raw.len())
        && raw.split('.').count() >= 2
        && raw.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// A URL the broker may fetch ([`super::outbound::is_fetchable`]: https to a
/// public host, loopback for development) without a query.
#[must_use]
pub fn is_base_url(raw: &str) -> bool {
    super::outbound::is_fetchable(raw, true)
        && url::Url::parse(raw).is_ok_and(|url| url.query().is_none())
}

#[cfg(test)]
mod tests;
