//! The conformance suite: every Keycloak-facing flow of authproxy against a real
//! Keycloak (see `server.rs` for how it is started, or pointed at an existing
//! server with `AUTHPROXY_TEST_KEYCLOAK_URL`). Each test starts its own broker on
//! port 0; the page client is not in the realm import: the broker's own
//! `clients sync` creates it through Keycloak's Admin REST API.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a test fails loudly at the first surprise"
)]

#[path = "../api/support/mod.rs"]
#[expect(
    dead_code,
    reason = "the harness is shared with tests/api; this suite uses part of it"
)]
mod support;

mod conformance;
mod replicas;
mod server;
mod sso;
