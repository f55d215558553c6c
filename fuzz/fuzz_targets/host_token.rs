//! The strict reading of inbound JWS (host tokens, and identity platforms'
//! tokens). Whatever the bytes, reading never panics; a token that passes is at
//! most 8 KiB, is not `alg: none`, and its claims are a JSON object read again
//! identically; a host token names a `kid`.
#![no_main]

use authproxy::auth::jwt::{MAX_TOKEN_BYTES, parse, parse_issued, strict_object};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The claims part on its own: strict JSON objects never panic either.
    let _ = strict_object(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(issued) = parse_issued(text) {
        assert!(text.len() <= MAX_TOKEN_BYTES);
        assert!(!issued.alg.eq_ignore_ascii_case("none"));
        assert!(text.starts_with(issued.signing_input));
    }
    let Ok(parsed) = parse(text, "authproxy-host+jwt") else {
        return;
    };
    assert!(!parsed.kid.is_empty());
    assert!(text.len() <= MAX_TOKEN_BYTES);
    assert!(!parsed.alg.eq_ignore_ascii_case("none"));
    assert!(text.starts_with(parsed.signing_input));
    let again = serde_json::to_vec(&parsed.claims).unwrap();
    assert_eq!(strict_object(&again).unwrap(), parsed.claims);
});
