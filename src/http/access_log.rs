//! Access lines, refusal summaries and request metrics, in one layer inside the
//! request's span. Successful requests are logged `off`, `sampled` or `on`
//! (`[log] access`); refusals (4xx) and failures (5xx) are summarised per cause
//! and client address: the first of an interval is logged at once, with its
//! code, route, status and the `Origin` that was refused, the rest are counted
//! and reported in one line when the interval ends. So a flood of refused
//! requests writes a bounded number of lines, whatever its rate.

use std::net::IpAddr;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method, header};
use axum::response::Response;

use super::client_addr::ClientAddr;
use super::code::ErrorCode;
use crate::app::AppState;

/// The internal cause of a failure, put on the response for this layer to log
/// (the first of an interval) instead of logging it per request.
#[derive(Clone, Debug)]
pub struct FailureDetail(pub String);

/// Marks an error status that is the route working as designed (a draining
/// replica's `503` readiness): logged at debug, not as a failure per probe.
#[derive(Clone, Copy, Debug)]
pub struct Expected;

/// Counts a request in flight until it is answered or dropped (a client that
/// goes away mid-request must not leave the gauge up).
struct InFlight<'a>(&'a prometheus_client::metrics::gauge::Gauge);

impl<'a> InFlight<'a> {
    fn new(gauge: &'a prometheus_client::metrics::gauge::Gauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// A request being measured: what its access line and metrics need, taken
/// before the request goes in (cheap clones: the route and `Origin` share their
/// bytes).
pub struct Observed<'a> {
    app: &'a AppState,
    started: Instant,
    route: Option<MatchedPath>,
    method: Method,
    client: Option<IpAddr>,
    origin: Option<HeaderValue>,
    _in_flight: InFlight<'a>,
}

impl<'a> Observed<'a> {
    /// Starts measuring `request` (counted in flight until answered or dropped).
    #[must_use]
    pub fn begin(app: &'a AppState, request: &Request) -> Self {
        Self {
            app,
            started: Instant::now(),
            route: request.extensions().get::<MatchedPath>().cloned(),
            method: request.method().clone(),
            client: request.extensions().get::<ClientAddr>().map(|c| c.0),
            // Not a secret, and the first thing to check when an origin is refused.
            origin: request.headers().get(header::ORIGIN).cloned(),
            _in_flight: InFlight::new(&app.metrics.requests_in_flight),
        }
    }

    /// Counts, measures and (per `[log]`) logs the answer.
    pub fn finish(self, response: &Response) {
        let elapsed = self.started.elapsed();
        let app = self.app;
        let route = self.route.as_ref().map_or("unmatched", MatchedPath::as_str);
        let status = response.status().as_u16();
        app.metrics
            .requests
            .record(route, &self.method, status, elapsed);
        // Microsecond precision: `0.433`, not `0.43278799999999995`.
        let millis = (elapsed.as_secs_f64() * 1_000_000.0).round() / 1000.0;
        if response.extensions().get::<Expected>().is_some() {
            tracing::debug!(status, latency_ms = millis, "request answered as expected");
            return;
        }
        if status < 400 {
            if app.access_log.log_success() {
                tracing::info!(status, latency_ms = millis, "request");
            }
            return;
        }
        let code = response
            .extensions()
            .get::<ErrorCode>()
            .map_or("http_error", |c| c.as_str());
        if !app
            .access_log
            .summary
            .count(code, self.client, route, status)
        {
            return;
        }
        let detail = response
            .extensions()
            .get::<FailureDetail>()
            .map(|d| d.0.as_str());
        let origin: String = self
            .origin
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .map(|o| o.chars().take(200).collect())
            .unwrap_or_default();
        if status >= 500 {
            tracing::warn!(
                status,
                code,
                origin,
                error = detail.unwrap_or(""),
                latency_ms = millis,
                "request failed"
            );
        } else {
            tracing::info!(status, code, origin, latency_ms = millis, "request refused");
        }
    }
}
