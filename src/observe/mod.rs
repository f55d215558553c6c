//! What the service tells its operators: Prometheus metrics and the rules
//! that keep its logs useful and bounded. Every layer records into these; they
//! depend on nothing but the domain's settings.

pub mod logs;
pub mod metrics;
pub mod recent;
pub mod requests;
