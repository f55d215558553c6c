//! The application state every handler receives: `AppState(Arc<App>)`, one field
//! per dependency (stores and IdP behind traits, the clock, the live registry, the
//! limits). Built once by `startup`; handlers only read it.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::signing::BrokerKeys;
use crate::clock::Clock;
use crate::crypto::Sealer;
use crate::domain::{PublicUrl, ServerLimits};
use crate::idp::host_jwks::HostJwks;
use crate::idp::{IdentityProvider, KeycloakAdmin};
use crate::rate_limit::{RateLimiter, WaitSlots};
use crate::registry::{Managed, Registry};
use crate::store::{AccessStore, AuditLog, DirectoryStore, DurableStore, LoginStore};

/// Shared application state; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<App>);

impl Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

impl AppState {
    #[must_use]
    /// Shares `app` between the handlers.
    pub fn new(app: App) -> Self {
        Self(Arc::new(app))
    }

    /// The one strict verifier of host tokens, using tokens up.
    #[must_use]
    pub fn host_token_verifier(&self) -> crate::auth::host_token::HostTokenVerifier<'_> {
        crate::auth::host_token::HostTokenVerifier {
            tenants: self.durable.as_ref(),
            marks: self.logins.as_ref(),
            broker: &self.broker_keys,
            remote: &self.host_jwks,
            dry_run: false,
        }
    }
}

/// Everything the handlers need.
pub struct App {
    /// The broker's signing keys (embed sessions, minted host tokens).
    pub broker_keys: Arc<BrokerKeys>,
    /// Hosts' signing keys published at JWKS URLs.
    pub host_jwks: Arc<HostJwks>,
    /// Realms (the only servers the broker ever contacts) and clients.
    pub registry: Arc<Registry>,
    /// The user directory (cached, when configured).
    pub directory: Arc<dyn DirectoryStore>,
    /// Impersonation callers and admin tokens.
    pub access: Arc<dyn AccessStore>,
    /// The audit trail.
    pub audit: Arc<dyn AuditLog>,
    /// The durable store as a whole (for readiness).
    pub durable: Arc<dyn DurableStore>,
    /// Seals the pending login into the browser's binding cookie.
    pub sealer: Sealer,
    /// Per-caller token buckets of the impersonation endpoint.
    pub limiter: RateLimiter,
    /// Per-client-IP token buckets of discovery and `/login`.
    pub ip_limiter: RateLimiter,
    /// Limits on requests and waits.
    pub limits: ServerLimits,
    /// Places for the relay's parked long polls, per address and overall.
    pub wait_slots: Arc<WaitSlots>,
    /// Logins in flight: used states and outcomes waiting for redemption.
    pub logins: Arc<dyn LoginStore>,
    /// The realms' OIDC endpoints.
    pub idp: Arc<dyn IdentityProvider>,
    /// Keycloak's Admin REST, for client provisioning.
    pub keycloak_admin: Arc<dyn KeycloakAdmin>,
    /// The time.
    pub clock: Arc<dyn Clock>,
    /// Where the broker is reached (callbacks, the SDK's origin).
    pub public_url: PublicUrl,
    /// Realms and clients the configuration file owns (the admin API refuses to
    /// change them).
    pub managed: Managed,
    /// How long `/api/handoff/wait` holds a request open.
    pub handoff_wait: Duration,
    /// Proxies whose forwarded headers name the client.
    pub trusted_proxies: crate::domain::TrustedProxies,
    /// Which access lines are written, and the refusals being summarised.
    pub access_log: crate::observe::logs::AccessLogger,
    /// The Prometheus metrics.
    pub metrics: Arc<crate::observe::metrics::Metrics>,
    /// Set once SIGTERM arrived: `/readyz` answers 503 so load balancers stop
    /// sending while the listener still accepts.
    pub draining: std::sync::atomic::AtomicBool,
    /// Each realm's last health check.
    pub realm_health: Arc<crate::idp::health::RealmHealth>,
    /// The admin console's sign-in, when configured.
    pub console: Option<crate::domain::ConsoleSettings>,
}

impl App {
    /// Asks `realm` for its metadata now and records the answer (the realm's
    /// state and the `realm_up` metric): the periodic check, `/readyz?verbose`
    /// and the console's "check" all use it.
    pub async fn check_realm(&self, realm: &crate::domain::Realm) -> Result<(), String> {
        let result = self.idp.check(realm).await.map_err(|e| e.to_string());
        if let Err(err) = &result {
            tracing::warn!(realm = %realm.name, error = %err, "realm health check failed");
        }
        self.record_realm_health(realm, result.clone());
        result
    }

    /// Records what a check of `realm` found (the health page, the overview and
    /// the `realm_up` metric): by the periodic check, "check now", and a realm
    /// saved after its check passed.
    pub fn record_realm_health(&self, realm: &crate::domain::Realm, result: Result<(), String>) {
        self.metrics
            .realm_up
            .get_or_create(&crate::observe::metrics::RealmLabels {
                realm: realm.name.to_string(),
            })
            .set(i64::from(result.is_ok()));
        self.realm_health
            .record(realm.name.as_str(), self.clock.now(), result);
    }
}
