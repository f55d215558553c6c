//! Unit tests of `sso`.

use super::*;

fn settings(kind: &serde_json::Value) -> SsoSettings {
    serde_json::from_value(serde_json::json!({
        "host_origin": "https://news.example",
        "providers": [kind],
    }))
    .unwrap()
}

#[test]
fn each_kind_validates_its_fields() {
    let good = [
        serde_json::json!({"name": "auth0", "kind": "auth0", "domain": "acme.eu.auth0.com", "audience": "abc"}),
        serde_json::json!({"name": "gigya", "kind": "gigya", "api_key": "3_abc-DEF", "data_center": "eu1"}),
        serde_json::json!({"name": "piano", "kind": "piano", "application_id": "AbC123"}),
        serde_json::json!({"name": "oidc", "kind": "oidc", "issuer": "https://login.example/realms/x", "audience": "app",
            "base_url": "http://127.0.0.1:9000/x"}),
    ];
    for kind in good {
        assert_eq!(settings(&kind).problems(), vec![], "{kind}");
    }
    let bad = [
        (
            serde_json::json!({"name": "a", "kind": "auth0", "domain": "https://acme.auth0.com/", "audience": "abc"}),
            "sso.providers[0].domain",
        ),
        (
            serde_json::json!({"name": "g", "kind": "gigya", "api_key": "k", "data_center": "mars1"}),
            "sso.providers[0].data_center",
        ),
        (
            serde_json::json!({"name": "p", "kind": "piano", "application_id": "a b"}),
            "sso.providers[0].application_id",
        ),
        (
            serde_json::json!({"name": "o", "kind": "oidc", "issuer": "http://idp.example", "audience": "app"}),
            "sso.providers[0].issuer",
        ),
        (
            serde_json::json!({"name": "o", "kind": "oidc", "issuer": "https://idp.example", "audience": "app", "base_url": "https://x.example/?q"}),
            "sso.providers[0].base_url",
        ),
    ];
    for (kind, path) in bad {
        let problems = settings(&kind).problems();
        assert_eq!(problems.len(), 1, "{kind}: {problems:?}");
        assert_eq!(problems[0].path, path);
    }
    let mut twice = settings(&good_auth0());
    twice.providers.push(twice.providers[0].clone());
    assert_eq!(twice.problems()[0].path, "sso.providers[1].name");
    let mut no_origin = settings(&good_auth0());
    no_origin.host_origin = None;
    assert_eq!(no_origin.problems()[0].path, "sso.host_origin");
    assert!(
        serde_json::from_value::<SsoProvider>(serde_json::json!({"name": "x", "kind": "okta"}))
            .is_err()
    );
    let mut typo = good_auth0();
    typo["audiance"] = "abc".into();
    assert!(
        serde_json::from_value::<SsoProvider>(typo).is_err(),
        "a misspelt field is refused"
    );
}

#[test]
fn display_names_that_look_alike_share_a_key() {
    let key = display_name_key("Ada Lovelace");
    for same in [
        "ada lovelace",
        "ADA  LOVELACE",
        "Ａｄａ Lovelace",
        "Ada\u{200B} Lovelace",
        "\u{0410}da Lovelace",
    ] {
        assert_eq!(display_name_key(same), key, "{same}");
    }
    assert_ne!(display_name_key("Ada Byron"), key);
}

fn good_auth0() -> serde_json::Value {
    serde_json::json!({"name": "auth0", "kind": "auth0", "domain": "acme.eu.auth0.com", "audience": "abc"})
}
