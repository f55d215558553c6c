//! The profile a host last set for a user (`PATCH` of the host API): kept per
//! tenant and user, read when a session starts or is renewed.

use super::vouched::Profile;

/// Where updated profiles are kept (`tenant/sub`).
pub use crate::store::tenants::PROFILE;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::app::AppState;
use crate::domain::TenantId;
use crate::domain::tenant::user_key;
use crate::http::error::WebError;
use crate::store::Document;

/// The profile the host last set through `PATCH`, if any.
pub(crate) async fn stored_profile(
    app: &AppState,
    tenant: &TenantId,
    sub: &str,
) -> Result<Option<(String, Profile)>, WebError> {
    let doc = app
        .durable
        .document(PROFILE, &profile_id(tenant, sub))
        .await?;
    Ok(doc.and_then(|d| {
        serde_json::from_str(&d.body)
            .ok()
            .map(|profile| (d.body, profile))
    }))
}

/// The document id of a user's profile.
#[must_use]
pub fn profile_id(tenant: &TenantId, sub: &str) -> String {
    format!("{tenant}/{}", URL_SAFE_NO_PAD.encode(sub))
}

/// Writes a user's profile and wakes their open frames.
pub async fn store_profile(
    app: &AppState,
    tenant: &TenantId,
    sub: &str,
    profile: &Profile,
) -> Result<(), WebError> {
    let body = serde_json::to_string(profile).map_err(WebError::internal)?;
    app.durable
        .put_document(
            PROFILE,
            &Document {
                id: profile_id(tenant, sub),
                owner: tenant.to_string(),
                body,
                secret: None,
            },
        )
        .await?;
    app.logins.ring_sessions(&user_key(tenant, sub)).await?;
    Ok(())
}
