//! The URLs a host opens inside its frame (join URLs, login links, `/auth/uri`)
//! answer their error pages frameable by the registered origins, so the person
//! reads the message in the frame instead of the browser's refusal to show it
//! (docs/src/embedded/embed-urls-registrations-links.md, "Errors inside the
//! frame").

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::app::AppState;
use crate::http::code::ErrorCode;
use crate::http::page;

/// The longest list of origins put in the header; past it, any page may frame
/// the error page (which holds no button, form or personal data to click-jack),
/// so a header never outgrows what proxies pass.
const MAX_ANCESTORS_LEN: usize = 4096;

/// Middleware: an error page of the wrapped route may be framed by every
/// origin a client registers.
pub async fn frameable(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if response.extensions().get::<ErrorCode>().is_none() {
        return response;
    }
    let registry = app.registry.snapshot();
    let origins: Vec<&str> = registry
        .registered_origins
        .iter()
        .map(String::as_str)
        .collect();
    let ancestors = origins.join(" ");
    let ancestors = if ancestors.len() > MAX_ANCESTORS_LEN {
        "*"
    } else {
        ancestors.as_str()
    };
    page::let_frame(&mut response, ancestors);
    response
}
