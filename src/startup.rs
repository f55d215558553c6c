//! Builds the application from a validated [`Config`]: opens the store, seeds the
//! directory from the config, wires the IdP client and the router, and binds the
//! listener. Tests use the same path with a pre-bound port-0 listener and a
//! manual clock.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
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
use crate::idp::host_jwks::HostJwks;
use crate::idp::http::RealmHttp;
use crate::idp::oidc::OidcProvider;
use crate::idp::{IdentityProvider, KeycloakAdmin};
use crate::rate_limit::{RateLimiter, WaitSlots};
use crate::registry::Registry;
use crate::routes::router;
use crate::store::directory_cache::CachedDirectory;
use crate::store::tenants::TenantStore as _;
use crate::store::{AccessStore, AuditLog, DirectoryStore, RegistryStore, StoreError};

/// How often expired logins and transactions are deleted.
const PURGE_INTERVAL: Duration = Duration::from_mins(1);
/// How often the registry version is checked for changes made by the CLI.
const REGISTRY_WATCH_INTERVAL: Duration = Duration::from_millis(500);
/// How often the signing keys are read again (another replica's rotation).
const SIGNING_KEY_WATCH_INTERVAL: Duration = Duration::from_mins(1);

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
}

/// A built application, bound to its port and ready to serve.
pub struct Application {
    listener: TcpListener,
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
        let stores = config.store.open().await?;
        let store = stores.durable;
        let seeded = store
            .import_rules(Box::new(config.directory_seed.clone().into_iter()), false)
            .await?;
        tracing::info!(
            rules = seeded,
            "seeded the directory from the configuration"
        );

        let http =
            RealmHttp::new(config.idp_timeout).map_err(|e| StartupError::Idp(e.to_string()))?;
        let oidc = Arc::new(OidcProvider::new(Arc::clone(&clock), http.clone()));
        crate::registry::seed(store.as_ref(), &config.realms, &config.clients).await?;
        store.seed_tenants(&config.tenants, clock.now()).await?;
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
            wait_slots: WaitSlots::new(config.limits.max_waits_per_ip, config.limits.max_waits),
            limits: config.limits,
            logins: stores.logins,
            idp: Arc::clone(&oidc) as Arc<dyn IdentityProvider>,
            keycloak_admin: Arc::new(AdminRest::new(http, oidc)) as Arc<dyn KeycloakAdmin>,
            clock,
            public_url: config.public_url,
            managed: crate::registry::Managed::of(&config.realms, &config.clients)
                .with_tenants(&config.tenants),
            handoff_wait: config.handoff_wait,
        });
        Ok(Self { listener, state })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> Result<SocketAddr, StartupError> {
        self.listener.local_addr().map_err(StartupError::Serve)
    }

    /// Serves until `shutdown` resolves, then drains in-flight requests (bounded
    /// by the longest request, a long-poll) and lets the store close.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        let purge = tokio::spawn(purge_expired(self.state.clone()));
        let watch = tokio::spawn(watch_registry(self.state.clone()));
        let keys = tokio::spawn(watch_signing_keys(self.state.clone()));
        let drain_limit = self.state.handoff_wait + Duration::from_secs(10);
        let mut http = hyper::server::conn::http1::Builder::new();
        // A connection that trickles its headers is dropped.
        http.timer(TokioTimer::new())
            .header_read_timeout(self.state.limits.header_read_timeout);
        let app = router(self.state);
        let graceful = GracefulShutdown::new();
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
                    let connection = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
                    let connection = graceful.watch(connection);
                    tokio::spawn(async move {
                        if let Err(err) = connection.await {
                            tracing::debug!(error = %err, "connection ended with an error");
                        }
                    });
                }
                () = &mut shutdown => break,
            }
        }
        drop(self.listener);
        tokio::select! {
            () = graceful.shutdown() => tracing::info!("all in-flight requests finished"),
            () = tokio::time::sleep(drain_limit) => tracing::warn!("stopped waiting for in-flight requests"),
        }
        purge.abort();
        watch.abort();
        keys.abort();
        Ok(())
    }
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
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: draining in-flight requests");
}

/// `authproxy serve`: loads the configuration, builds the application, serves until
/// SIGTERM or Ctrl-C.
pub async fn serve(path: &std::path::Path) -> ExitCode {
    let config = match Config::load(path) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::from(2);
        }
    };
    let application = match Application::build(config).await {
        Ok(app) => app,
        Err(err) => {
            eprintln!("authproxy: {err}");
            return ExitCode::FAILURE;
        }
    };
    if let Ok(addr) = application.local_addr() {
        tracing::info!(%addr, "authproxy listening");
    }
    match application.run_until(shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("authproxy: {err}");
            ExitCode::FAILURE
        }
    }
}
