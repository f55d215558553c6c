//! Unit tests of `request_id`.

use super::*;

#[test]
fn only_plain_incoming_ids_are_kept() {
    assert!(valid("abc-123_X.y"));
    assert!(!valid(""));
    assert!(!valid(&"a".repeat(65)));
    assert!(!valid("a b"));
    assert!(!valid("a\nb"));
    assert_eq!(fresh().len(), 22);
    assert_ne!(fresh(), fresh());
}
