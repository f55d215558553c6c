//! Hosts' signing keys published at a JWKS URL (a tenant's `jwks_url`): fetched
//! with the realm client's limits (timeout, size cap, no redirects), cached for
//! five minutes, fetched again at most every 30 s for a `kid` not in the cached
//! set (a host's rotation), and served stale while the URL fails. Each key keeps
//! exactly the algorithm its type allows (ES256 for P-256, EdDSA for Ed25519);
//! other keys in the set are ignored.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::IdpError;
use super::http::RealmHttp;
use crate::domain::{KeyAlgorithm, VerifyingKey};

/// How long a fetched set is used without asking again.
const FRESH_FOR: Duration = Duration::from_mins(5);
/// The shortest time between two fetches of one URL (an unknown `kid` asks again).
const REFETCH_AFTER: Duration = Duration::from_secs(30);

struct Fetched {
    at: Instant,
    keys: Arc<HashMap<String, (VerifyingKey, KeyAlgorithm)>>,
}

/// The key sets of hosts' JWKS URLs.
pub struct HostJwks {
    http: RealmHttp,
    cache: Mutex<HashMap<String, Fetched>>,
}

fn read_set(document: &serde_json::Value) -> HashMap<String, (VerifyingKey, KeyAlgorithm)> {
    document
        .get("keys")
        .and_then(serde_json::Value::as_array)
        .map(|keys| {
            keys.iter()
                .filter(|k| k.get("use").is_none_or(|u| u == "sig"))
                .filter_map(|k| {
                    let kid = k.get("kid")?.as_str()?.to_owned();
                    VerifyingKey::from_public_jwk(k).ok().map(|key| (kid, key))
                })
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
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The key `kid` of the set at `url`, when it has one.
    pub async fn key(
        &self,
        url: &str,
        kid: &str,
    ) -> Result<Option<(VerifyingKey, KeyAlgorithm)>, IdpError> {
        let mut cache = self.cache.lock().await;
        let now = Instant::now();
        let cached = cache.get(url);
        let found = cached.and_then(|f| f.keys.get(kid).cloned());
        let due = cached.is_none_or(|f| {
            let age = now.duration_since(f.at);
            age > FRESH_FOR || (found.is_none() && age > REFETCH_AFTER)
        });
        if !due {
            return Ok(found);
        }
        if cached.is_some() && found.is_none() {
            self.http.count_refetch(&format!(
                "host:{}",
                url::Url::parse(url)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_owned))
                    .unwrap_or_default()
            ));
        }
        match self.http.get_json::<serde_json::Value>(url).await {
            Ok(document) => {
                let keys = Arc::new(read_set(&document));
                let found = keys.get(kid).cloned();
                cache.insert(url.to_owned(), Fetched { at: now, keys });
                Ok(found)
            }
            // Stale keys keep working while the URL fails; without any, the
            // failure is the answer.
            Err(_) if cached.is_some() => Ok(found),
            Err(err) => Err(err),
        }
    }
}
