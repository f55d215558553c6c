//! Admin tokens: created with a label that names the administrator in the audit
//! trail (`admin:<label>`) and an optional end; the token is shown once and only
//! its hash is kept. Listed by a short id (the start of the hash), expired (the
//! row stays, and says so) or revoked (the row goes). And the console's
//! sessions of one administrator, ended at once (a lost laptop).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Operator, OpsError};
use crate::auth;
use crate::domain::console::{
    CONSOLE_SUBJECT_RULE, MAX_CONSOLE_SESSION, console_subject_is_valid, console_user_key,
};
use crate::registry::input::problem;
use crate::store::StoredAdminToken;

/// The longest label.
const MAX_LABEL: usize = 64;
/// The longest lifetime a new token may be given (days).
const MAX_DAYS: u32 = 3650;

/// A new admin token.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminTokenInput {
    /// Who holds it: 1 to 64 letters, digits, `.`, `_`, `@` or `-`.
    pub label: String,
    /// Days until it stops working (1 to 3650); without it, it works until expired
    /// or revoked.
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

/// An admin token as listed: never its value, which is shown once, at creation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AdminTokenView {
    /// Its id: the first 16 hex digits of its SHA-256.
    pub id: String,
    /// Who holds it.
    pub label: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops (or stopped) working; null: never.
    pub expires_at: Option<DateTime<Utc>>,
    /// `active` or `expired`.
    pub status: &'static str,
    /// The token, in the answer to its creation only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// When an admin token is to stop working.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpireInput {
    /// A time to come (RFC 3339); without it, now.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
}

impl AdminTokenView {
    fn of(token: &StoredAdminToken, now: DateTime<Utc>) -> Self {
        Self {
            id: auth::admin::token_id(&token.hash),
            label: token.label.clone(),
            created_at: token.created_at,
            expires_at: token.expires_at,
            status: if token.is_live(now) {
                "active"
            } else {
                "expired"
            },
            token: None,
        }
    }
}

impl Operator<'_> {
    /// Creates an admin token; the answer holds it, shown this once.
    pub async fn create_admin_token(
        &self,
        input: &AdminTokenInput,
    ) -> Result<AdminTokenView, OpsError> {
        let label = input.label.as_str();
        let mut problems = Vec::new();
        let fits = !label.is_empty()
            && label.len() <= MAX_LABEL
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b));
        if !fits {
            problems.push(problem(
                "label",
                format!("1 to {MAX_LABEL} letters, digits, '.', '_', '@' or '-'"),
            ));
        }
        if input
            .expires_in_days
            .is_some_and(|d| d == 0 || d > MAX_DAYS)
        {
            problems.push(problem(
                "expires_in_days",
                format!("1 to {MAX_DAYS} days, or leave it out for a token without an end"),
            ));
        }
        if !problems.is_empty() {
            return Err(OpsError::Invalid(problems));
        }
        let now = self.clock.now();
        let (token, hash) = auth::admin::new_token()?;
        let stored = StoredAdminToken {
            hash,
            label: label.to_owned(),
            created_at: now,
            expires_at: input
                .expires_in_days
                .map(|days| now + Duration::days(i64::from(days))),
        };
        self.access.put_admin_token(&stored).await?;
        self.record("admin.token.create", label).await?;
        let mut view = AdminTokenView::of(&stored, now);
        view.token = Some(token);
        Ok(view)
    }

    /// Every admin token, oldest first.
    pub async fn list_admin_tokens(&self) -> Result<Vec<AdminTokenView>, OpsError> {
        let now = self.clock.now();
        Ok(self
            .access
            .admin_tokens()
            .await?
            .iter()
            .map(|t| AdminTokenView::of(t, now))
            .collect())
    }

    /// Makes the token stop working at `input.at` (now when absent); it stays listed.
    pub async fn expire_admin_token(
        &self,
        id: &str,
        input: &ExpireInput,
    ) -> Result<AdminTokenView, OpsError> {
        let now = self.clock.now();
        let at = input.at.unwrap_or(now);
        if at < now {
            return Err(OpsError::Invalid(vec![problem(
                "at",
                "a time to come; leave it out to expire the token now",
            )]));
        }
        let mut token = self.admin_token(id).await?;
        self.access.expire_admin_token(token.hash, at).await?;
        self.record("admin.token.expire", &token.label).await?;
        token.expires_at = Some(at);
        Ok(AdminTokenView::of(&token, now))
    }

    /// Removes the token: it stops working at once and is no longer listed.
    pub async fn revoke_admin_token(&self, id: &str) -> Result<(), OpsError> {
        let token = self.admin_token(id).await?;
        self.access.delete_admin_token(token.hash).await?;
        self.record("admin.token.revoke", &token.label).await
    }

    /// Ends every console session of the administrator with `subject` signed in until now, on every
    /// replica at once; signing in again works.
    pub async fn end_console_sessions(&self, subject: &str) -> Result<(), OpsError> {
        let subject = subject.trim();
        if !console_subject_is_valid(subject) {
            return Err(OpsError::Invalid(vec![problem(
                "subject",
                CONSOLE_SUBJECT_RULE,
            )]));
        }
        let sessions = self.sessions.ok_or_else(|| {
            OpsError::NeedsBroker(
                "Console sessions live in the running broker's store: run this with --url (the admin API).".into(),
            )
        })?;
        let key = console_user_key(subject);
        let now = self.clock.now();
        sessions
            .end_sessions(&key, &key, now, now + MAX_CONSOLE_SESSION)
            .await?;
        self.record("console.sessions.end", subject).await
    }

    async fn admin_token(&self, id: &str) -> Result<StoredAdminToken, OpsError> {
        self.access
            .admin_tokens()
            .await?
            .into_iter()
            .find(|t| auth::admin::token_id(&t.hash) == id)
            .ok_or_else(|| OpsError::NotFound(format!("No admin token {id}.")))
    }
}
