//! Unit tests of `caller`.

use super::*;

#[test]
fn basic_credentials_are_form_decoded() {
    let header = format!("Basic {}", STANDARD.encode("crm%2Dbackend:s%3Acret+x"));
    let creds = parse_basic(Some(&header)).unwrap().unwrap();
    assert_eq!(creds.id, "crm-backend");
    assert_eq!(creds.secret, "s:cret x");
    assert!(parse_basic(Some("Basic !!!")).is_err());
    assert!(parse_basic(Some("Bearer x")).unwrap().is_none());
    assert!(parse_basic(None).unwrap().is_none());
}

#[test]
fn only_the_right_secret_verifies() {
    let hash = hash_secret("right").unwrap();
    assert!(hash.starts_with("$argon2id$"));
    assert!(verify(&hash, "right"));
    assert!(!verify(&hash, "wrong"));
}
