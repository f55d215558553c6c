//! Signing keys published at a JWKS URL: hosts' (a tenant's `jwks_url`) and
//! identity platforms' (Auth0, Gigya, any OpenID provider), and OpenID
//! discovery documents. Fetched with the realm client's limits (timeout, size
//! cap, no redirects), cached for five minutes, fetched again at most every 30 s
//! for a `kid` not in the cached set (a rotation), and served stale while the
//! URL fails.
//!
//! One slow URL must not slow any other (docs/src/security/threat-model.md: host keys):
//! each URL has a lock of its own, so concurrent requests for one URL share one
//! fetch (single flight) and never wait on another URL; a failure is remembered
//! with a growing backoff, so a URL that hangs is asked at most once per backoff
//! however many requests name it; and at most [`MAX_FETCHES`] fetches run at
//! once across all URLs (past that a request without a cached set fails at once).

use std::collections::HashMap;
use std::sync::{Arc, Mutex as SyncMutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::{Mutex, Semaphore};

use super::IdpError;
use super::http::RealmHttp;
use crate::domain::{KeyAlgorithm, VerifyingKey};

/// How long a fetched set is used without asking again.
const FRESH_FOR: Duration = Duration::from_mins(5);
/// The shortest time between two fetches of one URL (an unknown `kid` asks again).
const REFETCH_AFTER: Duration = Duration::from_secs(30);
/// The first wait after a failed fetch; it doubles with each failure in a row.
const FIRST_BACKOFF: Duration = Duration::from_secs(5);
/// The longest wait after failures in a row.
const MAX_BACKOFF: Duration = Duration::from_mins(5);
/// The most fetches under way at once, across every URL.
pub const MAX_FETCHES: usize = 16;
/// The most URLs remembered; past that the oldest entries are forgotten.
const MAX_URLS: usize = 10_000;

/// What one URL last gave, and how its fetches have gone.
struct Slot<T> {
    value: Option<(Instant, Arc<T>)>,
    /// The last failure, its time and how many came in a row.
    failed: Option<(Instant, u32, IdpError)>,
}

impl<T> Slot<T> {
    /// Whether a fetch may be tried now (not within a failure's backoff).
    fn may_try(&self, now: Instant) -> bool {
        self.failed.as_ref().is_none_or(|(at, count, _)| {
            let backoff = FIRST_BACKOFF
                .saturating_mul(1 << (*count).saturating_sub(1).min(10))
                .min(MAX_BACKOFF);
            now.duration_since(*at) >= backoff
        })
    }
}

/// One lock per URL: the map's own lock is held only to find the entry.
struct PerUrl<T> {
    slots: SyncMutex<HashMap<String, Arc<Mutex<Slot<T>>>>>,
}

impl<T> PerUrl<T> {
    fn new() -> Self {
        Self {
            slots: SyncMutex::new(HashMap::new()),
        }
    }

    fn slot(&self, url: &str) -> Arc<Mutex<Slot<T>>> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if slots.len() >= MAX_URLS && !slots.contains_key(url) {
            // Only entries no request is using are forgotten.
            slots.retain(|_, slot| Arc::strong_count(slot) > 1);
        }
        Arc::clone(slots.entry(url.to_owned()).or_insert_with(|| {
            Arc::new(Mutex::new(Slot {
                value: None,
                failed: None,
            }))
        }))
    }
}

/// The same failure again, for a request that finds it remembered.
fn again(err: &IdpError) -> IdpError {
    match err {
        IdpError::Timeout => IdpError::Timeout,
        IdpError::Status(status) => IdpError::Status(*status),
        IdpError::InvalidResponse(why) => IdpError::InvalidResponse(why.clone()),
        _ => IdpError::Unreachable,
    }
}

/// The key sets of JWKS URLs, and discovery documents.
pub struct HostJwks {
    http: RealmHttp,
    sets: PerUrl<HashMap<String, Value>>,
    documents: PerUrl<Value>,
    fetches: Semaphore,
}

fn read_set(document: &Value) -> HashMap<String, Value> {
    document
        .get("keys")
        .and_then(Value::as_array)
        .map(|keys| {
            keys.iter()
                .filter(|k| k.get("use").is_none_or(|u| u == "sig"))
                .filter_map(|k| Some((k.get("kid")?.as_str()?.to_owned(), k.clone())))
                .collect()
        })
        .unwrap_or_default()
}

impl HostJwks {
    /// Key sets fetched over `http`.
    #[must_use]
    pub fn new(http: RealmHttp) -> Self {
        Self {
            http,
            sets: PerUrl::new(),
            documents: PerUrl::new(),
            fetches: Semaphore::new(MAX_FETCHES),
        }
    }

    /// The HTTP client (identity platforms' APIs are called with its limits).
    #[must_use]
    pub fn http(&self) -> &RealmHttp {
        &self.http
    }

    /// The host key `kid` of the set at `url`, when it has one of a type hosts
    /// may use (ES256 for P-256, EdDSA for Ed25519).
    pub async fn key(
        &self,
        url: &str,
        kid: &str,
    ) -> Result<Option<(VerifyingKey, KeyAlgorithm)>, IdpError> {
        Ok(self
            .jwk(url, kid)
            .await?
            .and_then(|jwk| VerifyingKey::from_public_jwk(&jwk).ok()))
    }

    /// The JWK `kid` of the set at `url`, when it has one.
    pub async fn jwk(&self, url: &str, kid: &str) -> Result<Option<Value>, IdpError> {
        let slot = self.sets.slot(url);
        // Requests for this URL wait for one fetch; other URLs do not wait at all.
        let mut slot = slot.lock().await;
        let now = Instant::now();
        let found = slot
            .value
            .as_ref()
            .and_then(|(_, keys)| keys.get(kid).cloned());
        let due = slot.value.as_ref().is_none_or(|(at, _)| {
            let age = now.duration_since(*at);
            age > FRESH_FOR || (found.is_none() && age > REFETCH_AFTER)
        });
        if !due {
            return Ok(found);
        }
        if slot.value.is_some() && found.is_none() {
            self.http.count_refetch(&format!(
                "keys:{}",
                url::Url::parse(url)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_owned))
                    .unwrap_or_default()
            ));
        }
        let fetched = self.fetch(&mut slot, url, read_set).await;
        match fetched {
            Ok(keys) => Ok(keys.get(kid).cloned()),
            // Stale keys keep working while the URL fails; without any, the
            // failure is the answer.
            Err(_) if slot.value.is_some() => Ok(found),
            Err(err) => Err(err),
        }
    }

    /// Fetches the set at `url` now (a connection test, which an administrator
    /// asks for: no backoff applies): how many keys it has.
    pub async fn fetch_now(&self, url: &str) -> Result<usize, IdpError> {
        let slot = self.sets.slot(url);
        let mut slot = slot.lock().await;
        slot.failed = None;
        Ok(self.fetch(&mut slot, url, read_set).await?.len())
    }

    /// The JSON document at `url` (OpenID discovery), cached five minutes and
    /// served stale while the URL fails.
    pub async fn document(&self, url: &str) -> Result<Arc<Value>, IdpError> {
        let slot = self.documents.slot(url);
        let mut slot = slot.lock().await;
        if let Some((at, doc)) = &slot.value
            && at.elapsed() <= FRESH_FOR
        {
            return Ok(Arc::clone(doc));
        }
        match self.fetch(&mut slot, url, Value::clone).await {
            Ok(doc) => Ok(doc),
            Err(_) if slot.value.is_some() => Ok(slot
                .value
                .as_ref()
                .map(|(_, d)| Arc::clone(d))
                .unwrap_or_default()),
            Err(err) => Err(err),
        }
    }

    /// One fetch of `url` into `slot` (its lock held): skipped within a
    /// failure's backoff or when [`MAX_FETCHES`] are under way, and remembered
    /// either way.
    async fn fetch<T>(
        &self,
        slot: &mut Slot<T>,
        url: &str,
        read: impl FnOnce(&Value) -> T,
    ) -> Result<Arc<T>, IdpError> {
        let now = Instant::now();
        if !slot.may_try(now) {
            let remembered = slot
                .failed
                .as_ref()
                .map_or(IdpError::Unreachable, |f| again(&f.2));
            return Err(remembered);
        }
        let Ok(_permit) = self.fetches.try_acquire() else {
            return Err(IdpError::Unreachable);
        };
        match self.http.get_json::<Value>(url).await {
            Ok(document) => {
                let value = Arc::new(read(&document));
                slot.value = Some((Instant::now(), Arc::clone(&value)));
                slot.failed = None;
                Ok(value)
            }
            Err(err) => {
                let count = slot.failed.as_ref().map_or(0, |f| f.1).saturating_add(1);
                slot.failed = Some((Instant::now(), count, again(&err)));
                Err(err)
            }
        }
    }
}

#[cfg(test)]
mod tests;
