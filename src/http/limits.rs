//! Per-client-IP rate limits on the endpoints that take a username (discovery and
//! `/login`), against enumeration and abuse: 429 with `Retry-After`, in the shape
//! of the endpoint (JSON for discovery, a page for the popup).

use std::io::Write as _;
use std::net::IpAddr;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::client_addr::ClientAddr;
use super::error::{DiscoveryError, PageError, WebError};
use crate::app::AppState;
use crate::http::code::ErrorCode;

/// `Retry-After` in whole seconds, rounded up (at least 1).
pub fn set_retry_after(response: &mut Response, wait: Duration) {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, retry_after(wait));
}

/// `Retry-After`'s value for `wait`: whole seconds, rounded up, at least 1.
#[must_use]
pub fn retry_after(wait: Duration) -> HeaderValue {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    HeaderValue::from(seconds.max(1))
}

/// The longest text of an address (IPv6 with an embedded IPv4 address).
const LONGEST_ADDRESS: usize = 45;

/// `ip` as text, written into `buffer`: the bucket key of every limited
/// request, made without an allocation (docs/src/operate/performance.md).
fn address_text(ip: IpAddr, buffer: &mut [u8; LONGEST_ADDRESS]) -> &str {
    let mut cursor = std::io::Cursor::new(&mut buffer[..]);
    // Never short: the buffer holds the longest address.
    let _ = write!(cursor, "{ip}");
    let written = usize::try_from(cursor.position()).unwrap_or(0);
    buffer
        .get(..written)
        .and_then(|text| std::str::from_utf8(text).ok())
        .unwrap_or_default()
}

/// The per-address rate limit.
pub async fn per_ip(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let Some(&ClientAddr(ip)) = request.extensions().get::<ClientAddr>() else {
        return next.run(request).await;
    };
    let mut buffer = [0; LONGEST_ADDRESS];
    let limits = app.limits;
    match app
        .ip_limiter
        .check(
            address_text(ip, &mut buffer),
            limits.per_ip_per_minute,
            limits.per_ip_burst,
            app.clock.now(),
        )
        .await
    {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            app.metrics.refused_by("ip");
            let error = WebError::new(
                ErrorCode::RateLimited,
                "Too many requests from this address: wait a moment and try again.",
            );
            let mut response = if request.uri().path() == "/login" {
                PageError(error).into_response()
            } else {
                DiscoveryError(error).into_response()
            };
            set_retry_after(&mut response, wait);
            response
        }
    }
}

#[cfg(test)]
mod tests;
