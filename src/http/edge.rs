//! The edge every request passes, as one layer around each route: its id, the
//! client's address, its span, the header checks, the handler (a panic answers
//! 500, a handler past the request timeout 408), the uniform error shape and
//! hygiene headers, and its metrics and access line. One layer makes one boxed
//! future per request where a stack of middleware made one per step
//! (docs/src/operate/performance.md).

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt as _;
use tower::{Layer, Service};
use tracing::Instrument as _;

use super::access_log::Observed;
use super::{client_addr, error, hygiene, request_id, trace};
use crate::app::AppState;

/// The edge layer: `timeout` bounds each request, long polls included.
#[derive(Clone)]
pub struct EdgeLayer {
    app: AppState,
    timeout: Duration,
}

impl EdgeLayer {
    /// The edge of the service in `app`.
    #[must_use]
    pub fn new(app: AppState, timeout: Duration) -> Self {
        Self { app, timeout }
    }
}

impl<S> Layer<S> for EdgeLayer {
    type Service = Edge<S>;

    fn layer(&self, inner: S) -> Edge<S> {
        Edge {
            inner,
            app: self.app.clone(),
            timeout: self.timeout,
        }
    }
}

/// One route behind the edge.
#[derive(Clone)]
pub struct Edge<S> {
    inner: S,
    app: AppState,
    timeout: Duration,
}

impl<S> Service<Request> for Edge<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        // The service that was made ready answers; its clone waits for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let app = self.app.clone();
        let timeout = self.timeout;
        Box::pin(async move {
            let id = request_id::assign(&mut request);
            client_addr::mark(&app.trusted_proxies, &mut request);
            let span = trace::span(&request);
            let observed = Observed::begin(&app, &request);
            let response = match hygiene::refusal(&request) {
                Some(refused) => refused,
                None => {
                    answer(&mut inner, request, timeout)
                        .instrument(span.clone())
                        .await
                }
            };
            let response = hygiene::finish(response);
            span.in_scope(|| observed.finish(&response));
            Ok(request_id::finish(response, id).await)
        })
    }
}

/// The handler's answer; a panic is a 500 and a handler past `timeout` a 408.
async fn answer<S>(inner: &mut S, request: Request, timeout: Duration) -> Response
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    let called = std::panic::catch_unwind(AssertUnwindSafe(|| inner.call(request)));
    let future = match called {
        Ok(future) => future,
        Err(panic) => return error::panic_response(panic),
    };
    match tokio::time::timeout(timeout, AssertUnwindSafe(future).catch_unwind()).await {
        Ok(Ok(Ok(response))) => response,
        Ok(Ok(Err(infallible))) => match infallible {},
        Ok(Err(panic)) => error::panic_response(panic),
        // Bare: `hygiene::finish` gives it the JSON shape and its code.
        Err(_elapsed) => StatusCode::REQUEST_TIMEOUT.into_response(),
    }
}
