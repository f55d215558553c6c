//! Request logging that cannot leak secrets: spans carry the method and the
//! matched route only. Queries hold codes, states and email addresses, and a
//! raw path is whatever the caller typed, so neither is ever logged
//! (tower-http's default span would log the whole URI).

use axum::extract::MatchedPath;
use axum::http::Request;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::{DefaultOnResponse, MakeSpan, TraceLayer};
use tracing::{Level, Span};

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
        tracing::info_span!("request", method = %request.method(), route, request_id)
    }
}

#[must_use]
/// The trace layer.
pub fn layer() -> TraceLayer<SharedClassifier<ServerErrorsAsFailures>, PathOnlySpan> {
    TraceLayer::new_for_http()
        .make_span_with(PathOnlySpan)
        .on_response(DefaultOnResponse::new().level(Level::INFO))
}
