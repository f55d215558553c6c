//! The realm user of a vouched user: found in the tenant's realm (existing
//! users only, selected by a trusted email or the directory) or created once,
//! under a lock, with a managed username no other way in can take.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::audit::Audit;
use super::profiles::profile_id;
use super::vouched::HostUser;
use crate::app::AppState;
use crate::crypto;
use crate::domain::{Provisioning, Realm, Tenant, TenantId, Username};
use crate::flows::{LoginTarget, resolve};
use crate::http::code::ErrorCode;
use crate::http::error::WebError;
use crate::idp::{RealmUser, UserLookup};
use crate::store::{Document, SlotClaim};

/// The realm username of a user authproxy creates: namespaced by tenant, from a
/// hash of the host's id (any characters) so it is valid and never collides with
/// a user who signs up.
#[must_use]
pub fn managed_username(tenant: &TenantId, sub: &str) -> String {
    let hash = crypto::sha256(&format!("{tenant}\0{sub}"));
    format!(
        "authproxy.{tenant}.{}",
        crypto::hex(hash.get(..12).unwrap_or_default())
    )
}

/// The realm's user for a verified token: found, or created where the tenant
/// provisions users. Runs only after every check of the token passed.
pub(crate) async fn provision(
    app: &AppState,
    realm: &Realm,
    tenant: &Tenant,
    user: &HostUser,
    audit: &Audit,
) -> Result<RealmUser, WebError> {
    let admin = &app.keycloak_admin;
    let fail = |audit: &Audit, err: crate::idp::IdpError| {
        audit.failed(format!("user lookup: {err}"));
        WebError::from(err)
    };
    match tenant.provisioning {
        Provisioning::ExistingOnly => {
            // An email selects an existing user only when a party the tenant
            // trusts for it vouched (docs/src/embedded/host-tokens.md, "Who vouches for an email").
            if user.profile.email.is_some() && !user.profile.email_verified {
                audit.reason(
                    "existing_only: the email is not vouched for by a party the tenant trusts",
                );
                return Err(WebError::new(
                    ErrorCode::EmailNotVerified,
                    "This tenant logs in existing users only, found by an email a party it trusts verified; this email is not.",
                ));
            }
            let email = user
                .profile
                .trusted_email()
                .and_then(|e| Username::parse(e).ok());
            let Some(email) = &email else {
                audit.reason("existing_only needs the email claim");
                return Err(WebError::new(
                    ErrorCode::UnknownUser,
                    "This tenant logs in existing users only: the token must carry their email.",
                ));
            };
            let registry = app.registry.snapshot();
            let in_realm = matches!(
                resolve(app, &registry, email).await,
                Ok(LoginTarget::Sso { realm: r, .. }) if r.name == realm.name
            );
            if !in_realm {
                audit.reason("the directory does not place the user in the tenant's realm");
                return Err(WebError::new(
                    ErrorCode::UnknownUser,
                    "No user of the tenant's realm has this email.",
                ));
            }
            match admin.find_user(realm, email.as_str()).await {
                Ok(UserLookup::Found(user)) => Ok(user),
                Ok(UserLookup::NotFound) => {
                    audit.reason("the realm has no such user");
                    Err(WebError::new(
                        ErrorCode::UnknownUser,
                        "No user of the tenant's realm has this email.",
                    ))
                }
                Ok(UserLookup::Ambiguous) => {
                    audit.reason("several realm users have this email");
                    Err(WebError::new(
                        ErrorCode::AmbiguousUser,
                        "Several users of the realm have this email address.",
                    ))
                }
                Err(err) => Err(fail(audit, err)),
            }
        }
        Provisioning::Create => create_user(app, realm, user, audit).await,
    }
}

#[derive(Serialize, Deserialize)]
pub(crate) struct CreatedUser {
    pub(crate) realm: String,
    pub(crate) id: String,
    pub(crate) username: String,
}

/// Where the broker remembers the realm users it created (`tenant/sub`).
use crate::store::tenants::CREATED_USER;

/// The realm user the broker created for `sub` of `tenant` in `realm`, if it did.
pub async fn created_user(
    app: &AppState,
    realm: &Realm,
    tenant: &TenantId,
    sub: &str,
) -> Result<Option<RealmUser>, WebError> {
    let doc = app
        .durable
        .document(CREATED_USER, &profile_id(tenant, sub))
        .await?;
    Ok(doc
        .and_then(|d| serde_json::from_str::<CreatedUser>(&d.body).ok())
        .filter(|u| u.realm == realm.name.as_str())
        .map(|u| RealmUser {
            id: u.id,
            username: u.username,
        }))
}

/// The realm user authproxy created for this host user, or a new one. Only a
/// user the broker created itself is ever used: a realm user that merely has
/// the same name (someone who registered it) is refused, never taken over.
pub(crate) async fn create_user(
    app: &AppState,
    realm: &Realm,
    user: &HostUser,
    audit: &Audit,
) -> Result<RealmUser, WebError> {
    let remembered = || created_user(app, realm, &user.tenant, user.sub.as_str());
    if let Some(found) = remembered().await? {
        return Ok(found);
    }
    // One creator at a time per host user, across replicas: the others wait
    // for the user it records (many first logins at once create one user).
    let lock = format!(
        "create-user:{}:{}",
        user.tenant,
        URL_SAFE_NO_PAD.encode(user.sub.as_str())
    );
    let holder = crypto::random_token()?;
    let deadline = tokio::time::Instant::now() + CREATION_WAIT;
    loop {
        let now = app.clock.now();
        let claim = app
            .logins
            .claim_slot(&lock, &holder, false, now + TimeDelta::seconds(30), now)
            .await?;
        if claim != SlotClaim::Held {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            audit.failed("another request is still creating this user");
            return Err(WebError::new(
                ErrorCode::RealmTimeout,
                "The realm is still creating this user for another request: try again shortly.",
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let Some(found) = remembered().await? {
            return Ok(found);
        }
    }
    let created = create_user_holding_the_lock(app, realm, user, audit).await;
    if let Err(err) = app.logins.release_slot(&lock, &holder).await {
        tracing::warn!(error = %err, "could not free a user creation lock (it lapses in 30 s)");
    }
    created
}

/// How long a first login waits for a concurrent one creating the same user.
pub(crate) const CREATION_WAIT: Duration = Duration::from_secs(20);

/// Creates the realm user, with the creation lock held.
pub(crate) async fn create_user_holding_the_lock(
    app: &AppState,
    realm: &Realm,
    user: &HostUser,
    audit: &Audit,
) -> Result<RealmUser, WebError> {
    let tenant = &user.tenant;
    let key = profile_id(tenant, user.sub.as_str());
    // The holder before us may have just finished.
    if let Some(found) = created_user(app, realm, tenant, user.sub.as_str()).await? {
        return Ok(found);
    }
    let admin = &app.keycloak_admin;
    let fail = |audit: &Audit, err: crate::idp::IdpError| {
        audit.failed(format!("user creation: {err}"));
        WebError::from(err)
    };
    let username = managed_username(tenant, user.sub.as_str());
    // No email and no credentials: nobody can set a password for this user (a
    // reset needs an email); it logs in only through authproxy. The attributes
    // are kept where the realm's user profile allows unmanaged attributes.
    let representation = json!({
        "username": username,
        "enabled": true,
        "firstName": user.profile.name.clone().unwrap_or_default(),
        "attributes": {
            "authproxy_tenant": [tenant.as_str()],
            "authproxy_sub": [user.sub.as_str()],
        },
        "requiredActions": [],
    });
    match admin.create_user(realm, &representation).await {
        Ok(()) => {}
        Err(crate::idp::IdpError::Rejected { status: 409, .. }) => {
            // Under the lock nobody of ours creates it: someone else did.
            audit.reason("the realm has a user of this name that authproxy did not create");
            return Err(WebError::new(
                ErrorCode::RealmUserConflict,
                "The realm already has a user of the name authproxy gives this host user, and authproxy did not create it.",
            ));
        }
        Err(err) => return Err(fail(audit, err)),
    }
    let found = match admin.find_user(realm, &username).await {
        Ok(UserLookup::Found(found)) => found,
        Ok(_) => {
            audit.failed("the created user is not found");
            return Err(WebError::new(
                ErrorCode::RealmInvalidResponse,
                "The realm did not keep the user it created.",
            ));
        }
        Err(err) => return Err(fail(audit, err)),
    };
    let body = serde_json::to_string(&CreatedUser {
        realm: realm.name.to_string(),
        id: found.id.clone(),
        username: found.username.clone(),
    })
    .map_err(WebError::internal)?;
    app.durable
        .put_document(
            CREATED_USER,
            &Document {
                id: key,
                owner: tenant.to_string(),
                body,
                secret: None,
            },
        )
        .await?;
    audit.note("user created");
    Ok(found)
}
