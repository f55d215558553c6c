//! The append-only audit trail: one row per decision (who, what, on whom, how
//! it ended and why), the filter that reads rows back, and the trait each
//! durable store implements.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;

/// How an audited request ended. Stored as its word (the column is text).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditOutcome {
    /// Refused: the caller may not, or sent something wrong. Every row starts
    /// here until the request says otherwise.
    #[default]
    Denied,
    /// Something was handed out (a token, a session, a URL that logs a user in).
    Granted,
    /// A realm, the store or another upstream failed.
    Failed,
    /// An administrator's change took effect.
    Changed,
}

impl AuditOutcome {
    /// The word stored and shown.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Denied => "denied",
            Self::Granted => "granted",
            Self::Failed => "failed",
            Self::Changed => "changed",
        }
    }

    /// The outcome a stored word names.
    ///
    /// # Errors
    /// A word no version of the broker writes: the row does not read back.
    pub fn parse(word: &str) -> Result<Self, StoreError> {
        Ok(match word {
            "denied" => Self::Denied,
            "granted" => Self::Granted,
            "failed" => Self::Failed,
            "changed" => Self::Changed,
            other => {
                return Err(StoreError::Corrupt(format!(
                    "an audit row's outcome is {other:?}"
                )));
            }
        })
    }
}

impl std::fmt::Display for AuditOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which audit rows to read: every filter that is set must match.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// At or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Before this time.
    pub until: Option<DateTime<Utc>>,
    /// This actor exactly (`caller:billing`, `admin:ops`, `cli:alice`).
    pub actor: Option<String>,
    /// This action, or every action under it (`client` matches `client.create`).
    pub action: Option<String>,
    /// This outcome (`changed`, `issued`, `denied`, ...).
    pub outcome: Option<String>,
    /// At most this many rows.
    pub limit: u32,
    /// The newest rows, newest first; else the oldest, oldest first.
    pub newest_first: bool,
}

impl AuditFilter {
    /// The `LIKE` pattern of the actions under `action` (`%` and `_` escaped
    /// with `\\`).
    #[must_use]
    pub fn action_prefix(&self) -> Option<String> {
        self.action.as_ref().map(|a| {
            let escaped = a
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("{escaped}.%")
        })
    }
}

/// One audit row. Tokens never appear, only their `jti` and expiry.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// `caller:<id>`, `admin:<label>` or `anonymous`.
    pub actor: String,
    /// What (`impersonation`, `client.create`, ...).
    pub action: String,
    /// On what, or whom.
    pub subject: Option<String>,
    /// In which realm.
    pub realm: Option<String>,
    /// For which audience.
    pub audience: Option<String>,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// Why it was refused.
    pub reason: Option<String>,
    /// The client address.
    pub source: Option<String>,
    /// The request id.
    pub request_id: Option<String>,
    /// The issued token's `jti`.
    pub token_jti: Option<String>,
    /// When the issued token expires.
    pub token_expires_at: Option<DateTime<Utc>>,
}

/// The append-only audit trail.
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends a row.
    async fn append(&self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// The rows `filter` matches, oldest first.
    async fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError>;
}
