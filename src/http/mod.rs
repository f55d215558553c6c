//! The HTTP edge: what every handler shares to speak HTTP: error rendering, strict
//! query and JSON parsing, CORS, page headers, the browser-binding cookie, per-IP
//! limits, response hygiene and log-safe tracing. The route table is `routes`;
//! the state handlers receive is `app`.

pub mod access_log;
pub mod authorization_response;
pub mod client_addr;
pub mod code;
pub mod cookie;
pub mod cors;
pub mod edge;
pub mod error;
pub mod frame;
pub mod hygiene;
pub mod json;
pub mod limits;
pub mod page;
pub mod query;
pub mod refused;
pub mod request_id;
pub mod trace;
