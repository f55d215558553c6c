//! A bounded in-memory cache in front of a [`DirectoryStore`], so that discovery
//! reads memory. Writes made through it empty the cache at once; changes made by
//! another process (the CLI) are noticed through the store's directory version,
//! checked every second.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;

use super::{DirectoryStore, Rules, StoreError};
use crate::domain::{Resolution, RuleKey, Target, Username};

/// How often the store's directory version is checked.
const VERSION_CHECK_INTERVAL: Duration = Duration::from_millis(500);

/// A directory with an in-memory cache in front.
pub struct CachedDirectory {
    inner: Arc<dyn DirectoryStore>,
    /// Each entry carries the generation it was read in; an entry of an older
    /// generation is a miss. Emptying the cache is one increment.
    entries: quick_cache::sync::Cache<String, (u64, Resolution)>,
    generation: AtomicU64,
    seen_version: AtomicI64,
}

impl CachedDirectory {
    /// A cache of up to `capacity` lookups in front of `inner`, with a task that
    /// watches the directory version for as long as the cache lives.
    pub fn start(inner: Arc<dyn DirectoryStore>, capacity: usize) -> Arc<Self> {
        let cache = Arc::new(Self {
            inner,
            entries: quick_cache::sync::Cache::new(capacity),
            generation: AtomicU64::new(0),
            seen_version: AtomicI64::new(i64::MIN),
        });
        tokio::spawn(watch_version(Arc::downgrade(&cache)));
        cache
    }

    fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Empties the cache if the directory changed since the last check.
    async fn check_version(&self) -> Result<(), StoreError> {
        let version = self.inner.directory_version().await?;
        if self.seen_version.swap(version, Ordering::AcqRel) != version {
            self.invalidate();
        }
        Ok(())
    }
}

async fn watch_version(cache: Weak<CachedDirectory>) {
    let mut tick = tokio::time::interval(VERSION_CHECK_INTERVAL);
    loop {
        tick.tick().await;
        let Some(cache) = cache.upgrade() else {
            return;
        };
        if let Err(err) = cache.check_version().await {
            tracing::warn!(error = %err, "could not check the directory for changes");
        }
    }
}

#[async_trait]
impl DirectoryStore for CachedDirectory {
    async fn resolve(&self, user: &Username) -> Result<Resolution, StoreError> {
        let generation = self.generation.load(Ordering::Acquire);
        if let Some((read_in, resolution)) = self.entries.get(user.as_str())
            && read_in == generation
        {
            return Ok(resolution);
        }
        // Read after taking the generation: a change in between makes this entry
        // stale at once rather than wrong.
        let resolution = self.inner.resolve(user).await?;
        self.entries
            .insert(user.as_str().to_owned(), (generation, resolution.clone()));
        Ok(resolution)
    }

    async fn import_rules(&self, rules: Rules, replace: bool) -> Result<u64, StoreError> {
        let imported = self.inner.import_rules(rules, replace).await;
        self.invalidate();
        imported
    }

    async fn rule(&self, key: &RuleKey) -> Result<Option<Target>, StoreError> {
        self.inner.rule(key).await
    }

    async fn delete_rule(&self, key: &RuleKey) -> Result<bool, StoreError> {
        let deleted = self.inner.delete_rule(key).await;
        self.invalidate();
        deleted
    }

    async fn export_csv(&self) -> Result<String, StoreError> {
        self.inner.export_csv().await
    }

    async fn directory_version(&self) -> Result<i64, StoreError> {
        self.inner.directory_version().await
    }
}
