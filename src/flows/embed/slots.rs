//! Where a session's marks live in the login store: the keys its end is
//! recorded under, and the slot that keeps one session per registration (or
//! per user) alive while it shows signs of life.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::TimeDelta;

use crate::domain::TenantId;
use crate::domain::tenant::user_key;
use crate::store::SessionKeys;

/// How long a session holds its slot without a sign of life (a renewal, or the
/// frame's wait): a closed frame frees its place within this.
pub const SLOT_LEASE: TimeDelta = TimeDelta::minutes(2);

/// The slot of a registration's one session.
pub(crate) fn registration_slot(tenant: &TenantId, registration: &str) -> String {
    format!("registration:{tenant}:{registration}")
}

/// The slot of a user's one session.
pub(crate) fn user_slot(tenant: &TenantId, sub: &str) -> String {
    format!("user:{tenant}:{}", URL_SAFE_NO_PAD.encode(sub))
}

/// The end marks of a user's sessions, and of one of them.
#[must_use]
pub fn session_keys(tenant: &TenantId, sub: &str, sid: &str) -> SessionKeys {
    SessionKeys {
        session: format!("embed-session\0{tenant}\0{sub}\0{sid}"),
        user: user_key(tenant, sub),
    }
}
