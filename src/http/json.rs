//! JSON request bodies. Every endpoint takes exactly one JSON object: serde's
//! derive would also read a struct from an array (`["alice@…"]`), so the first
//! significant byte must open an object. Unknown and duplicate keys are refused by
//! the request types themselves (`deny_unknown_fields`). Values are never echoed
//! in the problem description (they may be secrets).

use serde::de::DeserializeOwned;

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
        Category::Data => "a field is missing, unknown, repeated or of the wrong type".into(),
        Category::Syntax => format!(
            "malformed JSON at line {} column {}",
            err.line(),
            err.column()
        ),
        Category::Eof => "the JSON ends too early".into(),
        Category::Io => "the body could not be read".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        #[expect(dead_code, reason = "only parsed")]
        user: String,
    }

    #[test]
    fn only_one_object_with_known_keys_is_accepted() {
        assert!(object::<Body>(br#" {"user": "a"}"#).is_ok());
        assert!(matches!(
            object::<Body>(br#"["a"]"#),
            Err(JsonBodyError::NotAnObject)
        ));
        assert!(matches!(
            object::<Body>(b""),
            Err(JsonBodyError::NotAnObject)
        ));
        assert!(object::<Body>(br#"{"user": "a", "user": "b"}"#).is_err());
        assert!(object::<Body>(br#"{"user": "a", "other": 1}"#).is_err());
    }
}
