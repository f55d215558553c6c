//! Unit tests of `query`.

use super::*;

#[test]
fn decodes_percent_and_plus() {
    let q = StrictQuery::parse(Some("user=a%40b.test&x=1+2")).unwrap();
    assert_eq!(q.get("user"), Some("a@b.test"));
    assert_eq!(q.get("x"), Some("1 2"));
    assert_eq!(q.get("y"), None);
}

#[test]
fn refuses_duplicates_and_invalid_utf8() {
    assert_eq!(
        StrictQuery::parse(Some("state=a&state=b")).unwrap_err(),
        QueryError::Duplicate("state".into())
    );
    assert_eq!(
        StrictQuery::parse(Some("user=%FF")).unwrap_err(),
        QueryError::InvalidUtf8("user".into())
    );
}
