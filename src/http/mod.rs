//! The HTTP edge: application state, the router and the layers around it.
//! Handlers live with their flow in `flows/`; this module only wires them.

pub mod cors;
pub mod error;
pub mod hygiene;
pub mod json;
pub mod limits;
pub mod page;
pub mod query;
pub mod trace;

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

use crate::admin;
use crate::clock::Clock;
use crate::config::{PublicUrl, ServerLimits};
use crate::flows;
use crate::idp::{IdentityProvider, KeycloakAdmin};
use crate::rate_limit::{RateLimiter, WaitSlots};
use crate::registry::Registry;
use crate::store::{AccessStore, AuditLog, DirectoryStore, LoginStore};

/// Largest request body accepted (the handoff body is ~200 bytes).
const BODY_LIMIT: usize = 16 * 1024;

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
    pub fn new(app: App) -> Self {
        Self(Arc::new(app))
    }
}

/// Everything the handlers need.
pub struct App {
    /// Realms (the only servers the broker ever contacts) and clients.
    pub registry: Arc<Registry>,
    pub directory: Arc<dyn DirectoryStore>,
    /// Impersonation callers and admin tokens.
    pub access: Arc<dyn AccessStore>,
    pub audit: Arc<dyn AuditLog>,
    /// Per-caller token buckets of the impersonation endpoint.
    pub limiter: RateLimiter,
    /// Per-client-IP token buckets of discovery and `/login`.
    pub ip_limiter: RateLimiter,
    pub limits: ServerLimits,
    /// Places for the relay's parked long polls, per address and overall.
    pub wait_slots: Arc<WaitSlots>,
    pub logins: Arc<dyn LoginStore>,
    pub idp: Arc<dyn IdentityProvider>,
    /// Keycloak's Admin REST, for client provisioning.
    pub keycloak_admin: Arc<dyn KeycloakAdmin>,
    pub clock: Arc<dyn Clock>,
    pub public_url: PublicUrl,
    /// How long `/api/handoff/wait` holds a request open.
    pub handoff_wait: Duration,
}

/// The broker's router with its layers.
pub fn router(state: AppState) -> Router {
    let request_timeout = state.handoff_wait + Duration::from_secs(10);
    // Endpoints that take a username are rate-limited per client address.
    let limited = Router::new()
        .route("/api/user", get(flows::discovery::discover))
        .route("/api/user/", get(flows::discovery::discover))
        .route("/login", get(flows::login::start))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::per_ip,
        ));
    let max_concurrent = state.limits.max_concurrent_requests;
    // Long polls are bounded by `WaitSlots`, not by the concurrency limit below,
    // so parked polls never hold the places other requests need.
    let long_polls = Router::new().route(
        "/api/handoff/wait",
        axum::routing::post(flows::handoff::wait).options(flows::handoff::preflight),
    );
    Router::new()
        .merge(limited)
        .route("/authproxy", get(flows::callback::finish))
        .route(
            "/authproxy/approve",
            axum::routing::post(flows::callback::approve),
        )
        .route("/authproxy/{client_id}", get(flows::passthrough::page))
        .route(
            "/api/handoff",
            axum::routing::post(flows::handoff::redeem).options(flows::handoff::preflight),
        )
        .route(
            "/api/handoff/confirm",
            axum::routing::post(flows::handoff::confirm).options(flows::handoff::preflight),
        )
        .route(
            "/api/impersonation",
            axum::routing::post(flows::impersonation::impersonate),
        )
        .route("/logout", axum::routing::post(flows::logout::start))
        .route("/logged-out", get(flows::logout::done))
        .route("/sdk/authproxy.js", get(flows::sdk::script))
        .route("/sdk/authproxy.d.ts", get(flows::sdk::declarations))
        .route("/sdk/{file}", get(flows::sdk::versioned))
        .route("/healthz", get(flows::health::healthz))
        .route("/readyz", get(flows::health::readyz))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .merge(admin::api::routes(state.clone()))
        .fallback(error::not_found)
        // Past this many requests at once, new ones wait for a slot (backpressure).
        .layer(tower::limit::ConcurrencyLimitLayer::new(max_concurrent))
        .merge(long_polls.layer(RequestBodyLimitLayer::new(BODY_LIMIT)))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(CatchPanicLayer::custom(error::panic_response))
        .layer(axum::middleware::from_fn(hygiene::layer))
        .layer(trace::layer())
        .with_state(state)
}
