//! Unit tests of `json`.

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
