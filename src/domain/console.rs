//! The admin console's sign-in: which realm administrators log in at, who may
//! enter, and the two sealed values that travel in its cookies (the login in
//! flight, and the signed-in session with its CSRF token).

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::RealmName;

/// The longest a console login may take between the redirect and the callback.
pub const CONSOLE_LOGIN_LIFETIME: TimeDelta = TimeDelta::minutes(10);
/// The shortest console session `[console] session_minutes` may set.
pub const MIN_CONSOLE_SESSION: TimeDelta = TimeDelta::minutes(5);
/// The longest console session `[console] session_minutes` may set.
pub const MAX_CONSOLE_SESSION: TimeDelta = TimeDelta::minutes(24 * 60);

/// The end mark of every console session of the administrator whose subject
/// at the console's realm is `subject`.
#[must_use]
pub fn console_user_key(subject: &str) -> String {
    format!("console-user\0{subject}")
}

/// What a console administrator's subject is, in the words of an error.
pub const CONSOLE_SUBJECT_RULE: &str = "a subject (the user's ID at the console's realm) is 1 to 255 characters, without spaces or control characters";

/// Whether `subject` can be a realm user's subject (OIDC Core 2: at most 255
/// ASCII characters; Keycloak's are UUIDs).
#[must_use]
pub fn console_subject_is_valid(subject: &str) -> bool {
    !subject.is_empty() && subject.len() <= 255 && subject.bytes().all(|b| b.is_ascii_graphic())
}

/// The audit trail's name of the console administrator with subject `subject`.
#[must_use]
pub fn console_actor(subject: &str) -> String {
    format!("console:{subject}")
}

/// Who may sign in to the console, and for how long.
#[derive(Debug, Clone)]
pub struct ConsoleSettings {
    /// The realm (one the configuration file defines) administrators log in at.
    pub realm: RealmName,
    /// The subjects (`sub`) let in; everybody else is refused. Not usernames:
    /// a realm can let its users change theirs, never their subject.
    pub admin_subjects: BTreeSet<String>,
    /// How long a console session lasts after sign-in.
    pub session: TimeDelta,
}

impl ConsoleSettings {
    /// Whether the realm's user with subject `subject` may use the console.
    #[must_use]
    pub fn admits(&self, subject: &str) -> bool {
        self.admin_subjects.contains(subject)
    }
}

/// A console login in flight, sealed into the cookie bound to its state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConsoleLogin {
    /// The ID token's expected nonce.
    pub nonce: String,
    /// The PKCE verifier.
    pub pkce_verifier: String,
    /// The issuer the realm's metadata named.
    pub issuer: String,
    /// Whether the realm sends `iss` in every authorization response (RFC 9207).
    pub require_iss: bool,
    /// When it can no longer complete.
    pub expires_at: DateTime<Utc>,
}

/// A signed-in administrator, sealed into the console's session cookie.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConsoleSession {
    /// The realm user's subject (`sub`): who is let in, and whose sessions end.
    pub subject: String,
    /// The realm user's `preferred_username`, shown in the console only.
    pub user: String,
    /// The value every state-changing request repeats in `X-CSRF-Token`.
    pub csrf: String,
    /// Its id: the key of its end mark when it is signed out.
    pub sid: String,
    /// When it was signed in (an end of all the user's sessions at or after
    /// this ends it).
    pub started_at: DateTime<Utc>,
    /// When the session ends.
    pub expires_at: DateTime<Utc>,
}

impl ConsoleSession {
    /// Whether it still holds at `now`.
    #[must_use]
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        now < self.expires_at
    }

    /// The end mark of this session.
    #[must_use]
    pub fn session_key(&self) -> String {
        format!("console-session\0{}", self.sid)
    }

    /// The audit trail's name of the administrator: the subject, which no
    /// rename at the realm changes.
    #[must_use]
    pub fn actor(&self) -> String {
        console_actor(&self.subject)
    }
}
