//! Writing the file's entries to the store, as `serve` and every CLI command do
//! when they open it: realms, clients, tenants and directory rules, each once
//! unless the file owns it (docs/src/operate/administration.md, "Who owns what").

use chrono::{DateTime, Utc};

use super::Config;
use crate::store::tenants::TenantStore as _;
use crate::store::{DurableStore, StoreError, seeded};

impl Config {
    /// Seeds `store` with the file's entries.
    pub async fn seed(
        &self,
        store: &dyn DurableStore,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        crate::registry::seed(store, &self.realms, &self.clients, &self.owned).await?;
        store
            .seed_tenants(&self.tenants, &self.owned.tenants, now)
            .await?;
        let fresh = seeded::unseeded_rules(store, &self.directory_seed).await?;
        if !fresh.is_empty() {
            let rules: Vec<_> = fresh.iter().map(|(rule, _)| rule.clone()).collect();
            let written = store
                .import_rules(Box::new(rules.into_iter()), false)
                .await?;
            seeded::mark_rules(store, &fresh).await?;
            tracing::info!(
                rules = written,
                "seeded the directory from the configuration"
            );
        }
        Ok(())
    }
}
