//! Unit tests of `jwt`.

use super::*;

fn token(header: &str, claims: &str) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims),
        URL_SAFE_NO_PAD.encode([0u8; 64])
    )
}

#[test]
fn duplicate_keys_are_refused_at_any_depth() {
    assert_eq!(
        strict_object(br#"{"a":1,"a":2}"#),
        Err(ShapeProblem::DuplicateKey)
    );
    assert_eq!(
        strict_object(br#"{"a":{"b":1,"b":1}}"#),
        Err(ShapeProblem::DuplicateKey)
    );
    assert_eq!(
        strict_object(br#"{"a":[{"b":1,"b":1}]}"#),
        Err(ShapeProblem::DuplicateKey)
    );
    assert!(strict_object(br#"{"a":1,"b":[1,{"c":true}]}"#).is_ok());
    assert_eq!(strict_object(b"[1]"), Err(ShapeProblem::Malformed));
}

#[test]
fn the_header_is_alg_kid_and_typ_only() {
    let claims = r#"{"sub":"x"}"#;
    let typ = "authproxy-host+jwt";
    let ok = token(
        r#"{"alg":"ES256","kid":"k1","typ":"authproxy-host+jwt"}"#,
        claims,
    );
    assert_eq!(parse(&ok, typ).unwrap().kid, "k1");
    for (header, problem) in [
        (
            r#"{"alg":"none","kid":"k1","typ":"authproxy-host+jwt"}"#,
            ShapeProblem::AlgNone,
        ),
        (r#"{"alg":"ES256","kid":"k1"}"#, ShapeProblem::WrongType),
        (
            r#"{"alg":"ES256","kid":"k1","typ":"JWT"}"#,
            ShapeProblem::WrongType,
        ),
        (
            r#"{"alg":"ES256","typ":"authproxy-host+jwt"}"#,
            ShapeProblem::NoKid,
        ),
        (
            r#"{"alg":"ES256","kid":"k1","typ":"authproxy-host+jwt","jku":"https://evil"}"#,
            ShapeProblem::HeaderNotAllowed("jku".into()),
        ),
        (
            r#"{"alg":"ES256","kid":"k1","typ":"authproxy-host+jwt","jwk":{}}"#,
            ShapeProblem::HeaderNotAllowed("jwk".into()),
        ),
    ] {
        assert_eq!(
            parse(&token(header, claims), typ).unwrap_err(),
            problem,
            "{header}"
        );
    }
    let padded = format!("{ok}=");
    assert_eq!(parse(&padded, typ).unwrap_err(), ShapeProblem::Malformed);
    let large = token(
        r#"{"alg":"ES256","kid":"k1","typ":"authproxy-host+jwt"}"#,
        &format!(r#"{{"pad":"{}"}}"#, "x".repeat(9 * 1024)),
    );
    assert_eq!(parse(&large, typ).unwrap_err(), ShapeProblem::TooLarge);
}

#[test]
fn a_numeric_date_is_whole_seconds_or_refused_by_name() {
    let claims: Map<String, Value> =
        serde_json::from_str(r#"{"exp": 1700000000, "iat": "1700000000", "nbf": 1.5}"#).unwrap();
    assert_eq!(
        numeric_date(&claims, "exp").unwrap().map(|t| t.timestamp()),
        Some(1_700_000_000)
    );
    assert_eq!(numeric_date(&claims, "iat"), Err("iat"));
    assert_eq!(numeric_date(&claims, "nbf"), Err("nbf"));
    assert_eq!(numeric_date(&claims, "absent"), Ok(None));
}
