//! Access lines, refusal summaries and request metrics, in one layer inside the
//! request's span. Successful requests are logged `off`, `sampled` or `on`
//! (`[log] access`); refusals (4xx) and failures (5xx) are summarised per cause
//! and client address: the first of an interval is logged at once, with its
//! code, route, status and the `Origin` that was refused, the rest are counted
//! and reported in one line when the interval ends. So a flood of refused
//! requests writes a bounded number of lines, whatever its rate.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;

use super::client_addr::ClientAddr;
use super::code::ErrorCode;
use crate::app::AppState;
use crate::observe::metrics::{RequestLabels, RouteLabels};

/// The internal cause of a failure, put on the response for this layer to log
/// (the first of an interval) instead of logging it per request.
#[derive(Clone, Debug)]
pub struct FailureDetail(pub String);

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

/// Measures, counts and logs one request.
pub async fn layer(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let client = request.extensions().get::<ClientAddr>().map(|c| c.0);
    // Not a secret, and the first thing to check when an origin is refused.
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(|o| o.chars().take(200).collect::<String>());
    let in_flight = InFlight::new(&app.metrics.requests_in_flight);
    let response = next.run(request).await;
    drop(in_flight);
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    app.metrics
        .requests
        .get_or_create(&RequestLabels {
            route: route.clone(),
            method: method.clone(),
            status,
        })
        .inc();
    app.metrics
        .request_duration
        .get_or_create(&RouteLabels {
            route: route.clone(),
        })
        .observe(elapsed.as_secs_f64());
    let millis = elapsed.as_secs_f64() * 1000.0;
    if status < 400 {
        if app.access_log.log_success() {
            tracing::info!(status, latency_ms = millis, "request");
        }
        return response;
    }
    let code = response
        .extensions()
        .get::<ErrorCode>()
        .map_or("http_error", |c| c.as_str());
    if !app.access_log.summary.count(code, client, &route, status) {
        return response;
    }
    let detail = response
        .extensions()
        .get::<FailureDetail>()
        .map(|d| d.0.as_str());
    let origin = origin.as_deref().unwrap_or("");
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
    response
}
