//! Integration tests: each test starts the broker on 127.0.0.1:0 with a fresh
//! SQLite file against one shared, real Keycloak-shaped OP (tests/idp).
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test fails loudly at the first surprise"
)]

mod support;

mod admin;
mod admin_parity;
mod admin_remote;
mod architecture;
mod attacks;
mod bad_input;
mod callback;
mod cli;
mod console;
mod discovery;
mod docs;
mod embed;
mod faults;
mod handoff;
mod id_tokens;
mod impersonation;
mod issued_tokens;
mod keys;
mod links;
mod logging;
mod login;
mod logout;
mod operations;
mod ownership;
mod passthrough;
mod registrations;
mod round_trip;
mod sdk;
mod server;
mod sso;
mod sso_handshake;
mod stores;
