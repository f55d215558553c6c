//! Whom an embedded session is for, once a way in vouched for them: the user
//! ([`HostUser`]) and what the embedded app shows of them ([`Profile`]). Which
//! party vouches for an email is decided here, for every way in alike
//! ([`Profile::vouched`] through [`email_trusted`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::auth::host_token::VerifiedHostToken;
use crate::domain::host_user::{check_name, check_picture};
use crate::domain::{
    Email, EmailSource, HostUserId, ProfileProblem, ResourceRef, Tenant, TenantId, email_trusted,
};

/// What a party says of its user's profile, parsed at the edge: each field
/// passed its rule.
#[derive(Debug, Clone, Default)]
pub struct Claimed {
    /// Display name.
    pub name: Option<String>,
    /// Email.
    pub email: Option<Email>,
    /// `https:` picture.
    pub picture: Option<String>,
}

impl Claimed {
    /// The fields as sent, each checked by its rule.
    ///
    /// # Errors
    /// The first field that breaks its rule.
    pub fn parse(
        name: Option<String>,
        email: Option<&str>,
        picture: Option<String>,
    ) -> Result<Self, ProfileProblem> {
        name.as_deref().map(check_name).transpose()?;
        let email = email
            .map(Email::parse)
            .transpose()
            .map_err(ProfileProblem::Email)?;
        picture.as_deref().map(check_picture).transpose()?;
        Ok(Self {
            name,
            email,
            picture,
        })
    }
}

impl HostUser {
    /// The user a verified host token vouches for, for no resource in particular.
    #[must_use]
    pub fn vouched_by(verified: VerifiedHostToken) -> Self {
        let claimed = Claimed {
            name: verified.name,
            email: verified.email,
            picture: verified.picture,
        };
        let profile = Profile::vouched(
            &verified.tenant,
            &verified.sub,
            claimed,
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
        sub: HostUserId,
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
    pub sub: HostUserId,
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
        sub: &HostUserId,
        claimed: Claimed,
        source: EmailSource,
    ) -> Self {
        let email_verified = claimed.email.is_some() && email_trusted(tenant, sub.as_str(), source);
        Self {
            name: claimed.name,
            email: claimed.email,
            email_verified,
            picture: claimed.picture,
        }
    }

    /// The email, where it may select a user or a role: verified by a party the
    /// tenant trusts for it.
    #[must_use]
    pub fn trusted_email(&self) -> Option<&str> {
        self.email
            .as_ref()
            .map(Email::as_str)
            .filter(|_| self.email_verified)
    }
}

/// The user as the embedded app sees it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Profile {
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Email, as the party that vouched wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    /// Whether a party the tenant trusts for it verified the email
    /// ([`Profile::vouched`] decides).
    #[serde(default)]
    pub email_verified: bool,
    /// `https:` picture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub picture: Option<String>,
}
