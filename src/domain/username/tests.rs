//! Unit tests of `username`.

use super::*;

#[test]
fn username_is_ascii_lowercased_only() {
    let name = Username::parse("Alice@Tenant-A.TEST").unwrap();
    assert_eq!(name.as_str(), "alice@tenant-a.test");
    assert_eq!(name.domain(), "tenant-a.test");
    // Unicode is not folded: the Kelvin sign stays what it is.
    assert_eq!(
        Username::parse("a@\u{212A}.test").unwrap().domain(),
        "\u{212A}.test"
    );
}

#[test]
fn malformed_usernames_say_what_is_wrong() {
    let cases = [
        ("", UsernameError::Empty),
        ("a@b@c", UsernameError::AtSignCount),
        ("nobody", UsernameError::AtSignCount),
        ("@b.test", UsernameError::EmptyLocalPart),
        ("a@", UsernameError::EmptyDomain),
        ("a\u{0}@b.test", UsernameError::ControlCharacter),
        ("a\r\n@b.test", UsernameError::ControlCharacter),
        ("a\u{FFFD}@b.test", UsernameError::ReplacementCharacter),
        ("a b@c.test", UsernameError::Whitespace),
    ];
    for (raw, expected) in cases {
        assert_eq!(Username::parse(raw).unwrap_err(), expected, "{raw:?}");
    }
    let long = format!("{}@b.test", "a".repeat(MAX_USERNAME_CHARS));
    assert_eq!(Username::parse(&long).unwrap_err(), UsernameError::TooLong);
}
