//! Unit tests of `origin`.

use super::*;

#[test]
fn canonical_origins_are_accepted() {
    for ok in [
        "https://crm.example.com",
        "https://crm.example.com:8443",
        "http://localhost:8081",
        "http://127.0.0.1:3000",
    ] {
        assert_eq!(Origin::parse(ok).unwrap().as_str(), ok);
    }
}

#[test]
fn unsafe_or_sloppy_origins_are_rejected() {
    for bad in [
        "*",
        "https://*.a.example",
        "https://a.example/",
        "https://a.example/path",
        "https://user@a.example",
        "https://good@evil.example",
        "javascript:alert(1)",
        "data:text/html,x",
        "http://a.example",
        "https://A.example",
        "https://a.example:443",
        "https://a.example.",
        "https://a.example?x",
        "https://a.example#x",
        "//a.example",
        "a.example",
        "",
    ] {
        assert!(Origin::parse(bad).is_err(), "{bad:?} must be rejected");
    }
}
