//! Builds the application from a validated [`Config`]: opens the store, seeds the
//! directory from the config, wires the IdP client and the router, and binds the
//! listeners (the service's, and the metrics' when configured). Tests use the
//! same path with a pre-bound port-0 listener and a manual clock. Also the
//! process's lifecycle: background tasks, SIGTERM (keep accepting for
//! `shutdown_delay`, then drain) and SIGHUP (reload the TLS certificate).

pub mod tasks;
pub mod telemetry;
pub mod tls;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt as _;

use crate::app::{App, AppState};
use crate::auth::signing::BrokerKeys;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::idp::admin_rest::AdminRest;
use crate::idp::health::RealmHealth;
use crate::idp::host_jwks::HostJwks;
use crate::idp::http::RealmHttp;
use crate::idp::oidc::OidcProvider;
use crate::idp::{IdentityProvider, KeycloakAdmin};
use crate::observe::logs::AccessLogger;
use crate::observe::metrics::Metrics;
use crate::rate_limit::{RateLimiter, WaitSlots};
use crate::registry::Registry;
use crate::routes::router;
use crate::store::directory_cache::CachedDirectory;
use crate::store::{AccessStore, AuditLog, DirectoryStore, RegistryStore, StoreError};

#[derive(Debug, thiserror::Error)]
/// Why the service did not start or stopped.
pub enum StartupError {
    #[error("could not open the store: {0}")]
    /// The store failed.
    Store(#[from] StoreError),
    #[error("could not listen on {addr}: {source}")]
    /// The address could not be bound.
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    #[error("could not set up the IdP client: {0}")]
    /// The realm client could not be built.
    Idp(String),
    #[error("the server failed: {0}")]
    /// Serving failed.
    Serve(std::io::Error),
    #[error("could not load the broker's signing keys: {0}")]
    /// The signing keys could not be loaded or made.
    Signing(#[from] crate::auth::signing::SigningError),
    #[error("could not set up TLS: {0}")]
    /// The certificate or key could not be used.
    Tls(String),
}

/// A built application, bound to its port and ready to serve.
pub struct Application {
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    tls: Option<Arc<tls::ReloadingCert>>,
    shutdown_delay: Duration,
    state: AppState,
}

impl Application {
    /// Builds the application and binds `config.listen`.
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartupError::Bind {
                    addr: config.listen,
                    source,
                })?;
        Self::build_with(config, listener, Arc::new(SystemClock)).await
    }

    /// Builds the application on an already bound listener with the given clock.
    pub async fn build_with(
        config: Config,
        listener: TcpListener,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartupError> {
        let metrics = Arc::new(Metrics::new());
        let stores = config.store.open(&clock).await?;
        stores.durable.observe(Arc::clone(&metrics));
        stores.logins.observe(Arc::clone(&metrics));
        let store = stores.durable;
        let http = RealmHttp::new(config.idp_timeout)
            .map_err(|e| StartupError::Idp(e.to_string()))?
            .with_metrics(Arc::clone(&metrics));
        let metrics_listener = match config.metrics_listen {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|source| StartupError::Bind { addr, source })?,
            ),
            None => None,
        };
        let tls = config
            .tls
            .clone()
            .map(tls::ReloadingCert::open)
            .transpose()
            .map_err(StartupError::Tls)?;
        let oidc = Arc::new(OidcProvider::new(Arc::clone(&clock), http.clone()));
        config.seed(store.as_ref(), clock.now()).await?;
        let registry =
            Arc::new(Registry::load(Arc::clone(&store) as Arc<dyn RegistryStore>).await?);
        let directory: Arc<dyn DirectoryStore> = if config.directory_cache_entries > 0 {
            CachedDirectory::start(Arc::clone(&store) as _, config.directory_cache_entries)
        } else {
            Arc::clone(&store) as _
        };
        let broker_keys = Arc::new(
            BrokerKeys::load(Arc::clone(&store), config.public_url.as_str(), clock.now()).await?,
        );
        broker_keys.rotate_if_due(clock.now()).await?;
        let state = AppState::new(App {
            broker_keys,
            host_jwks: Arc::new(HostJwks::new(http.clone())),
            registry,
            directory,
            access: Arc::clone(&store) as Arc<dyn AccessStore>,
            audit: Arc::clone(&store) as Arc<dyn AuditLog>,
            durable: store,
            sealer: stores.sealer,
            limiter: RateLimiter::new("caller", stores.rates.clone()),
            ip_limiter: RateLimiter::new("ip", stores.rates),
            wait_slots: WaitSlots::counted(
                config.limits.max_waits_per_ip,
                config.limits.max_waits,
                metrics.waits_parked.clone(),
            ),
            limits: config.limits,
            logins: stores.logins,
            idp: Arc::clone(&oidc) as Arc<dyn IdentityProvider>,
            keycloak_admin: Arc::new(AdminRest::new(http, oidc)) as Arc<dyn KeycloakAdmin>,
            clock,
            public_url: config.public_url,
            managed: config.owned.clone(),
            handoff_wait: config.handoff_wait,
            trusted_proxies: config.trusted_proxies,
            access_log: AccessLogger::new(config.log.clone()),
            metrics,
            draining: AtomicBool::new(false),
            realm_health: Arc::new(RealmHealth::default()),
            console: config.console,
        });
        Ok(Self {
            listener,
            metrics_listener,
            tls,
            shutdown_delay: config.shutdown_delay,
            state,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> Result<SocketAddr, StartupError> {
        self.listener.local_addr().map_err(StartupError::Serve)
    }

    /// The metrics listener's address, when metrics are served.
    #[must_use]
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    /// The certificate in service, when the listener speaks TLS (SIGHUP
    /// reloads it).
    #[must_use]
    pub fn tls(&self) -> Option<Arc<tls::ReloadingCert>> {
        self.tls.clone()
    }

    /// Serves until `shutdown` resolves; then `/readyz` answers 503 while the
    /// listener keeps accepting for `shutdown_delay` (load balancers take a
    /// moment to stop sending), then the listener closes and in-flight requests
    /// drain (bounded by the longest request, a long poll).
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        let mut background = tasks::start(&self.state, self.tls.clone());
        if let Some(listener) = self.metrics_listener {
            let metrics = Arc::clone(&self.state.metrics);
            let logins = Arc::clone(&self.state.logins);
            background.push(tokio::spawn(tasks::serve_metrics(
                listener, metrics, logins,
            )));
        }
        let drain_limit = self.state.handoff_wait + Duration::from_secs(10);
        let header_timeout = self.state.limits.header_read_timeout;
        let mut http = hyper::server::conn::http1::Builder::new();
        // A connection that trickles its headers is dropped.
        http.timer(TokioTimer::new())
            .header_read_timeout(header_timeout);
        let state = self.state.clone();
        let app = router(self.state);
        let acceptor = self
            .tls
            .as_ref()
            .map(tls::ReloadingCert::acceptor)
            .transpose()
            .map_err(StartupError::Tls)?;
        let graceful = GracefulShutdown::new();
        let shutdown = async move {
            shutdown.await;
            state
                .draining
                .store(true, std::sync::atomic::Ordering::SeqCst);
            if !self.shutdown_delay.is_zero() {
                tracing::info!(
                    delay_secs = self.shutdown_delay.as_secs(),
                    "shutting down: not ready any more, still accepting while load balancers catch up"
                );
                tokio::time::sleep(self.shutdown_delay).await;
            }
            tracing::info!("shutting down: closing the listener and draining in-flight requests");
        };
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(accepted) => accepted,
                        Err(err) => {
                            // Out of file descriptors and the like: pause, don't spin.
                            tracing::warn!(error = %err, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let service = app.clone().map_request(move |mut request: axum::extract::Request<Incoming>| {
                        request.extensions_mut().insert(ConnectInfo(peer));
                        request
                    });
                    let service = TowerToHyperService::new(service);
                    match &acceptor {
                        None => {
                            let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
                            tokio::spawn(async move {
                                if let Err(err) = connection.await {
                                    tracing::debug!(error = %err, "connection ended with an error");
                                }
                            });
                        }
                        Some(acceptor) => {
                            let acceptor = acceptor.clone();
                            let http = http.clone();
                            let watcher = graceful.watcher();
                            tokio::spawn(async move {
                                let stream = match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                                    Ok(Ok(stream)) => stream,
                                    Ok(Err(err)) => {
                                        tracing::debug!(error = %err, "TLS handshake failed");
                                        return;
                                    }
                                    Err(_) => return,
                                };
                                let connection = watcher.watch(http.serve_connection(TokioIo::new(stream), service));
                                if let Err(err) = connection.await {
                                    tracing::debug!(error = %err, "connection ended with an error");
                                }
                            });
                        }
                    }
                }
                () = &mut shutdown => break,
            }
        }
        drop(self.listener);
        tokio::select! {
            () = graceful.shutdown() => tracing::info!("all in-flight requests finished"),
            () = tokio::time::sleep(drain_limit) => tracing::warn!("stopped waiting for in-flight requests"),
        }
        for task in background.tasks() {
            task.abort();
        }
        Ok(())
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => tracing::info!("interrupted: shutting down"),
        () = term => tracing::info!("SIGTERM: shutting down"),
    }
}

/// SIGHUP reloads the TLS certificate (when the listener has one) and nothing
/// else: every other setting is read at start, and realms, clients, the
/// directory and tenants already follow the store without a signal.
async fn on_sighup(tls: Option<Arc<tls::ReloadingCert>>) {
    let Ok(mut hangups) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
    else {
        return;
    };
    while hangups.recv().await.is_some() {
        if let Some(tls) = &tls {
            tls.reload_if_changed(true);
            tracing::info!(
                "SIGHUP: TLS certificate read again; other settings of the configuration file apply at the next start"
            );
        } else {
            tracing::info!(
                "SIGHUP ignored: the configuration file is read at start (restart to apply a change); realms, clients and the directory follow the store by themselves"
            );
        }
    }
}

/// `authproxy serve`: loads the configuration, sets up logging, builds the
/// application, serves until SIGTERM or Ctrl-C.
pub async fn serve(path: &std::path::Path) -> ExitCode {
    let config = match Config::load(path) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::from(2);
        }
    };
    let _telemetry = match telemetry::init(&config.log, config.tracing.as_ref()) {
        Ok(telemetry) => telemetry,
        Err(err) => {
            eprintln!("authproxy: {err}");
            return ExitCode::from(2);
        }
    };
    let application = match Application::build(config).await {
        Ok(app) => app,
        Err(err) => {
            tracing::error!(error = %err, "authproxy did not start");
            eprintln!("authproxy: {err}");
            return ExitCode::FAILURE;
        }
    };
    if let Ok(addr) = application.local_addr() {
        let scheme = if application.tls().is_some() {
            "https"
        } else {
            "http"
        };
        tracing::info!(%addr, scheme, "authproxy listening");
    }
    if let Some(addr) = application.metrics_addr() {
        tracing::info!(%addr, "metrics listening on /metrics");
    }
    tokio::spawn(on_sighup(application.tls()));
    match application.run_until(shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("authproxy: {err}");
            ExitCode::FAILURE
        }
    }
}
