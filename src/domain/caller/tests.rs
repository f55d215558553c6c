//! Unit tests of `caller`.

use super::*;

fn policy() -> CallerPolicy {
    CallerPolicy {
        realms: vec![RealmName::parse("tenant-a").unwrap()],
        all_users_of: vec![],
        domains: vec!["corp.test".into()],
        users: vec!["alice@tenant-a.test".into()],
        audiences: vec!["webphone".into()],
        max_lifetime_secs: 300,
        rate_per_minute: 60,
        burst: 5,
    }
}

#[test]
fn policy_denies_by_default_and_allows_what_it_names() {
    let p = policy();
    let a = RealmName::parse("tenant-a").unwrap();
    let b = RealmName::parse("tenant-b").unwrap();
    let alice = Username::parse("alice@tenant-a.test").unwrap();
    let carol = Username::parse("carol@corp.test").unwrap();
    let mallory = Username::parse("mallory@tenant-a.test").unwrap();
    assert_eq!(p.allows(&alice, &a, None), Ok(()));
    assert_eq!(p.allows(&carol, &a, Some("webphone")), Ok(()));
    assert_eq!(p.allows(&mallory, &a, None), Err(Denial::User));
    assert_eq!(p.allows(&alice, &b, None), Err(Denial::Realm(b)));
    assert_eq!(
        p.allows(&alice, &a, Some("admin-api")),
        Err(Denial::Audience)
    );
    assert!(p.allows_lifetime(300).is_ok() && p.allows_lifetime(301).is_err());
}

#[test]
fn all_users_of_a_realm_must_be_within_its_realms() {
    let mut p = policy();
    p.all_users_of = vec![RealmName::parse("tenant-b").unwrap()];
    assert_eq!(p.problems()[0].path, "all_users_of[0]");
}
