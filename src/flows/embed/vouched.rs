//! Whom an embedded session is for, once a way in vouched for them: the user
//! ([`HostUser`]) and what the embedded app shows of them ([`Profile`]). Which
//! party vouches for an email is decided here, for every way in alike
//! ([`Profile::vouched`] through [`email_trusted`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::auth::host_token::VerifiedHostToken;
use crate::domain::{EmailSource, ResourceRef, Tenant, TenantId, email_trusted};

impl HostUser {
    /// The user a verified host token vouches for, for no resource in particular.
    #[must_use]
    pub fn vouched_by(verified: VerifiedHostToken) -> Self {
        let profile = Profile::vouched(
            &verified.tenant,
            &verified.sub,
            verified.name,
            verified.email.map(|e| e.as_str().to_owned()),
            verified.picture,
            EmailSource::Host {
                says_verified: verified.email_verified,
            },
        );
        Self::of(
            &verified.tenant,
            verified.acting,
            verified.sub,
            profile,
            verified.session_exp,
        )
    }

    /// A user of `tenant` with `profile` until `session_exp`, for no resource
    /// in particular; `acting` is the parent tenant whose key vouches, if one.
    #[must_use]
    pub fn of(
        tenant: &Tenant,
        acting: Option<TenantId>,
        sub: String,
        profile: Profile,
        session_exp: DateTime<Utc>,
    ) -> Self {
        Self {
            tenant: tenant.id.clone(),
            acting,
            sub,
            profile,
            session_exp,
            resource: None,
            resource_specific: false,
            registration: None,
        }
    }

    /// The same user, for `resource` (valid on it only when `specific`).
    #[must_use]
    pub fn for_resource(self, resource: Option<ResourceRef>, specific: bool) -> Self {
        Self {
            resource,
            resource_specific: specific,
            ..self
        }
    }

    /// The registrant of `registration`, on its resource only.
    #[must_use]
    pub fn registrant(self, registration: &str, resource: ResourceRef) -> Self {
        Self {
            registration: Some(registration.to_owned()),
            ..self.for_resource(Some(resource), true)
        }
    }
}

/// Whom a session is for, once a host vouched for them: by a host token, an
/// embed URL's ticket, a registration's join URL or a login link.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostUser {
    /// The user's tenant.
    pub tenant: TenantId,
    /// The parent tenant acting for it, if one does.
    #[serde(default)]
    pub acting: Option<TenantId>,
    /// The host's id of the user (`registration:<id>` for a registrant).
    pub sub: String,
    /// What the embedded app shows.
    pub profile: Profile,
    /// When the session ends.
    pub session_exp: DateTime<Utc>,
    /// The resource it was made for.
    #[serde(default)]
    pub resource: Option<ResourceRef>,
    /// Whether the session is valid for that resource only.
    #[serde(default)]
    pub resource_specific: bool,
    /// The registration it was made for.
    #[serde(default)]
    pub registration: Option<String>,
}

impl Profile {
    /// The profile a way in vouches for. `email_verified` is the broker's
    /// decision, made by [`email_trusted`] for every way in alike: only then may
    /// the email select an existing realm user or grant an ACL role.
    #[must_use]
    pub fn vouched(
        tenant: &Tenant,
        sub: &str,
        name: Option<String>,
        email: Option<String>,
        picture: Option<String>,
        source: EmailSource,
    ) -> Self {
        let email_verified = email.is_some() && email_trusted(tenant, sub, source);
        Self {
            name,
            email,
            email_verified,
            picture,
        }
    }

    /// The email, where it may select a user or a role: verified by a party the
    /// tenant trusts for it.
    #[must_use]
    pub fn trusted_email(&self) -> Option<&str> {
        self.email.as_deref().filter(|_| self.email_verified)
    }
}

/// The user as the embedded app sees it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Profile {
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether a party the tenant trusts for it verified the email
    /// ([`Profile::vouched`] decides).
    #[serde(default)]
    pub email_verified: bool,
    /// `https:` picture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
}
