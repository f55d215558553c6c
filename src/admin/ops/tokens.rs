//! Admin tokens: created with a label that names the administrator in the audit
//! trail (`admin:<label>`); the token is shown once and only its hash is kept.

use super::{Operator, OpsError};
use crate::auth;
use crate::registry::input::problem;

/// The longest label.
const MAX_LABEL: usize = 64;

impl Operator<'_> {
    /// Creates an admin token labelled `label` and returns it, shown this once.
    pub async fn create_admin_token(&self, label: &str) -> Result<String, OpsError> {
        let fits = !label.is_empty()
            && label.len() <= MAX_LABEL
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b));
        if !fits {
            return Err(OpsError::Invalid(vec![problem(
                "label",
                format!("1 to {MAX_LABEL} letters, digits, '.', '_', '@' or '-'"),
            )]));
        }
        let (token, hash) = auth::admin::new_token()?;
        self.access
            .put_admin_token(hash, label, self.clock.now())
            .await?;
        self.record("admin.token.create", label).await?;
        Ok(token)
    }
}
