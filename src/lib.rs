//! authproxy: logs users of embedded apps (a webphone in a CRM iframe) in to their
//! Keycloak realm through a popup, and hands the result to the waiting page even
//! when the popup's opener is cut off or the page is a partitioned iframe.
//!
//! The module graph points down only (checked by `tests/api/architecture.rs`):
//!
//! ```text
//! startup                 wiring: store, IdP client, registry, App; the listener
//! routes, cli             the two surfaces: every URL; the admin commands
//! flows, admin            one module per HTTP flow; one operations layer for administration
//! http                    the HTTP edge: errors, parsing, CORS, pages, cookie, limits, tracing
//! app                     AppState, what every handler receives
//! registry, auth, config, rate_limit   realms and clients; authentication; configuration
//! store, idp              storage and realm access behind traits
//! observe                 metrics, and the rules that keep logs bounded
//! domain                  validated types
//! crypto, clock           randomness, hashing, sealing; the injected clock
//! ```

pub mod admin;
pub mod app;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod flows;
pub mod http;
pub mod idp;
pub mod observe;
pub mod rate_limit;
pub mod registry;
pub mod routes;
pub mod startup;
pub mod store;
