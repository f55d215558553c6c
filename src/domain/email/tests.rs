//! Unit tests of `email`.

use super::*;

fn key(raw: &str) -> String {
    RegistrationEmail::parse(raw)
        .unwrap()
        .uniqueness_key()
        .to_owned()
}

#[test]
fn one_person_is_one_address_whatever_the_case_or_normal_form() {
    let plain = key("jose@example.com");
    assert_eq!(key("JOSE@Example.COM"), plain);
    // é composed (NFC) and decomposed (NFD) are one address.
    assert_eq!(key("jos\u{e9}@example.com"), key("jose\u{301}@example.com"));
    assert_eq!(
        RegistrationEmail::parse("JOS\u{c9}@example.com")
            .unwrap()
            .as_str(),
        "jos\u{e9}@example.com"
    );
    // Full case folding: ß and SS.
    assert_eq!(key("STRASSE@example.com"), key("stra\u{df}e@example.com"));
    // Internationalised addresses in one script stay allowed.
    assert!(RegistrationEmail::parse("юлия@пример.рф").is_ok());
}

#[test]
fn a_trailing_dot_an_a_label_or_quotes_make_no_second_address() {
    assert_eq!(key("zoe@example.com."), key("zoe@example.com"));
    assert_eq!(key("zoe@xn--bcher-kva.example"), key("zoe@bücher.example"));
    assert_eq!(
        RegistrationEmail::parse("zoe@XN--BCHER-KVA.example")
            .unwrap()
            .as_str(),
        "zoe@bücher.example"
    );
    assert_eq!(
        RegistrationEmail::parse("\"zoe\"@example.com"),
        Err(EmailProblem::Malformed)
    );
    // Found by the link_target fuzz target: more than one trailing dot.
    for raw in [
        "zoe@example.com..",
        ",zvi2a@XOLE%0a...",
        "zoe@.example.com",
        "zoe@.",
    ] {
        if let Ok(email) = RegistrationEmail::parse(raw) {
            let again = RegistrationEmail::parse(email.as_str()).unwrap();
            assert_eq!(again.as_str(), email.as_str(), "{raw}");
        }
    }
    assert_eq!(
        RegistrationEmail::parse("zoe@example.com.."),
        Err(EmailProblem::Malformed)
    );
}

#[test]
fn look_alikes_are_refused() {
    for bad in [
        "\u{ff41}lice@example.com",  // fullwidth a
        "\u{430}lice@example.com",   // Cyrillic a among Latin letters
        "al\u{200b}ice@example.com", // zero-width space
        "alice@exam\u{fb01}le.com",  // ligature fi
    ] {
        assert_eq!(
            RegistrationEmail::parse(bad),
            Err(EmailProblem::LookAlike),
            "{bad:?}"
        );
    }
    assert_eq!(
        RegistrationEmail::parse("no-at-sign"),
        Err(EmailProblem::Malformed)
    );
}
