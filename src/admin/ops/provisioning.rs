//! Provisioning: makes the registered clients exist in their Keycloak realms
//! (see [`crate::admin::sync`]) and records each client created or updated.

use super::{Operator, OpsError};
use crate::admin::sync::{self, SyncChange};
use crate::domain::{PublicUrl, RealmName};
use crate::idp::KeycloakAdmin;
use crate::registry::input::problem;

impl Operator<'_> {
    /// Syncs every client (of `realm`, when given) into its realms, and the
    /// admin console's client into `console_realm` when the console is on; a
    /// dry run reports the changes without making or recording them.
    pub async fn sync_clients(
        &self,
        keycloak: &dyn KeycloakAdmin,
        public_url: &PublicUrl,
        console_realm: Option<&RealmName>,
        realm: Option<&str>,
        dry_run: bool,
    ) -> Result<Vec<SyncChange>, OpsError> {
        let realm = realm
            .map(RealmName::parse)
            .transpose()
            .map_err(|e| OpsError::Invalid(vec![problem("realm", e)]))?;
        // Include changes another process made since the last reload.
        self.registry.reload_if_changed().await?;
        let snapshot = self.registry.snapshot();
        if let Some(realm) = &realm
            && !snapshot.realms.contains_key(realm)
        {
            return Err(OpsError::NotFound(format!(
                "No realm {realm} is configured: nothing to sync."
            )));
        }
        let changes = sync::sync_clients(
            keycloak,
            &snapshot,
            public_url,
            console_realm,
            realm.as_ref(),
            dry_run,
        )
        .await?;
        if !dry_run {
            for change in changes.iter().filter(|c| c.action != "unchanged") {
                self.record(
                    &format!("keycloak.client.{}", change.action),
                    &format!("{}/{}", change.realm, change.client_id),
                )
                .await?;
            }
        }
        Ok(changes)
    }
}
