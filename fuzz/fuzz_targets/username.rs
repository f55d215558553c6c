//! Discovery usernames. Whatever the bytes, parsing never panics; an accepted
//! username is the input with ASCII lowercased, one '@' between two non-empty
//! parts, no white space or control character, at most the maximum length, and
//! parsing it again gives the same username.
#![no_main]

use authproxy::domain::Username;
use authproxy::domain::username::MAX_USERNAME_CHARS;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(user) = Username::parse(text) else {
        return;
    };
    let name = user.as_str();
    assert_eq!(name, text.to_ascii_lowercase());
    assert_eq!(name.matches('@').count(), 1);
    let domain = user.domain();
    assert!(!domain.is_empty() && !name.starts_with('@'));
    assert_eq!(&name[name.len() - domain.len()..], domain);
    assert!(!name.chars().any(|c| c.is_control() || c.is_whitespace()));
    assert!(name.chars().count() <= MAX_USERNAME_CHARS);
    assert!(Username::parse(name).is_ok_and(|again| again == user));
});
