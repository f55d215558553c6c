//! Seed 000's way in: a host token (`#token=`) verified against the tenant's
//! keys, used once, and turned into the user it vouches for.

use axum::response::{IntoResponse, Response};

use super::vouched::HostUser;
use crate::app::AppState;
use crate::http::code::ErrorCode;
use crate::http::error::opaque_refusal;
use crate::http::error::{ApiError, WebError};
use crate::store::AuditEntry;

/// The user a host token vouches for, once the one strict verifier passed it.
pub(crate) async fn from_host_token(
    app: &AppState,
    token: &str,
    request_id: &str,
    audit: &mut AuditEntry,
) -> Result<HostUser, Response> {
    let verified = match app
        .host_token_verifier()
        .verify(token, app.clock.now())
        .await
    {
        Ok(Ok(token)) => token,
        Ok(Err(rejection)) => {
            audit.reason = Some(rejection.reason());
            return Err(opaque_refusal(ErrorCode::InvalidToken, request_id));
        }
        Err(err) => {
            audit.outcome = "failed".into();
            audit.reason = Some(err.to_string());
            return Err(ApiError(WebError::from(err)).into_response());
        }
    };
    audit.token_jti = Some(verified.jti.clone());
    Ok(HostUser::vouched_by(verified))
}
