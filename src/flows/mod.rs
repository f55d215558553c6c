//! One module per flow, each with its handlers, views and request/response
//! types. Handlers stay thin: parse into domain types, call the store or the
//! IdP, map the result to a response.

pub mod callback;
pub mod discovery;
pub mod display_names;
pub mod embed;
pub mod handoff;
pub mod health;
pub mod impersonation;
pub mod login;
pub mod logout;
pub mod passthrough;
pub mod sdk;

/// The embedded-SSO styles of seeds 001, 003 and 004, under the session core.
pub use embed::{links, registrations, sso};

use crate::app::AppState;
use crate::domain::{IdpAlias, Realm, Resolution, Target, Username};
use crate::http::code::ErrorCode;
use crate::http::error::WebError;
use crate::registry::Snapshot;

/// Where a username logs in, as discovery and `/login` both need it.
pub enum LoginTarget<'a> {
    /// The user logs in at `realm`.
    Sso {
        /// The realm.
        realm: &'a Realm,
        /// The external IdP to send the user to.
        idp_hint: Option<IdpAlias>,
    },
    /// The user is not enabled for SSO.
    NotMigrated,
}

/// Resolves `user` through the directory. Unknown users are an error; a rule
/// naming a realm that is no longer configured is reported as such.
pub async fn resolve<'a>(
    app: &AppState,
    registry: &'a Snapshot,
    user: &Username,
) -> Result<LoginTarget<'a>, WebError> {
    match app.directory.resolve(user).await? {
        Resolution::Unknown => Err(WebError::new(
            ErrorCode::UnknownUser,
            "No user with this name is known to the directory. Check the spelling.",
        )),
        Resolution::Found(Target::NotMigrated) => Ok(LoginTarget::NotMigrated),
        Resolution::Found(Target::Sso { realm, idp_hint }) => match registry.realms.get(&realm) {
            Some(realm) => Ok(LoginTarget::Sso { realm, idp_hint }),
            None => Err(WebError::new(
                ErrorCode::RealmNotConfigured,
                "The directory assigns this user to a realm that is not configured. An administrator must fix the directory.",
            )),
        },
    }
}
