//! The host API on a tenant's users, whichever way they came in: end a user's
//! sessions (`POST /api/v1/embed/users/{tenant}/{sub}/logout`) and update the
//! profile the embedded app shows (`PATCH /api/v1/embed/users/{tenant}/{sub}`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use chrono::TimeDelta;
use serde::Deserialize;
use serde_json::{Value, json};

use super::host_api::Admitted;
use super::profiles::{store_profile, stored_profile};
use super::provision::created_user;
use super::slots::session_keys;
use super::vouched::{Claimed, Profile};
use crate::app::AppState;
use crate::domain::tenant::user_key;
use crate::domain::{EmailSource, HostUserId, Tenant};
use crate::flows::display_names::displayed;
use crate::http::error::WebError;
use crate::http::json::{JsonBody, shaped, shapes};
use crate::http::refused::Refused;

/// Which session of the user ends (all when none).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    #[serde(default)]
    sid: Option<String>,
}

/// The profile fields that change.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    picture: Option<String>,
}

shapes! {
    LogoutRequest => r#"{"sid": "..."} or nothing"#,
    ProfilePatch => r#"{"name", "email", "picture"}"#,
}

/// `POST /api/v1/embed/users/{tenant}/{sub}/logout {sid?}`: ends the user's
/// sessions (or the one `sid`); open frames learn it within seconds.
pub async fn logout_user(
    State(app): State<AppState>,
    call: Admitted,
    Path((tenant, sub)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<Value>, Refused> {
    let request = if body.iter().all(u8::is_ascii_whitespace) {
        LogoutRequest { sid: None }
    } else {
        shaped::<LogoutRequest>(&body)?
    };
    let (tenant, _) = call.tenant(&app, Some(&tenant)).await?;
    call.audit.subject(format!("{}/{sub}", tenant.id));
    let now = app.clock.now();
    let until = now + TimeDelta::seconds(i64::try_from(tenant.max_session_secs).unwrap_or(0));
    let user = user_key(&tenant.id, &sub);
    let mark = match &request.sid {
        Some(sid) => session_keys(&tenant.id, &sub, sid).session,
        None => user.clone(),
    };
    app.logins.end_sessions(&mark, &user, now, until).await?;
    Ok(Json(json!({"ended": true})))
}

/// `PATCH /api/v1/embed/users/{tenant}/{sub} {name?, email?, picture?}`: updates
/// the profile the embedded app sees (open frames renew to show it) and, for a
/// user authproxy created, the realm user's name.
pub async fn update_user(
    State(app): State<AppState>,
    call: Admitted,
    Path((tenant, sub)): Path<(String, String)>,
    JsonBody(patch): JsonBody<ProfilePatch>,
) -> Result<Json<Value>, Refused> {
    let claimed = Claimed::parse(patch.name, patch.email.as_deref(), patch.picture)
        .map_err(|p| Refused::field(p.field(), p))?;
    // The broker's own users (third-party platforms' and registrants') are
    // not the host's to rename or re-address.
    let sub = HostUserId::parse(&sub).map_err(|e| Refused::field("sub", e))?;
    let (tenant, _) = call.tenant(&app, Some(&tenant)).await?;
    call.audit.subject(format!("{}/{sub}", tenant.id));
    let source = EmailSource::Host {
        says_verified: None,
    };
    let profile = Profile::vouched(&tenant, &sub, claimed, source);
    let profile = apply_profile(&app, &tenant, sub.as_str(), &profile).await?;
    Ok(Json(
        json!({"tenant": tenant.id.as_str(), "sub": sub, "user": profile}),
    ))
}

/// Makes `profile` the user's, its name under the tenant's uniqueness rule: open
/// frames see it at their next renewal, and a realm user the broker created
/// takes its name. The same profile again changes nothing (no write, no
/// wake-up, no call to the realm). Returns the profile as stored.
pub(crate) async fn apply_profile(
    app: &AppState,
    tenant: &Tenant,
    sub: &str,
    profile: &Profile,
) -> Result<Profile, WebError> {
    let profile = &Profile {
        name: displayed(app, &tenant.id, sub, profile.name.as_deref()).await?,
        ..profile.clone()
    };
    let stored = stored_profile(app, &tenant.id, sub).await?;
    if stored.is_some_and(|(_, current)| &current == profile) {
        return Ok(profile.clone());
    }
    store_profile(app, &tenant.id, sub, profile).await?;
    let registry = app.registry.snapshot();
    if let (Some(realm), Some(name)) = (registry.realms.get(&tenant.realm), &profile.name) {
        // Only a user the broker created, never one that merely has its name.
        if let Some(user) = created_user(app, realm, &tenant.id, sub).await? {
            app.keycloak_admin
                .update_user(realm, &user.id, &json!({"firstName": name}))
                .await?;
        }
    }
    Ok(profile.clone())
}
