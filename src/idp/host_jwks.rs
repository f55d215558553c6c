//! Signing keys published at a JWKS URL: hosts' (a tenant's `jwks_url`) and
//! identity platforms' (Auth0, Gigya, any OpenID provider). Fetched with the
//! realm client's limits (timeout, size cap, no redirects), cached for five
//! minutes, fetched again at most every 30 s for a `kid` not in the cached set (a
//! rotation), and served stale while the URL fails. Keys are kept as their JWK
//! (only those for signatures, with a `kid`); the verifier reads the material
//! it accepts. Discovery documents are cached the same five minutes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
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
    keys: Arc<HashMap<String, Value>>,
}

/// The key sets of JWKS URLs, and discovery documents.
pub struct HostJwks {
    http: RealmHttp,
    cache: Mutex<HashMap<String, Fetched>>,
    documents: Mutex<HashMap<String, (Instant, Arc<Value>)>>,
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
            cache: Mutex::new(HashMap::new()),
            documents: Mutex::new(HashMap::new()),
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
                "keys:{}",
                url::Url::parse(url)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_owned))
                    .unwrap_or_default()
            ));
        }
        match self.http.get_json::<Value>(url).await {
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

    /// Fetches the set at `url` now (a connection test): how many keys it has.
    pub async fn fetch_now(&self, url: &str) -> Result<usize, IdpError> {
        let document = self.http.get_json::<Value>(url).await?;
        let keys = Arc::new(read_set(&document));
        let count = keys.len();
        self.cache.lock().await.insert(
            url.to_owned(),
            Fetched {
                at: Instant::now(),
                keys,
            },
        );
        Ok(count)
    }

    /// The JSON document at `url` (OpenID discovery), cached five minutes and
    /// served stale while the URL fails.
    pub async fn document(&self, url: &str) -> Result<Arc<Value>, IdpError> {
        let mut documents = self.documents.lock().await;
        let cached = documents.get(url).cloned();
        if let Some((at, doc)) = &cached
            && at.elapsed() <= FRESH_FOR
        {
            return Ok(Arc::clone(doc));
        }
        match self.http.get_json::<Value>(url).await {
            Ok(doc) => {
                let doc = Arc::new(doc);
                documents.insert(url.to_owned(), (Instant::now(), Arc::clone(&doc)));
                Ok(doc)
            }
            Err(_) if cached.is_some() => Ok(cached.map(|(_, d)| d).unwrap_or_default()),
            Err(err) => Err(err),
        }
    }
}
