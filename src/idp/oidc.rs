//! The OIDC implementation of [`IdentityProvider`] over HTTP.
//!
//! Every call has connect and total timeouts and a body-size cap; only idempotent
//! GETs (metadata, JWKS) are retried, a code is never redeemed twice. Metadata
//! and keys are cached per realm and served stale while a refresh fails; an
//! unknown `kid` triggers one throttled key refetch.

mod id_token;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use openidconnect::core::{CoreIdToken, CoreProviderMetadata};
use openidconnect::{ClaimsVerificationError, JsonWebKeySet, SignatureVerificationError};
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use tokio::sync::{Mutex, RwLock};

use super::http::{ClientCredentials, RealmHttp, json_problem, parse_json};
use super::jwk::RealmKey;
use super::{
    CodeRedemption, ExchangedToken, IdentityProvider, IdpError, RealmMetadata, VerifiedIdToken, jws,
};
use crate::clock::Clock;
use crate::domain::{BrokerClient, ClientId, Realm, RealmName, TokenSet};

const METADATA_TTL: TimeDelta = TimeDelta::minutes(5);
const KEYS_TTL: TimeDelta = TimeDelta::minutes(10);
/// A realm's key set, verified with ring ([`RealmKey`]).
type KeySet = JsonWebKeySet<RealmKey>;

/// How long stale metadata and keys may serve while the realm fails.
const STALE_LIMIT: TimeDelta = TimeDelta::hours(24);
/// Minimum time between two key refetches caused by unknown `kid`s.
const KEY_REFETCH_INTERVAL: TimeDelta = TimeDelta::seconds(10);
/// Accepted clock skew for `iat`.
const MAX_CLOCK_SKEW: TimeDelta = TimeDelta::seconds(60);

struct Cached<T> {
    value: Arc<T>,
    fetched_at: DateTime<Utc>,
}

#[derive(Default)]
struct RealmCache {
    metadata: Option<Cached<RealmMetadata>>,
    keys: Option<Cached<KeySet>>,
    last_key_refetch: Option<DateTime<Utc>>,
}

/// OIDC against realms: metadata and keys cached, codes redeemed, tokens exchanged.
pub struct OidcProvider {
    http: RealmHttp,
    clock: Arc<dyn Clock>,
    cache: RwLock<HashMap<RealmName, RealmCache>>,
    /// Serialises refreshes so concurrent misses share one fetch.
    refresh: Mutex<()>,
    /// Service-account tokens by realm; the lock is held while fetching, so
    /// concurrent requests share one fetch.
    service_tokens: Mutex<HashMap<RealmName, ServiceToken>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    token_type: String,
    expires_in: Option<u64>,
    refresh_token: Option<String>,
    refresh_expires_in: Option<u64>,
    id_token: Option<String>,
}

#[derive(Deserialize)]
struct ExchangeResponse {
    access_token: String,
    expires_in: u64,
    token_type: String,
    #[serde(default)]
    issued_token_type: Option<String>,
}

/// A token endpoint's answer, as handed out: an answer that names no issued
/// token type (RFC 7523's grant, older exchanges) issued an access token.
impl From<ExchangeResponse> for ExchangedToken {
    fn from(response: ExchangeResponse) -> Self {
        Self {
            access_token: response.access_token,
            expires_in: response.expires_in,
            token_type: response.token_type,
            issued_token_type: response
                .issued_token_type
                .unwrap_or_else(|| ACCESS_TOKEN_TYPE.to_owned()),
        }
    }
}

/// A service-account token and when to stop using it.
struct ServiceToken {
    token: Arc<SecretString>,
    renew_at: DateTime<Utc>,
}

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// The longest token lifetime (`expires_in`) a realm may announce: one year.
const MAX_TOKEN_LIFETIME_SECS: i64 = 366 * 24 * 3600;
/// A cached service-account token is renewed this long before it expires.
const RENEW_BEFORE_EXPIRY: TimeDelta = TimeDelta::seconds(30);

impl OidcProvider {
    /// A provider that reaches realms through `http`.
    #[must_use]
    pub fn new(clock: Arc<dyn Clock>, http: RealmHttp) -> Self {
        Self {
            http,
            clock,
            cache: RwLock::new(HashMap::new()),
            refresh: Mutex::new(()),
            service_tokens: Mutex::new(HashMap::new()),
        }
    }

    fn fresh<T>(&self, cached: Option<&Cached<T>>, ttl: TimeDelta) -> Option<Arc<T>> {
        cached
            .filter(|c| self.clock.now() - c.fetched_at < ttl)
            .map(|c| Arc::clone(&c.value))
    }

    fn usable_stale<T>(&self, cached: Option<&Cached<T>>) -> Option<Arc<T>> {
        self.fresh(cached, STALE_LIMIT)
    }

    async fn fetch_metadata(&self, realm: &Realm) -> Result<RealmMetadata, IdpError> {
        let document: serde_json::Value =
            self.http.get_json(&realm.authority.metadata_url()).await?;
        // RP-Initiated Logout §2.1 metadata is not part of the core set.
        let end_session_endpoint = document
            .get("end_session_endpoint")
            .and_then(serde_json::Value::as_str)
            .and_then(|u| url::Url::parse(u).ok());
        let sends_iss = document
            .get("authorization_response_iss_parameter_supported")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        let metadata: CoreProviderMetadata = serde_json::from_value(document)
            .map_err(|e| IdpError::InvalidResponse(format!("metadata: {}", json_problem(&e))))?;
        let issuer = metadata.issuer().as_str();
        // OIDC Discovery §4.3: the issuer must be the configured authority, exactly.
        if issuer != realm.authority.as_str() {
            return Err(IdpError::IssuerMismatch {
                found: issuer.to_owned(),
            });
        }
        let token_endpoint = metadata
            .token_endpoint()
            .ok_or_else(|| IdpError::InvalidResponse("metadata has no token_endpoint".into()))?;
        Ok(RealmMetadata {
            issuer: issuer.to_owned(),
            authorization_endpoint: metadata.authorization_endpoint().url().clone(),
            token_endpoint: token_endpoint.url().clone(),
            jwks_uri: metadata.jwks_uri().url().clone(),
            end_session_endpoint,
            sends_iss,
        })
    }

    /// The realm's keys; `force` refetches (throttled) after an unknown `kid`.
    async fn keys(&self, realm: &Realm, force: bool) -> Result<Arc<KeySet>, IdpError> {
        if !force {
            let cache = self.cache.read().await;
            if let Some(keys) = self.fresh(
                cache.get(&realm.name).and_then(|c| c.keys.as_ref()),
                KEYS_TTL,
            ) {
                return Ok(keys);
            }
        }
        let _guard = self.refresh.lock().await;
        let now = self.clock.now();
        {
            let cache = self.cache.read().await;
            let entry = cache.get(&realm.name);
            let recently = entry
                .and_then(|c| c.last_key_refetch)
                .is_some_and(|at| now - at < KEY_REFETCH_INTERVAL);
            let cached = entry.and_then(|c| c.keys.as_ref());
            if let Some(keys) = self.fresh(cached, KEYS_TTL).filter(|_| !force || recently) {
                return Ok(keys);
            }
        }
        let metadata = self.metadata(realm).await?;
        if force {
            tracing::info!(realm = %realm.name, "an ID token names an unknown key: fetching the realm's keys again");
            self.http.count_refetch(realm.name.as_str());
        }
        let fetched = self
            .http
            .get_json::<serde_json::Value>(metadata.jwks_uri.as_str())
            .await
            .and_then(|mut document| {
                let dropped = jws::drop_weak_keys(&mut document);
                if dropped > 0 {
                    tracing::warn!(realm = %realm.name, keys = dropped, "ignored RSA keys shorter than 2048 bits");
                }
                serde_json::from_value::<KeySet>(document)
                    .map_err(|e| IdpError::InvalidResponse(format!("keys: {}", json_problem(&e))))
            });
        let mut cache = self.cache.write().await;
        let entry = cache.entry(realm.name.clone()).or_default();
        if force {
            entry.last_key_refetch = Some(now);
        }
        match fetched {
            Ok(keys) => {
                let keys = Arc::new(keys);
                entry.keys = Some(Cached {
                    value: Arc::clone(&keys),
                    fetched_at: now,
                });
                Ok(keys)
            }
            Err(err) => self.usable_stale(entry.keys.as_ref()).ok_or(err),
        }
    }

    /// POSTs a form to the realm's token endpoint, authenticated as the client
    /// `credentials` (id, secret) when given, the realm's way.
    async fn token_request(
        &self,
        realm: &Realm,
        credentials: Option<(&str, &SecretString)>,
        form: &[(&str, &str)],
    ) -> Result<Vec<u8>, IdpError> {
        let metadata = self.metadata(realm).await?;
        let credentials = credentials.map(|(id, secret)| ClientCredentials {
            id,
            secret,
            method: realm.client_auth,
        });
        self.http
            .post_form(metadata.token_endpoint.clone(), credentials, form)
            .await
    }

    /// A token-endpoint request as the broker's own confidential client.
    async fn post_as_broker(
        &self,
        realm: &Realm,
        broker: &BrokerClient,
        form: &[(&str, &str)],
    ) -> Result<Vec<u8>, IdpError> {
        self.token_request(realm, Some((&broker.client_id, &broker.secret)), form)
            .await
    }

    /// The broker's service-account token for `realm` (client credentials of
    /// its broker client), from cache until shortly before it expires.
    pub async fn service_token(&self, realm: &Realm) -> Result<Arc<SecretString>, IdpError> {
        let broker = realm
            .broker_client
            .as_ref()
            .ok_or(IdpError::NoBrokerClient)?;
        let mut tokens = self.service_tokens.lock().await;
        let now = self.clock.now();
        if let Some(cached) = tokens.get(&realm.name).filter(|t| now < t.renew_at) {
            return Ok(Arc::clone(&cached.token));
        }
        let body = self
            .post_as_broker(realm, broker, &[("grant_type", "client_credentials")])
            .await?;
        let response: ExchangeResponse = parse_json(&body)?;
        // A time from outside: bounded before it reaches any arithmetic.
        let renew_at = i64::try_from(response.expires_in)
            .ok()
            .filter(|secs| (1..=MAX_TOKEN_LIFETIME_SECS).contains(secs))
            .and_then(|secs| now.checked_add_signed(TimeDelta::seconds(secs) - RENEW_BEFORE_EXPIRY))
            .ok_or_else(|| {
                IdpError::InvalidResponse(format!(
                    "expires_in must be between 1 and {MAX_TOKEN_LIFETIME_SECS} seconds"
                ))
            })?;
        let token = Arc::new(SecretString::from(response.access_token));
        tokens.insert(
            realm.name.clone(),
            ServiceToken {
                token: Arc::clone(&token),
                renew_at,
            },
        );
        Ok(token)
    }
}

#[async_trait]
impl IdentityProvider for OidcProvider {
    async fn impersonate(
        &self,
        realm: &Realm,
        subject: &str,
        audience: Option<&str>,
    ) -> Result<ExchangedToken, IdpError> {
        let broker = realm
            .broker_client
            .as_ref()
            .ok_or(IdpError::NoBrokerClient)?;
        let service_token = self.service_token(realm).await?;
        let mut form = vec![
            ("grant_type", TOKEN_EXCHANGE),
            ("subject_token", service_token.expose_secret()),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
            ("requested_token_type", ACCESS_TOKEN_TYPE),
            ("requested_subject", subject),
        ];
        if let Some(audience) = audience {
            form.push(("audience", audience));
        }
        let body = match self.post_as_broker(realm, broker, &form).await {
            // Our request is well formed: a realm that calls it invalid does not take
            // `requested_subject` (Keycloak's standard exchange without the legacy one).
            Err(IdpError::Rejected { status: 400, error }) if error == "invalid_request" => {
                return Err(IdpError::ExchangeUnsupported);
            }
            other => other?,
        };
        parse_json::<ExchangeResponse>(&body).map(ExchangedToken::from)
    }

    async fn assertion_grant(
        &self,
        realm: &Realm,
        assertion: &str,
    ) -> Result<ExchangedToken, IdpError> {
        let broker = realm
            .broker_client
            .as_ref()
            .ok_or(IdpError::NoBrokerClient)?;
        let body = self
            .post_as_broker(
                realm,
                broker,
                &[("grant_type", JWT_BEARER), ("assertion", assertion)],
            )
            .await?;
        parse_json::<ExchangeResponse>(&body).map(ExchangedToken::from)
    }

    async fn check(&self, realm: &Realm) -> Result<(), IdpError> {
        let metadata = Arc::new(self.fetch_metadata(realm).await?);
        let now = self.clock.now();
        let mut cache = self.cache.write().await;
        cache.entry(realm.name.clone()).or_default().metadata = Some(Cached {
            value: metadata,
            fetched_at: now,
        });
        Ok(())
    }

    async fn metadata(&self, realm: &Realm) -> Result<Arc<RealmMetadata>, IdpError> {
        {
            let cache = self.cache.read().await;
            let cached = cache.get(&realm.name).and_then(|c| c.metadata.as_ref());
            if let Some(metadata) = self.fresh(cached, METADATA_TTL) {
                return Ok(metadata);
            }
        }
        let fetched = self.fetch_metadata(realm).await;
        let now = self.clock.now();
        let mut cache = self.cache.write().await;
        let entry = cache.entry(realm.name.clone()).or_default();
        match fetched {
            Ok(metadata) => {
                let metadata = Arc::new(metadata);
                entry.metadata = Some(Cached {
                    value: Arc::clone(&metadata),
                    fetched_at: now,
                });
                Ok(metadata)
            }
            // A realm that now names another issuer is misconfigured: never serve stale.
            Err(err @ IdpError::IssuerMismatch { .. }) => Err(err),
            Err(err) => {
                if let Some(stale) = self.usable_stale(entry.metadata.as_ref()) {
                    tracing::warn!(realm = %realm.name, error = %err, "serving stale realm metadata");
                    Ok(stale)
                } else {
                    Err(err)
                }
            }
        }
    }

    async fn redeem_code(
        &self,
        realm: &Realm,
        redemption: CodeRedemption<'_>,
    ) -> Result<TokenSet, IdpError> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", redemption.code),
            ("redirect_uri", redemption.redirect_uri),
            ("code_verifier", redemption.pkce_verifier),
        ];
        // A public client names itself in the form; a confidential one authenticates.
        let basic = redemption
            .client_secret
            .map(|secret| (redemption.client_id.as_str(), secret));
        if basic.is_none() {
            form.push(("client_id", redemption.client_id.as_str()));
        }
        let body = self.token_request(realm, basic, &form).await?;
        let tokens: TokenResponse = parse_json(&body)?;
        let id_token = tokens.id_token.ok_or_else(|| {
            IdpError::InvalidResponse("the token response has no id_token".into())
        })?;
        Ok(TokenSet {
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            id_token,
            expires_in: tokens.expires_in,
            refresh_expires_in: tokens.refresh_expires_in,
            token_type: tokens.token_type,
        })
    }

    async fn verify_id_token(
        &self,
        realm: &Realm,
        client_id: &ClientId,
        id_token: &str,
        nonce: &str,
    ) -> Result<VerifiedIdToken, IdpError> {
        jws::precheck_id_token(
            id_token,
            client_id.as_str(),
            self.clock.now(),
            MAX_CLOCK_SKEW,
        )
        .map_err(|e| IdpError::InvalidIdToken(e.to_string()))?;
        let token: CoreIdToken = id_token
            .parse()
            .map_err(|_| IdpError::InvalidIdToken("not a signed JWT".into()))?;
        let metadata = self.metadata(realm).await?;
        let keys = self.keys(realm, false).await?;
        match self.verify_with(&keys, &metadata.issuer, client_id, &token, nonce) {
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                // The realm may have rotated its keys: refetch once, throttled.
                let keys = self.keys(realm, true).await?;
                self.verify_with(&keys, &metadata.issuer, client_id, &token, nonce)
                    .map_err(|e| IdpError::InvalidIdToken(e.to_string()))
            }
            other => other.map_err(|e| IdpError::InvalidIdToken(e.to_string())),
        }
    }
}
