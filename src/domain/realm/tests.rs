//! Unit tests of `realm`.

use super::*;

#[test]
fn authority_must_be_exact_and_https_or_loopback() {
    assert!(Authority::parse("https://id.example.com/realms/tenant-a").is_ok());
    assert!(Authority::parse("http://127.0.0.1:8180/realms/tenant-a").is_ok());
    for bad in [
        "http://id.example.com/realms/a",
        "https://id.example.com/realms/a/",
        "https://id.example.com/realms/a?x=1",
        "https://u@id.example.com/realms/a",
        "https://ID.example.com/realms/a",
    ] {
        assert!(Authority::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn scope_always_starts_with_openid_once() {
    let realm = Realm {
        client_auth: ClientAuth::default(),
        name: RealmName::parse("a").unwrap(),
        authority: Authority::parse("https://id.example/realms/a").unwrap(),
        extra_scopes: vec!["openid".into(), "beneapi".into()],
        broker_client: None,
    };
    assert_eq!(realm.scope(), "openid beneapi");
}
