//! Unit tests of `third_party`.

use super::*;

#[test]
fn issuers_are_exact_and_keys_are_where_each_platform_publishes_them() {
    let auth0 = ProviderKind::Auth0 {
        domain: "acme.eu.auth0.com".into(),
        audience: "c".into(),
        claim_namespace: None,
        base_url: None,
    };
    assert_eq!(
        expected_issuer(&auth0).unwrap(),
        "https://acme.eu.auth0.com/"
    );
    assert!(
        matches!(key_source(&auth0), KeySource::Jwks(u) if u == "https://acme.eu.auth0.com/.well-known/jwks.json")
    );
    let gigya = ProviderKind::Gigya {
        api_key: "3_k".into(),
        data_center: "eu1".into(),
        base_url: None,
    };
    assert_eq!(
        expected_issuer(&gigya).unwrap(),
        "https://fidm.gigya.com/jwt/3_k/"
    );
    assert!(matches!(key_source(&gigya), KeySource::Jwks(u)
        if u == "https://accounts.eu1.gigya.com/accounts.getJWTPublicKey?apiKey=3_k&V2=true"));
    assert_eq!(gigya_host("cn1"), "https://accounts.cn1.sapcdm.cn");
}

#[test]
fn several_audiences_need_azp_to_name_this_party_in_an_id_token() {
    let claims = |v: Value| v.as_object().unwrap().clone();
    let cases = [
        (serde_json::json!({"aud": "c"}), true, true),
        (serde_json::json!({"aud": "d"}), true, false),
        (
            serde_json::json!({"aud": ["c", "d"], "azp": "c"}),
            true,
            true,
        ),
        (
            serde_json::json!({"aud": ["c", "d"], "azp": "d"}),
            true,
            false,
        ),
        (
            serde_json::json!({"aud": ["c", "d"], "azp": "d"}),
            false,
            true,
        ),
        (serde_json::json!({"aud": ["c", "d"]}), true, false),
        (serde_json::json!({"aud": ["c", "d"]}), false, true),
        (serde_json::json!({"aud": ["d"]}), false, false),
        (serde_json::json!({}), false, false),
    ];
    for (token, azp_rule, expected) in cases {
        assert_eq!(
            audience_matches(&claims(token.clone()), "c", azp_rule),
            expected,
            "{token}"
        );
    }
}
