//! Authentication schemes of the backend APIs: impersonation callers (HTTP Basic,
//! RFC 6749 §2.3.1) and administrators (bearer admin tokens). Each scheme answers
//! with an [`Outcome`]: no credentials, authenticated, or failed; the HTTP edge
//! turns that into 401 with `WWW-Authenticate`. Nothing here knows about axum.

pub mod admin;
pub mod api_key;
pub mod caller;
pub mod host_token;
pub mod jwt;
pub mod signing;
pub mod third_party;

/// What a scheme concluded about a request.
#[derive(Debug)]
pub enum Outcome<T> {
    /// The request carries no credentials for this scheme.
    NotRequested,
    /// Credentials were sent and are good; the authenticated party.
    Authenticated(T),
    /// Credentials were present but wrong; the text is for the audit trail.
    Failed(&'static str),
}
