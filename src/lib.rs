//! authproxy: logs users of embedded apps (a webphone in a CRM iframe) in to their
//! Keycloak realm through a popup, and hands the result to the waiting page even
//! when the popup's opener is cut off or the page is a partitioned iframe.
//!
//! Layout: `domain` (validated types), `store` (storage traits and SQLite),
//! `idp` (realm access), `flows` (one module per HTTP flow), `http` (router,
//! errors, pages), `config`, `startup` and `cli`.

pub mod admin;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod flows;
pub mod http;
pub mod idp;
pub mod rate_limit;
pub mod registry;
pub mod startup;
pub mod store;
