//! The service's background tasks: purging expired logins, following changes
//! other processes make (registry, signing keys, the TLS certificate), checking
//! each realm's health, writing the refusal summary, and serving the metrics
//! listener. Each runs until the service stops.

use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::tls::ReloadingCert;
use crate::app::AppState;
use crate::observe::metrics::Metrics;
use crate::store::LoginStore;

/// How often expired logins and transactions are deleted.
const PURGE_INTERVAL: Duration = Duration::from_mins(1);
/// How often the registry version is checked for changes made by the CLI.
const REGISTRY_WATCH_INTERVAL: Duration = Duration::from_millis(500);
/// How often the signing keys are read again (another replica's rotation).
const SIGNING_KEY_WATCH_INTERVAL: Duration = Duration::from_mins(1);
/// How often each realm's metadata is fetched to tell its health.
const REALM_CHECK_INTERVAL: Duration = Duration::from_secs(30);
/// How often the sealing key file is read again (a rotation by the CLI).
const SEALING_KEY_WATCH_INTERVAL: Duration = Duration::from_secs(5);
/// How often the TLS files are checked for a renewed certificate.
const TLS_WATCH_INTERVAL: Duration = Duration::from_secs(5);

/// The running tasks.
pub struct Background(Vec<JoinHandle<()>>);

impl Background {
    /// Adds a task.
    pub fn push(&mut self, task: JoinHandle<()>) {
        self.0.push(task);
    }

    /// The tasks, to stop them.
    #[must_use]
    pub fn tasks(self) -> Vec<JoinHandle<()>> {
        self.0
    }
}

/// Starts every task of `state` (and the certificate watch, with TLS).
#[must_use]
pub fn start(state: &AppState, tls: Option<Arc<ReloadingCert>>) -> Background {
    let mut tasks = vec![
        tokio::spawn(purge_expired(state.clone())),
        tokio::spawn(watch_registry(state.clone())),
        tokio::spawn(watch_signing_keys(state.clone())),
        tokio::spawn(summarise_refusals(state.clone())),
        tokio::spawn(check_realms(state.clone())),
        tokio::spawn(watch_sealing_keys(state.clone())),
    ];
    if let Some(tls) = tls {
        tasks.push(tokio::spawn(watch_tls(tls)));
    }
    Background(tasks)
}

async fn purge_expired(state: AppState) {
    let mut tick = tokio::time::interval(PURGE_INTERVAL);
    loop {
        tick.tick().await;
        state
            .ip_limiter
            .prune(state.clock.now() - chrono::TimeDelta::minutes(10));
        match state.logins.purge_expired(state.clock.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(rows = n, "purged expired logins"),
            Err(err) => tracing::warn!(error = %err, "could not purge expired logins"),
        }
    }
}

/// Picks up registry changes made by another process (the CLI).
async fn watch_registry(state: AppState) {
    let mut tick = tokio::time::interval(REGISTRY_WATCH_INTERVAL);
    loop {
        tick.tick().await;
        match state.registry.reload_if_changed().await {
            Ok(true) => tracing::info!("reloaded realms and clients after a change"),
            Ok(false) => {}
            Err(err) => tracing::warn!(error = %err, "could not check for registry changes"),
        }
    }
}

/// Picks up signing keys another replica made, and rotates when one is due.
async fn watch_signing_keys(state: AppState) {
    let mut tick = tokio::time::interval(SIGNING_KEY_WATCH_INTERVAL);
    loop {
        tick.tick().await;
        match state.broker_keys.rotate_if_due(state.clock.now()).await {
            Ok(true) => tracing::info!("rotated the broker's signing key"),
            Ok(false) => {}
            Err(err) => tracing::warn!(error = %err, "could not check the signing keys"),
        }
    }
}

/// Ends each interval of the refusal summary with its lines.
async fn summarise_refusals(state: AppState) {
    let interval = state.access_log.summary_interval();
    let mut tick = tokio::time::interval(interval);
    tick.tick().await;
    loop {
        tick.tick().await;
        state.access_log.summary.flush(interval.as_secs());
    }
}

/// Fetches every realm's metadata in turn, for `/healthz/realms` and `realm_up`.
async fn check_realms(state: AppState) {
    let mut tick = tokio::time::interval(REALM_CHECK_INTERVAL);
    loop {
        tick.tick().await;
        crate::flows::health::check_every_realm(&state).await;
    }
}

/// Seals with the newest key soon after `authproxy keys rotate` added it.
async fn watch_sealing_keys(state: AppState) {
    let mut tick = tokio::time::interval(SEALING_KEY_WATCH_INTERVAL);
    loop {
        tick.tick().await;
        if state.sealer.refresh() {
            tracing::info!(keys = %state.sealer.key_ids().join(", "), "read the rotated sealing keys");
        }
    }
}

/// Serves a renewed certificate once its files change.
async fn watch_tls(tls: Arc<ReloadingCert>) {
    let mut tick = tokio::time::interval(TLS_WATCH_INTERVAL);
    loop {
        tick.tick().await;
        tls.reload_if_changed(false);
    }
}

/// `GET /metrics` on the metrics listener (nothing else is served there).
pub async fn serve_metrics(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    logins: Arc<dyn LoginStore>,
) {
    let app = axum::Router::new().route(
        "/metrics",
        get(move || {
            let metrics = Arc::clone(&metrics);
            let logins = Arc::clone(&logins);
            async move {
                if let Some(count) = logins.in_flight() {
                    metrics
                        .logins_in_flight
                        .set(i64::try_from(count).unwrap_or(i64::MAX));
                }
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    metrics.encode(),
                )
            }
        }),
    );
    if let Err(err) = axum::serve(listener, app).await {
        tracing::error!(error = %err, "the metrics listener failed");
    }
}
