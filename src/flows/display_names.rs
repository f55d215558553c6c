//! Display names of embedded sessions, unique per tenant: one rule for every way
//! in (host tokens, embed URLs, links, registrations, the handshake, platforms),
//! applied where a session starts and where a profile is stored. A user holds one
//! name at a time: a new name releases the one they held
//! (docs/src/embedded/third-party-sso.md: display names).

use serde_json::json;

use crate::app::AppState;
use crate::crypto;
use crate::domain::TenantId;
use crate::domain::sso::display_name_key;
use crate::http::error::WebError;
use crate::store::Document;
// Claims by `tenant/<hash of the name's key>`; suffixes and held names by
// `tenant/<hash of sub>`; all owned by the tenant (removed with it).
use crate::store::tenants::{DISPLAY_HELD, DISPLAY_NAME, DISPLAY_SUFFIX};

/// The claim's document id for `name` in `tenant`.
fn claim_id(tenant: &TenantId, name: &str) -> String {
    format!(
        "{tenant}/{}",
        crypto::sha256_b64url(&display_name_key(name))
    )
}

/// Claims `candidate` for the holder `me` in `tenant`: whether it is theirs
/// (now, or already).
async fn claim(
    app: &AppState,
    tenant: &TenantId,
    me: &str,
    candidate: &str,
) -> Result<bool, WebError> {
    let id = claim_id(tenant, candidate);
    // Read first: a returning user's name is theirs already, and a read costs
    // no write.
    if let Some(holder) = holder(app, &id).await? {
        return Ok(holder == me);
    }
    let doc = Document {
        id,
        owner: tenant.to_string(),
        body: json!({"holder": me}).to_string(),
        secret: None,
    };
    if app.durable.create_document(DISPLAY_NAME, &doc).await? {
        return Ok(true);
    }
    Ok(holder(app, &doc.id).await?.as_deref() == Some(me))
}

/// Who holds the claim `id`.
async fn holder(app: &AppState, id: &str) -> Result<Option<String>, WebError> {
    Ok(app
        .durable
        .document(DISPLAY_NAME, id)
        .await?
        .and_then(|d| serde_json::from_str::<serde_json::Value>(&d.body).ok())
        .and_then(|b| b.get("holder").and_then(|h| h.as_str()).map(str::to_owned)))
}

/// Records that `me` now holds `name`, and releases the name they held before:
/// nobody keeps a name they no longer show.
async fn hold(app: &AppState, tenant: &TenantId, me: &str, name: &str) -> Result<(), WebError> {
    let at = format!("{tenant}/{me}");
    let now_held = claim_id(tenant, name);
    let before = app
        .durable
        .document(DISPLAY_HELD, &at)
        .await?
        .and_then(|d| serde_json::from_str::<serde_json::Value>(&d.body).ok())
        .and_then(|b| b.get("claim").and_then(|c| c.as_str()).map(str::to_owned));
    if before.as_deref() == Some(now_held.as_str()) {
        return Ok(());
    }
    app.durable
        .put_document(
            DISPLAY_HELD,
            &Document {
                id: at,
                owner: tenant.to_string(),
                body: json!({"claim": now_held}).to_string(),
                secret: None,
            },
        )
        .await?;
    // Only its holder's claim is released; nobody else can claim it meanwhile.
    if let Some(before) = before
        && holder(app, &before).await?.as_deref() == Some(me)
    {
        app.durable.delete_document(DISPLAY_NAME, &before).await?;
    }
    Ok(())
}

/// The name `sub` of `tenant` shows: `name` if no other user of the tenant holds
/// it (or a name that looks the same), else the name with this user's own suffix
/// (`Ada #3f2a`): random, so no one can take it ahead of them, and kept, so it
/// stays the same. `None` stays `None`.
pub async fn displayed(
    app: &AppState,
    tenant: &TenantId,
    sub: &str,
    name: Option<&str>,
) -> Result<Option<String>, WebError> {
    let Some(name) = name else {
        return Ok(None);
    };
    let me = crypto::sha256_b64url(&format!("{tenant}\0{sub}"));
    if claim(app, tenant, &me, name).await? {
        hold(app, tenant, &me, name).await?;
        return Ok(Some(name.to_owned()));
    }
    let kept_at = format!("{tenant}/{me}");
    let mut kept = app
        .durable
        .document(DISPLAY_SUFFIX, &kept_at)
        .await?
        .and_then(|d| serde_json::from_str::<serde_json::Value>(&d.body).ok())
        .and_then(|b| b.get("suffix").and_then(|s| s.as_str()).map(str::to_owned));
    for attempt in 0..4usize {
        let suffix = if let Some(kept) = kept.take() {
            kept
        } else {
            let random = crypto::hex(&crypto::sha256(&crypto::random_token()?));
            let fresh = random.get(..4 + 2 * attempt).unwrap_or_default().to_owned();
            let doc = Document {
                id: kept_at.clone(),
                owner: tenant.to_string(),
                body: json!({"suffix": fresh}).to_string(),
                secret: None,
            };
            app.durable.put_document(DISPLAY_SUFFIX, &doc).await?;
            fresh
        };
        let candidate = format!("{name} #{suffix}");
        if claim(app, tenant, &me, &candidate).await? {
            hold(app, tenant, &me, &candidate).await?;
            return Ok(Some(candidate));
        }
    }
    tracing::warn!("no form of a display name could be claimed: the session shows none");
    Ok(None)
}
