//! Unit tests of `session_token`.

use super::*;

#[test]
fn the_claims_read_back_as_written() {
    let at = |s| DateTime::from_timestamp(s, 0).unwrap();
    let claims = SessionClaims {
        iss: "https://broker.example".into(),
        aud: ClientId::parse("app.example").unwrap(),
        sub: "u1".into(),
        tenant: TenantId::parse("acme").unwrap(),
        sid: "s1".into(),
        iat: at(1_000),
        exp: at(1_600),
        session_iat: at(900),
        session_exp: at(9_000),
        realm_user: "r1".into(),
        act: Some(Actor {
            sub: TenantId::parse("parent").unwrap(),
        }),
        resource: None,
        resource_specific: None,
        role: Some(Role::Presenter),
        registration: None,
        slot: Some("slot".into()),
        profile: Profile {
            name: Some("Ada".into()),
            email: None,
            email_verified: false,
            picture: None,
        },
    };
    let map = claims.to_map();
    assert_eq!(map["exp"], 1_600);
    assert_eq!(map["act"]["sub"], "parent");
    assert_eq!(map["role"], "presenter");
    assert_eq!(map["name"], "Ada");
    assert!(!map.contains_key("resource") && !map.contains_key("resource_specific"));
    let back = SessionClaims::from_map(map).unwrap();
    assert_eq!(back.session_exp, at(9_000));
    assert_eq!(back.act, claims.act);
    assert_eq!(back.profile, claims.profile);
    // With a resource, the token says whether it serves that one only.
    let with_resource = SessionClaims {
        resource: serde_json::from_value(serde_json::json!({"type": "event", "id": "ev-1"})).ok(),
        resource_specific: Some(false),
        ..claims.clone()
    };
    assert_eq!(with_resource.to_map()["resource_specific"], false);
    let mut missing = claims.to_map();
    missing.remove("sid");
    assert!(SessionClaims::from_map(missing).is_none());
}
