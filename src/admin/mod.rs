//! Administration: the admin API under `/admin/api` (admin tokens), the
//! operations it shares with the CLI, the directory's CSV format and the
//! provisioning of clients in Keycloak realms.

pub mod api;
pub mod console;
pub mod directory_csv;
pub mod openapi;
pub mod ops;
pub mod sync;
