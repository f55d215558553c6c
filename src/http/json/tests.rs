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

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Two {
    #[expect(dead_code, reason = "only parsed")]
    user: String,
    #[expect(dead_code, reason = "only parsed")]
    audience: Option<String>,
}

#[test]
fn a_wrong_key_is_named_and_a_value_never_is() {
    let problem = |body: &[u8]| match object::<Two>(body) {
        Err(JsonBodyError::Invalid(p)) => p,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        problem(br#"{"user": "a", "lifetime": 60}"#),
        r#"the key "lifetime" is unknown (the keys are user, audience)"#
    );
    assert_eq!(
        problem(br#"{"audience": "x"}"#),
        r#"the key "user" is missing"#
    );
    assert_eq!(
        problem(br#"{"user": "a", "user": "b"}"#),
        r#"the key "user" is repeated"#
    );
    // A value is never echoed: a secret sent in the wrong place stays unsaid.
    let typed = problem(br#"{"user": 12345678}"#);
    assert!(!typed.contains("12345678"), "{typed}");
    // Nor a key that does not look like one.
    let odd = problem(br#"{"user": "a", "sk_live_<script>": 1}"#);
    assert!(!odd.contains("script"), "{odd}");
}
