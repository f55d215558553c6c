//! The authorization response that arrives at `/authproxy` (RFC 6749 §4.1.2 and
//! §4.1.2.1, RFC 9207 `iss`), parsed and checked for shape before any lookup.

use crate::http::code::ErrorCode;
use crate::http::error::WebError;
use crate::http::query::StrictQuery;

/// Longest `state` or `code` accepted; real ones are far shorter.
pub const MAX_PARAM_LEN: usize = 2048;

/// Longest `error_description` kept for the error page.
const MAX_DESCRIPTION_CHARS: usize = 500;

/// An authorization response whose `state` is well-formed.
#[derive(Debug)]
pub struct AuthorizationResponse {
    /// The `state` the realm sent back.
    pub state: String,
    /// The issuer the realm names (RFC 9207), when it sends one.
    pub issuer: Option<String>,
    /// The realm's answer, or what is wrong with it. A malformed answer is only
    /// reported once the state has been consumed, so the waiting page learns it.
    pub answer: Result<Answer, WebError>,
}

#[derive(Debug, PartialEq, Eq)]
/// What the realm answered.
pub enum Answer {
    /// A code to redeem.
    Code(String),
    /// The realm reported an error (the user cancelled, ...).
    Error {
        /// The OAuth error code.
        error: String,
        /// Its description, when the realm gave one.
        description: Option<String>,
    },
}

impl AuthorizationResponse {
    /// Parses the raw query string of the redirect.
    pub fn parse(raw_query: Option<&str>) -> Result<Self, WebError> {
        let query = StrictQuery::parse(raw_query)
            .map_err(|e| WebError::new(ErrorCode::InvalidQuery, e.to_string()))?;
        let state = query
            .get("state")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                WebError::new(
                    ErrorCode::MissingState,
                    "The response has no state. Start the login again from the application.",
                )
            })?;
        if state.len() > MAX_PARAM_LEN {
            return Err(WebError::new(
                ErrorCode::InvalidState,
                "The state is not one this broker issued.",
            ));
        }
        Ok(Self {
            state: state.to_owned(),
            issuer: query.get("iss").map(ToOwned::to_owned),
            answer: answer(&query),
        })
    }
}

impl AuthorizationResponse {
    /// RFC 9207 §2.4: a response naming another issuer than `expected` is a
    /// mix-up attempt; a realm that announces the parameter (`required`) must
    /// send it.
    pub fn check_issuer(&self, expected: &str, required: bool) -> Result<(), WebError> {
        match self.issuer.as_deref() {
            Some(iss) if iss != expected => Err(WebError::new(
                ErrorCode::IssuerMismatch,
                "The response comes from another login server than the one this login was sent to.",
            )),
            None if required => Err(WebError::new(
                ErrorCode::MissingIss,
                "The login server announces the iss parameter (RFC 9207) but the response has none.",
            )),
            _ => Ok(()),
        }
    }
}

fn answer(query: &StrictQuery) -> Result<Answer, WebError> {
    if let Some(error) = query.get("error") {
        return Ok(Answer::Error {
            error: sanitize_error_code(error),
            description: query
                .get("error_description")
                .map(|d| d.chars().take(MAX_DESCRIPTION_CHARS).collect()),
        });
    }
    match query.get("code") {
        None | Some("") => Err(WebError::new(
            ErrorCode::MissingCode,
            "The response has neither a code nor an error.",
        )),
        Some(code) if code.len() > MAX_PARAM_LEN => Err(WebError::new(
            ErrorCode::InvalidCode,
            "The authorization code is too long.",
        )),
        Some(code) => Ok(Answer::Code(code.to_owned())),
    }
}

/// RFC 6749 §4.1.2.1: `error` is a short ASCII code; anything else is replaced.
fn sanitize_error_code(raw: &str) -> String {
    if (1..=64).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    {
        raw.to_owned()
    } else {
        "invalid_error".to_owned()
    }
}

#[cfg(test)]
mod tests;
