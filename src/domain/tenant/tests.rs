//! Unit tests of `tenant`.

use super::*;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::domain::host_key::{KeyAlgorithm, VerifyingKey};

#[test]
fn public_jwks_of_the_two_curves_are_read_and_private_ones_refused() {
    let private = crate::crypto::jws::generate_p256().unwrap();
    let (x, y) = crate::crypto::jws::p256_public(&private).unwrap();
    let ec = serde_json::json!({"kty":"EC","crv":"P-256",
        "x":URL_SAFE_NO_PAD.encode(x),"y":URL_SAFE_NO_PAD.encode(y)});
    let mut off_curve = ec.clone();
    off_curve["y"] = URL_SAFE_NO_PAD.encode([2u8; 32]).into();
    assert!(VerifyingKey::from_public_jwk(&off_curve).is_err());
    let (key, alg) = VerifyingKey::from_public_jwk(&ec).unwrap();
    assert_eq!(alg, KeyAlgorithm::Es256);
    assert_eq!(key.public_jwk().unwrap()["x"], ec["x"]);
    let mut private = ec.clone();
    private["d"] = "AAAA".into();
    assert!(VerifyingKey::from_public_jwk(&private).is_err());
    let mut wrong_alg = ec;
    wrong_alg["alg"] = "HS256".into();
    assert!(VerifyingKey::from_public_jwk(&wrong_alg).is_err());
    // RFC 8032 §7.1, test 1.
    let rfc8032 = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    let okp_x: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&rfc8032[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let okp = serde_json::json!({"kty":"OKP","crv":"Ed25519","x":URL_SAFE_NO_PAD.encode(&okp_x)});
    assert_eq!(
        VerifyingKey::from_public_jwk(&okp).unwrap().1,
        KeyAlgorithm::EdDsa
    );
    // The identity point, a point of order 2, and the identity encoded
    // non-canonically (y = 1 + p) sign anything: refused.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let mut order_two = [0xffu8; 32];
    order_two[0] = 0xec;
    order_two[31] = 0x7f;
    let mut non_canonical = [0xffu8; 32];
    non_canonical[0] = 0xee;
    non_canonical[31] = 0x7f;
    for x in [identity, order_two, non_canonical] {
        let weak = serde_json::json!({"kty":"OKP","crv":"Ed25519","x":URL_SAFE_NO_PAD.encode(x)});
        assert!(VerifyingKey::from_public_jwk(&weak).is_err(), "{weak}");
    }
    let rsa = serde_json::json!({"kty":"RSA","n":"AQAB","e":"AQAB"});
    assert!(VerifyingKey::from_public_jwk(&rsa).is_err());
}

#[test]
fn a_sub_tenant_grant_needs_a_parent() {
    let tenant = Tenant {
        id: TenantId::parse("acme").unwrap(),
        environment: Environment::Sandbox,
        parent: None,
        parent_may_act: true,
        realm: RealmName::parse("tenant-a").unwrap(),
        clients: vec![],
        provisioning: Provisioning::Create,
        max_session_secs: 60,
        allow_hs256: false,
        hosts_vouch_for_emails: false,
        jwks_url: Some("http://evil.example/jwks".into()),
        assertion_grant_idp: None,
        sso: crate::domain::SsoSettings::default(),
        embeds: EmbedSettings {
            app_url: Some("https://app.example/#x".into()),
            ..EmbedSettings::default()
        },
    };
    let paths: Vec<_> = tenant.problems().into_iter().map(|p| p.path).collect();
    assert_eq!(
        paths,
        [
            "clients",
            "parent_may_act",
            "jwks_url",
            "embeds.app_url",
            "max_session_secs"
        ]
    );
}
