//! The service's Prometheus metrics, one registry per running service (so
//! several in one test process never mix), encoded by `prometheus-client` in
//! the text exposition format. Every layer records into the [`Metrics`] it was
//! given; label values are bounded (routes are templates, codes are the stable
//! error codes, realms and clients come from the registry), never user input.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of a login's progress.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LoginLabels {
    /// `started`, `completed` or `failed`.
    pub stage: &'static str,
    /// The client id.
    pub client: String,
    /// The realm.
    pub realm: String,
    /// The error code of a failure (empty otherwise).
    pub error: &'static str,
}

/// Labels of an outcome (handoffs, impersonations, embed sessions).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// `granted`/`denied`, `redeemed`/`refused`, ...
    pub outcome: &'static str,
    /// The error code of a refusal (empty otherwise).
    pub error: &'static str,
}

/// Labels of a call to a realm.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IdpLabels {
    /// The realm's host and path name (`kc.example.com/realms/acme`).
    pub realm: String,
    /// `metadata`, `jwks`, `token`, `userinfo`, `admin`, ...
    pub endpoint: &'static str,
    /// `ok`, or the failure (`unreachable`, `timeout`, `http_503`, `rejected`).
    pub outcome: &'static str,
}

/// Labels of a realm call's duration.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IdpEndpointLabels {
    /// The realm.
    pub realm: String,
    /// The endpoint.
    pub endpoint: &'static str,
}

/// Labels of a realm.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RealmLabels {
    /// The realm's name in the registry.
    pub realm: String,
}

/// Labels of a store operation.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StoreLabels {
    /// `sqlite`, `postgres`, `redis` or `memory`.
    pub backend: &'static str,
    /// `read`, `write` or `command`.
    pub operation: &'static str,
}

/// Labels of a rate-limit refusal.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LimitLabels {
    /// `ip` (discovery and `/login`), `caller` (impersonation), `api_key`, `waits`.
    pub limit: &'static str,
}

/// Registers `metric` under `name` and hands it back.
fn registered<M: prometheus_client::registry::Metric + Clone>(
    registry: &mut Registry,
    name: &str,
    help: &str,
    metric: M,
) -> M {
    registry.register(name, help, metric.clone());
    metric
}

fn latency_buckets() -> impl Iterator<Item = f64> {
    // 0.5 ms to about 16 s.
    exponential_buckets(0.0005, 2.0, 16)
}

fn wait_buckets() -> impl Iterator<Item = f64> {
    // 50 ms to about 51 s (the relay's long poll lasts up to 60 s).
    exponential_buckets(0.05, 2.0, 11)
}

/// Every metric of the service.
pub struct Metrics {
    registry: Registry,
    /// HTTP requests by route, method and status, and their durations.
    pub requests: Arc<super::requests::RequestMetrics>,
    /// Requests being handled now.
    pub requests_in_flight: Gauge,
    /// Logins started, completed and failed.
    pub logins: Family<LoginLabels, Counter>,
    /// The same logins, a minute at a time over the last hour (the console's overview).
    pub recent_logins: super::recent::RecentLogins,
    /// How long the relay's long polls waited for their outcome.
    pub relay_wait: Histogram,
    /// Long polls (relay, embed session) parked now.
    pub waits_parked: Gauge,
    /// Handoff redemptions by outcome.
    pub handoffs: Family<OutcomeLabels, Counter>,
    /// Impersonation requests by outcome.
    pub impersonations: Family<OutcomeLabels, Counter>,
    /// Embed session redemptions by outcome.
    pub embed_redemptions: Family<OutcomeLabels, Counter>,
    /// Third-party SSO logins (a platform's token, or the handshake) by outcome.
    pub sso_logins: Family<OutcomeLabels, Counter>,
    /// Calls to realms by realm, endpoint and outcome.
    pub idp_requests: Family<IdpLabels, Counter>,
    /// Duration of calls to realms.
    pub idp_duration: Family<IdpEndpointLabels, Histogram>,
    /// Fetches of a realm's or host's keys for a key id not yet known.
    pub jwks_refetches: Family<RealmLabels, Counter>,
    /// Whether each realm answered its last health check (1) or not (0).
    pub realm_up: Family<RealmLabels, Gauge>,
    /// Store operation duration.
    pub store_duration: Family<StoreLabels, Histogram>,
    /// Store operation failures.
    pub store_errors: Family<StoreLabels, Counter>,
    /// Requests refused by a rate limit.
    pub rate_limited: Family<LimitLabels, Counter>,
    /// Logins in flight: states marked and outcomes not yet redeemed (this
    /// process's memory store; with Redis, the keys under the prefix).
    pub logins_in_flight: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric at zero.
    #[must_use]
    #[expect(
        clippy::too_many_lines,
        reason = "one registration per metric and nothing else"
    )]
    pub fn new() -> Self {
        let mut r = Registry::with_prefix("authproxy");
        let histograms = || Histogram::new(latency_buckets());
        Self {
            requests: {
                let requests = Arc::new(super::requests::RequestMetrics::new(latency_buckets()));
                r.register_collector(Box::new(Arc::clone(&requests)));
                requests
            },
            requests_in_flight: registered(
                &mut r,
                "http_requests_in_flight",
                "Requests being handled now",
                Gauge::default(),
            ),
            logins: registered(
                &mut r,
                "logins",
                "Logins by stage (started, completed, failed), client, realm and error code",
                Family::default(),
            ),
            recent_logins: super::recent::RecentLogins::default(),
            relay_wait: registered(
                &mut r,
                "relay_wait_seconds",
                "How long relay long polls waited",
                Histogram::new(wait_buckets()),
            ),
            waits_parked: registered(
                &mut r,
                "waits_parked",
                "Long polls parked now",
                Gauge::default(),
            ),
            handoffs: registered(
                &mut r,
                "handoffs",
                "Handoff redemptions by outcome",
                Family::default(),
            ),
            impersonations: registered(
                &mut r,
                "impersonations",
                "Impersonation requests by outcome",
                Family::default(),
            ),
            embed_redemptions: registered(
                &mut r,
                "embed_redemptions",
                "Embed session redemptions by outcome",
                Family::default(),
            ),
            sso_logins: registered(
                &mut r,
                "sso_logins",
                "Third-party SSO logins by outcome",
                Family::default(),
            ),
            idp_requests: registered(
                &mut r,
                "idp_requests",
                "Calls to realms by realm, endpoint and outcome",
                Family::default(),
            ),
            idp_duration: registered(
                &mut r,
                "idp_request_duration_seconds",
                "Duration of calls to realms",
                Family::new_with_constructor(histograms),
            ),
            jwks_refetches: registered(
                &mut r,
                "jwks_refetches",
                "Key set fetches for an unknown key id",
                Family::default(),
            ),
            realm_up: registered(
                &mut r,
                "realm_up",
                "Whether the realm answered its last health check",
                Family::default(),
            ),
            store_duration: registered(
                &mut r,
                "store_operation_duration_seconds",
                "Store operation duration",
                Family::new_with_constructor(histograms),
            ),
            store_errors: registered(
                &mut r,
                "store_errors",
                "Store operation failures",
                Family::default(),
            ),
            rate_limited: registered(
                &mut r,
                "rate_limited",
                "Requests refused by a rate limit",
                Family::default(),
            ),
            logins_in_flight: registered(
                &mut r,
                "logins_in_flight",
                "Logins in flight",
                Gauge::default(),
            ),
            registry: r,
        }
    }

    /// The text exposition of every metric.
    #[must_use]
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// Records a login's step at `at`.
    pub fn login(
        &self,
        at: chrono::DateTime<chrono::Utc>,
        stage: &'static str,
        client: &str,
        realm: &str,
        error: &'static str,
    ) {
        self.recent_logins.record(at, stage, error);
        self.logins
            .get_or_create(&LoginLabels {
                stage,
                client: client.to_owned(),
                realm: realm.to_owned(),
                error,
            })
            .inc();
    }

    /// Counts a request refused by the limit `limit`.
    pub fn refused_by(&self, limit: &'static str) {
        self.rate_limited
            .get_or_create(&LimitLabels { limit })
            .inc();
    }

    /// Records an outcome in `family`.
    pub fn outcome(
        family: &Family<OutcomeLabels, Counter>,
        outcome: &'static str,
        error: &'static str,
    ) {
        family
            .get_or_create(&OutcomeLabels { outcome, error })
            .inc();
    }

    /// Records a store operation that took `elapsed` and failed or not.
    pub fn store_call(
        &self,
        backend: &'static str,
        operation: &'static str,
        elapsed: Duration,
        failed: bool,
    ) {
        let labels = StoreLabels { backend, operation };
        self.store_duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        if failed {
            self.store_errors.get_or_create(&labels).inc();
        }
    }
}

/// Metrics shared by everything a service is made of.
pub type SharedMetrics = Arc<Metrics>;
