//! Request logging that cannot leak secrets: spans carry the method and the
//! matched route only. Queries hold codes, states and email addresses, and a
//! raw path is whatever the caller typed, so neither is ever logged. When no
//! subscriber wants request spans, none is made and no trace context is read.

use std::fmt;
use std::net::IpAddr;

use axum::extract::{MatchedPath, Request};
use tracing::Span;

use super::client_addr::ClientAddr;
use super::request_id::RequestId;

/// The client's address as the span shows it (empty when unknown).
struct Shown(Option<IpAddr>);

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(ip) => ip.fmt(f),
            None => Ok(()),
        }
    }
}

/// The span of one request: method, route template, request id and client
/// address, with the caller's trace context as its parent (W3C `traceparent`).
#[must_use]
pub fn span(request: &Request) -> Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("<unmatched>", MatchedPath::as_str);
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .map_or("-", |id| id.0.as_str());
    let client = Shown(request.extensions().get::<ClientAddr>().map(|c| c.0));
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        route,
        request_id,
        client = %client,
        client_id = tracing::field::Empty,
        realm = tracing::field::Empty,
    );
    if span.is_disabled() {
        return span;
    }
    let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
        propagator.extract(&opentelemetry_http::HeaderExtractor(request.headers()))
    });
    // A span that is not exported (no OTLP endpoint) has no parent to set.
    let _ = tracing_opentelemetry::OpenTelemetrySpanExt::set_parent(&span, parent);
    span
}

/// Names the client and realm of this request in its span, so every line the
/// request logs (the access line, a refusal) carries them.
pub fn record_client(client_id: &str, realm: Option<&str>) {
    let span = Span::current();
    span.record("client_id", client_id);
    if let Some(realm) = realm {
        span.record("realm", realm);
    }
}
