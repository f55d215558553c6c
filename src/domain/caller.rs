//! A backend caller of the impersonation endpoint and the policy that limits it.
//! Deny by default: a caller may act only in the realms it lists, only for the
//! users its policy names, only with the audiences it lists, and only receive
//! tokens that live no longer than its maximum.

use super::FieldProblem;
use super::directory::EmailDomain;
use super::realm::RealmName;
use super::username::Username;

super::slug::slug_id!(
    /// An impersonation caller's id: `[a-z0-9._-]`, 1 to 64 characters.
    CallerId,
    CallerIdError,
    "a caller ID"
);

/// What a caller may do.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CallerPolicy {
    /// Realms the caller may act in.
    pub realms: Vec<RealmName>,
    /// Realms whose every user the caller may act as (each must be in `realms`).
    #[serde(default)]
    pub all_users_of: Vec<RealmName>,
    /// Email domains whose users the caller may act as.
    #[serde(default)]
    pub domains: Vec<String>,
    /// Individual users the caller may act as.
    #[serde(default)]
    pub users: Vec<String>,
    /// `audience` values the caller may ask for; without any, it may not ask for one.
    #[serde(default)]
    pub audiences: Vec<String>,
    /// The longest token lifetime the caller may receive, in seconds.
    pub max_lifetime_secs: u64,
    /// Token bucket: sustained requests per minute, and the burst allowed.
    pub rate_per_minute: u32,
    /// Burst allowed above the sustained rate.
    pub burst: u32,
}

/// Why a policy refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    #[error("the caller may not act in realm {0}")]
    /// The realm is not among the policy's.
    Realm(RealmName),
    #[error("the caller may not act as this user")]
    /// The user is not among those the caller may act as.
    User,
    #[error("the caller may not ask for this audience")]
    /// The audience is not among the policy's.
    Audience,
    #[error(
        "the realm issues tokens living {issued} s, longer than the caller's maximum of {max} s"
    )]
    /// The token would outlive the policy's longest lifetime.
    Lifetime {
        /// The lifetime the realm issued, in seconds.
        issued: u64,
        /// The policy's longest, in seconds.
        max: u64,
    },
}

impl CallerPolicy {
    /// Checks the policy's own consistency (domains and users well-formed,
    /// `all_users_of` within `realms`, sane limits).
    #[must_use]
    pub fn problems(&self) -> Vec<FieldProblem> {
        let mut problems = Vec::new();
        let mut add = |field: String, message: &str| {
            problems.push(FieldProblem {
                path: field,
                message: message.to_owned(),
            });
        };
        if self.realms.is_empty() {
            add("realms".into(), "list at least one realm");
        }
        for (i, realm) in self.all_users_of.iter().enumerate() {
            if !self.realms.contains(realm) {
                add(
                    format!("all_users_of[{i}]"),
                    "must also be listed in realms",
                );
            }
        }
        for (i, domain) in self.domains.iter().enumerate() {
            if EmailDomain::parse(domain).is_err() {
                add(
                    format!("domains[{i}]"),
                    "an email domain such as corp.example",
                );
            }
        }
        for (i, user) in self.users.iter().enumerate() {
            if let Err(e) = Username::parse(user) {
                add(format!("users[{i}]"), &e.to_string());
            }
        }
        for (i, audience) in self.audiences.iter().enumerate() {
            let ok = (1..=255).contains(&audience.len())
                && audience.bytes().all(|b| (0x21..=0x7e).contains(&b));
            if !ok {
                add(
                    format!("audiences[{i}]"),
                    "1 to 255 printable ASCII characters without spaces",
                );
            }
        }
        if !(30..=86_400).contains(&self.max_lifetime_secs) {
            add("max_lifetime_secs".into(), "between 30 and 86400 seconds");
        }
        if !(1..=100_000).contains(&self.rate_per_minute) {
            add("rate_per_minute".into(), "between 1 and 100000");
        }
        if !(1..=10_000).contains(&self.burst) {
            add("burst".into(), "between 1 and 10000");
        }
        problems
    }

    /// May the caller act as `user`, who logs in at `realm`, asking for `audience`?
    pub fn allows(
        &self,
        user: &Username,
        realm: &RealmName,
        audience: Option<&str>,
    ) -> Result<(), Denial> {
        if !self.realms.contains(realm) {
            return Err(Denial::Realm(realm.clone()));
        }
        let user_allowed = self.all_users_of.contains(realm)
            || self
                .domains
                .iter()
                .any(|d| d.eq_ignore_ascii_case(user.domain()))
            || self
                .users
                .iter()
                .any(|u| Username::parse(u).is_ok_and(|u| &u == user));
        if !user_allowed {
            return Err(Denial::User);
        }
        if audience.is_some_and(|a| !self.audiences.iter().any(|allowed| allowed == a)) {
            return Err(Denial::Audience);
        }
        Ok(())
    }

    /// May the caller receive a token living `issued` seconds?
    pub fn allows_lifetime(&self, issued: u64) -> Result<(), Denial> {
        if issued > self.max_lifetime_secs {
            Err(Denial::Lifetime {
                issued,
                max: self.max_lifetime_secs,
            })
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests;
