//! Request logging that cannot leak secrets: spans carry the method and the
//! matched route only. Queries hold codes, states and email addresses, and a
//! raw path is whatever the caller typed, so neither is ever logged
//! (tower-http's default span would log the whole URI).

use axum::extract::MatchedPath;
use axum::http::Request;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::{MakeSpan, TraceLayer};
use tracing::Span;

use super::client_addr::ClientAddr;

use super::request_id::RequestId;

#[derive(Clone, Copy, Debug)]
/// Request spans that name the path only (never the query).
pub struct PathOnlySpan;

impl<B> MakeSpan<B> for PathOnlySpan {
    fn make_span(&mut self, request: &Request<B>) -> Span {
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map_or("<unmatched>", MatchedPath::as_str);
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map_or("-", |id| id.0.as_str());
        let client = request
            .extensions()
            .get::<ClientAddr>()
            .map(|c| c.0.to_string())
            .unwrap_or_default();
        let span = tracing::info_span!(
            "request",
            method = %request.method(),
            route,
            request_id,
            client = %client,
            client_id = tracing::field::Empty,
            realm = tracing::field::Empty,
        );
        // A caller's `traceparent` continues its trace (a no-op unless
        // `[tracing]` installed the W3C propagator).
        let parent = opentelemetry::global::get_text_map_propagator(|propagator| {
            propagator.extract(&opentelemetry_http::HeaderExtractor(request.headers()))
        });
        let _ = tracing_opentelemetry::OpenTelemetrySpanExt::set_parent(&span, parent);
        span
    }
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

/// The span layer. Lines about responses are the access layer's
/// ([`super::access_log`]), which summarises refusals instead of writing one
/// line each.
#[must_use]
pub fn layer()
-> TraceLayer<SharedClassifier<ServerErrorsAsFailures>, PathOnlySpan, (), (), (), (), ()> {
    TraceLayer::new_for_http()
        .make_span_with(PathOnlySpan)
        .on_request(())
        .on_response(())
        .on_failure(())
        .on_body_chunk(())
        .on_eos(())
}
