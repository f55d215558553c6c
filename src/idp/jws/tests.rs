//! Unit tests of `jws`.

use super::*;

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

fn token(header: &Value, claims: &Value) -> String {
    format!("{}.{}.c2ln", b64(header), b64(claims))
}

#[test]
fn only_well_formed_id_token_headers_and_claims_pass() {
    let now = DateTime::from_timestamp(1_000_000, 0).unwrap();
    let skew = TimeDelta::seconds(60);
    let good = token(
        &serde_json::json!({"alg": "RS256", "typ": "JWT"}),
        &serde_json::json!({"azp": "c"}),
    );
    assert_eq!(precheck_id_token(&good, "c", now, skew), Ok(()));
    let cases = [
        (
            serde_json::json!({"alg": "RS256", "zip": "DEF"}),
            serde_json::json!({}),
        ),
        (
            serde_json::json!({"alg": "RS256", "typ": "at+jwt"}),
            serde_json::json!({}),
        ),
        (
            serde_json::json!({"alg": "RS256"}),
            serde_json::json!({"nbf": 1_000_061}),
        ),
        (
            serde_json::json!({"alg": "RS256"}),
            serde_json::json!({"azp": "other"}),
        ),
        (
            serde_json::json!({"alg": "RS256", "crit": ["x"]}),
            serde_json::json!({}),
        ),
    ];
    for (header, claims) in cases {
        assert!(
            precheck_id_token(&token(&header, &claims), "c", now, skew).is_err(),
            "{header} {claims}"
        );
    }
    let at_skew = token(
        &serde_json::json!({"alg": "RS256"}),
        &serde_json::json!({"nbf": 1_000_060}),
    );
    assert_eq!(precheck_id_token(&at_skew, "c", now, skew), Ok(()));
    // "c2k" and "c2l" both decode to "si": the second has stray trailing bits.
    let canonical = good.replace(".c2ln", ".c2k");
    assert_eq!(precheck_id_token(&canonical, "c", now, skew), Ok(()));
    let trailing = good.replace(".c2ln", ".c2l");
    assert_eq!(
        precheck_id_token(&trailing, "c", now, skew),
        Err(JwsProblem::Encoding)
    );
    assert_eq!(
        precheck_id_token(&format!("{good}="), "c", now, skew),
        Err(JwsProblem::Encoding)
    );
}

#[test]
fn rsa_keys_under_2048_bits_are_dropped() {
    let n = |bytes: usize| URL_SAFE_NO_PAD.encode(vec![0xffu8; bytes]);
    let mut jwks = serde_json::json!({"keys": [
        {"kty": "RSA", "kid": "short", "n": n(128), "e": "AQAB"},
        {"kty": "RSA", "kid": "ok", "n": n(256), "e": "AQAB"},
        {"kty": "EC", "kid": "ec"},
    ]});
    assert_eq!(drop_weak_keys(&mut jwks), 1);
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, ["ok", "ec"]);
}
