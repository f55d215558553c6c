//! Strict query-string parsing for endpoints that receive security parameters.
//! A parameter given twice is refused (parameter pollution), bytes that are not
//! UTF-8 are refused rather than replaced with U+FFFD, and lookups are exact.

use std::borrow::Cow;

use percent_encoding::percent_decode;

use super::code::ErrorCode;
use super::error::WebError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
/// Why a query is refused.
pub enum QueryError {
    #[error("the parameter {0} is given more than once; send it once")]
    /// A parameter is repeated.
    Duplicate(String),
    #[error("the parameter {0} is not valid UTF-8 once percent-decoded")]
    /// A parameter is not UTF-8 once decoded.
    InvalidUtf8(String),
    #[error("a parameter name is not valid UTF-8 once percent-decoded")]
    /// A parameter name is not valid.
    InvalidName,
    #[error("the form body is not UTF-8")]
    /// The form body is not valid.
    InvalidBody,
}

/// Decoded query parameters, each name at most once.
#[derive(Debug, Default)]
pub struct StrictQuery(Vec<(String, String)>);

fn decode(raw: &str) -> Result<String, ()> {
    let plus_as_space: Cow<'_, str> = if raw.contains('+') {
        Cow::Owned(raw.replace('+', " "))
    } else {
        Cow::Borrowed(raw)
    };
    percent_decode(plus_as_space.as_bytes())
        .decode_utf8()
        .map(Cow::into_owned)
        .map_err(|_| ())
}

impl StrictQuery {
    /// An `application/x-www-form-urlencoded` body, under the same rules.
    pub fn parse_form(body: &[u8]) -> Result<Self, QueryError> {
        let body = std::str::from_utf8(body).map_err(|_| QueryError::InvalidBody)?;
        Self::parse(Some(body))
    }

    /// Parses a query string.
    pub fn parse(raw: Option<&str>) -> Result<Self, QueryError> {
        let mut params: Vec<(String, String)> = Vec::new();
        for pair in raw.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = decode(name).map_err(|()| QueryError::InvalidName)?;
            let value = decode(value).map_err(|()| QueryError::InvalidUtf8(name.clone()))?;
            if params.iter().any(|(n, _)| *n == name) {
                return Err(QueryError::Duplicate(name));
            }
            params.push((name, value));
        }
        Ok(Self(params))
    }

    /// A parameter that must be present and not empty.
    pub fn require(&self, name: &str) -> Result<&str, WebError> {
        self.get(name).filter(|v| !v.is_empty()).ok_or_else(|| {
            WebError::new(
                ErrorCode::MissingParameter,
                format!("The {name} parameter is missing."),
            )
        })
    }

    #[must_use]
    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests;
