//! The console's overview: each realm's health and the last hour of logins,
//! from the same records as `/healthz/realms` and the `logins` metric; and a
//! realm's metadata checked now.

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{AdminError, AdminResult};
use crate::app::AppState;
use crate::domain::RealmName;
use crate::idp::health::RealmState;

/// A realm's health.
#[derive(Debug, Serialize, ToSchema)]
pub struct RealmHealthView {
    /// The realm's name.
    pub name: String,
    /// Its authority.
    pub authority: String,
    /// `up`, `down`, or `unchecked` (not yet checked by this replica).
    pub status: String,
    /// Since when it is in that state.
    pub since: Option<DateTime<Utc>>,
    /// When it was last checked.
    pub checked_at: Option<DateTime<Utc>>,
    /// The last failure, while down.
    pub last_error: Option<String>,
}

/// One minute of logins.
#[derive(Debug, Serialize, ToSchema)]
pub struct MinuteView {
    /// The minute's start.
    pub minute: DateTime<Utc>,
    /// Logins sent to a realm.
    pub started: u64,
    /// Logins completed.
    pub completed: u64,
    /// Failed logins, by error code.
    pub failed: std::collections::BTreeMap<String, u64>,
}

/// The overview.
#[derive(Debug, Serialize, ToSchema)]
pub struct Overview {
    /// The broker's version.
    pub version: &'static str,
    /// Every configured realm's health.
    pub realms: Vec<RealmHealthView>,
    /// The last 60 minutes of logins on this replica, oldest first.
    pub logins: Vec<MinuteView>,
}

fn health_of(realm: &crate::domain::Realm, state: Option<RealmState>) -> RealmHealthView {
    RealmHealthView {
        name: realm.name.to_string(),
        authority: realm.authority.as_str().to_owned(),
        status: state.as_ref().map_or("unchecked", |s| s.status).to_owned(),
        since: state.as_ref().map(|s| s.since),
        checked_at: state.as_ref().map(|s| s.checked_at),
        last_error: state.and_then(|s| s.last_error),
    }
}

/// Realm health and the last hour of logins.
#[utoipa::path(get, path = "/admin/api/overview", responses((status = 200, body = Overview)), security(("admin_token" = [])))]
pub async fn overview(State(app): State<AppState>) -> Json<Overview> {
    let snapshot = app.registry.snapshot();
    let mut states = app.realm_health.snapshot();
    let mut realms: Vec<_> = snapshot
        .realms
        .values()
        .map(|r| health_of(r, states.remove(r.name.as_str())))
        .collect();
    realms.sort_by(|a, b| a.name.cmp(&b.name));
    let logins = app
        .metrics
        .recent_logins
        .last_hour(app.clock.now())
        .into_iter()
        .map(|m| MinuteView {
            minute: m.minute,
            started: m.started,
            completed: m.completed,
            failed: m
                .failed
                .into_iter()
                .map(|(code, n)| (code.to_owned(), n))
                .collect(),
        })
        .collect();
    Json(Overview {
        version: env!("CARGO_PKG_VERSION"),
        realms,
        logins,
    })
}

/// Asks a realm for its metadata now; its health afterwards.
#[utoipa::path(post, path = "/admin/api/realms/{name}/check", responses((status = 200, body = RealmHealthView), (status = 404)), security(("admin_token" = [])))]
pub async fn check_realm(
    State(app): State<AppState>,
    Path(name): Path<String>,
) -> AdminResult<Json<RealmHealthView>> {
    let missing = || AdminError::NotFound(format!("No realm {name}."));
    let realm_name = RealmName::parse(&name).map_err(|_| missing())?;
    let snapshot = app.registry.snapshot();
    let realm = snapshot.realms.get(&realm_name).ok_or_else(missing)?;
    // The answer is the recorded state: up, or down with the failure.
    let _ = app.check_realm(realm).await;
    let state = app.realm_health.snapshot().remove(realm.name.as_str());
    Ok(Json(health_of(realm, state)))
}
