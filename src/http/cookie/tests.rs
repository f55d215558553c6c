//! Unit tests of `cookie`.

use super::*;

#[test]
fn the_cookie_is_named_after_the_state_and_read_back_exactly() {
    let cookie = BindingCookie::for_state("s1", true);
    assert!(cookie.name().starts_with("__Host-authproxy-login-"));
    assert_ne!(cookie.name(), BindingCookie::for_state("s2", true).name());
    let set = cookie.set("v", 600).unwrap();
    let set = set.to_str().unwrap();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Secure"));
    let mut headers = HeaderMap::new();
    let pair = format!("other=x; {}=v", cookie.name());
    headers.insert(header::COOKIE, HeaderValue::from_str(&pair).unwrap());
    assert_eq!(cookie.read(&headers), Some("v"));
    assert!(
        !BindingCookie::for_state("s1", false)
            .name()
            .starts_with("__Host-")
    );
}
