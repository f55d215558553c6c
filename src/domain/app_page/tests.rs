//! Unit tests of `app_page`.

use super::*;

#[test]
fn link_paths_refuse_every_form_of_another_host() {
    for good in ["/", "/calls", "/calls/today?tab=1", "/a-b_c.d/e"] {
        assert!(LinkPath::parse(good).is_ok(), "{good}");
    }
    for bad in [
        "//evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "/%2f%2fevil.example",
        "/%5Cevil.example",
        "/%2e%2e/x",
        "/../x",
        " /x",
        "/x y",
        "/\tevil",
        "https://evil.example",
        "evil.example",
        "/x#y",
        "/@evil.example",
        "/%252f",
        "",
    ] {
        assert!(LinkPath::parse(bad).is_err(), "{bad:?}");
    }
}
