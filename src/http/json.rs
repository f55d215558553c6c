//! JSON request bodies. Every endpoint takes exactly one JSON object: serde's
//! derive would also read a struct from an array (`["alice@…"]`), so the first
//! significant byte must open an object. Unknown and duplicate keys are refused by
//! the request types themselves (`deny_unknown_fields`). Values are never echoed
//! in the problem description (they may be secrets).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::code::ErrorCode;
use super::refused::Refused;

/// A request body type with the shape its error names, so that a caller who
/// sent something else reads what to send.
pub trait Shaped: DeserializeOwned {
    /// The body's shape: `{"sub": "host user id", "name"?}`.
    const SHAPE: &'static str;
}

/// Declares body types as [`Shaped`]:
/// `shapes! { LogoutRequest => r#"{"sid"?}"#, }`.
macro_rules! shapes {
    ($($body:ty => $shape:literal,)+) => {$(
        impl $crate::http::json::Shaped for $body {
            const SHAPE: &'static str = $shape;
        }
    )+};
}
pub(crate) use shapes;

/// The request's body, one JSON object of `T`'s shape; anything else is a
/// `400 invalid_request` that names the shape.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: Shaped> FromRequest<S> for JsonBody<T> {
    type Rejection = Refused;

    async fn from_request(request: Request, state: &S) -> Result<Self, Refused> {
        let body = read(request, state).await?;
        shaped(&body).map(JsonBody)
    }
}

/// The request's body, within the route's limit.
pub(crate) async fn read<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, Refused> {
    Bytes::from_request(request, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Refused::new(
                ErrorCode::PayloadTooLarge,
                "The request body is larger than this endpoint accepts.",
            )
        } else {
            Refused::invalid("The request body could not be read.")
        }
    })
}

/// Parses `body` as `T`, refusing with its shape.
pub fn shaped<T: Shaped>(body: &[u8]) -> Result<T, Refused> {
    object(body).map_err(|e| {
        Refused::invalid(format!("The body must be JSON {} ({e}).", T::SHAPE))
            .because("invalid request")
    })
}

/// Why a body is not the expected JSON object.
#[derive(Debug, thiserror::Error)]
pub enum JsonBodyError {
    #[error("the body must be one JSON object")]
    /// Not one JSON object.
    NotAnObject,
    #[error("{0}")]
    /// Not valid JSON, or not the expected shape.
    Invalid(String),
}

/// Parses `body` as one JSON object of type `T`.
pub fn object<T: DeserializeOwned>(body: &[u8]) -> Result<T, JsonBodyError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'{') {
        return Err(JsonBodyError::NotAnObject);
    }
    serde_json::from_slice(body).map_err(|e| JsonBodyError::Invalid(problem(&e)))
}

/// What is wrong with a JSON body, without echoing its values.
#[must_use]
pub fn problem(err: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match err.classify() {
        Category::Data => named_key_problem(&err.to_string())
            .unwrap_or_else(|| "a field is missing, unknown, repeated or of the wrong type".into()),
        Category::Syntax => format!(
            "malformed JSON at line {} column {}",
            err.line(),
            err.column()
        ),
        Category::Eof => "the JSON ends too early".into(),
        Category::Io => "the body could not be read".into(),
    }
}

/// serde's "unknown field `lifetime`, expected `user` or `audience`" (and the
/// missing and duplicate cases) as a sentence naming the key: keys, never
/// values, and only keys that look like keys.
fn named_key_problem(message: &str) -> Option<String> {
    let (kind, rest) = ["unknown field `", "missing field `", "duplicate field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix).map(|rest| (*prefix, rest)))?;
    let (key, rest) = rest.split_once('`')?;
    let plain = |k: &str| {
        (1..=64).contains(&k.len())
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    };
    if !plain(key) {
        return None;
    }
    Some(match kind {
        "unknown field `" => {
            // ", expected `a` or `b` at line ..." / ", expected one of `a`, `b`, ..."
            let expected: Vec<&str> = rest
                .split(" at line ")
                .next()
                .unwrap_or_default()
                .split('`')
                .skip(1)
                .step_by(2)
                .filter(|k| plain(k))
                .collect();
            if expected.is_empty() {
                format!("the key \"{key}\" is unknown")
            } else {
                format!(
                    "the key \"{key}\" is unknown (the keys are {})",
                    expected.join(", ")
                )
            }
        }
        "missing field `" => format!("the key \"{key}\" is missing"),
        _ => format!("the key \"{key}\" is repeated"),
    })
}

#[cfg(test)]
mod tests;
