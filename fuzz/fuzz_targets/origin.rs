//! Registered origins and client IDs. Whatever the bytes, parsing never panics;
//! an accepted origin is exactly its canonical form, https (http only on
//! loopback), with no userinfo, path, query, fragment or wildcard; an accepted
//! client ID is a host (and port) whose host makes such an origin as it is.
#![no_main]

use authproxy::domain::{ClientId, Origin};
use libfuzzer_sys::fuzz_target;

const LOOPBACK: [&str; 3] = ["http://localhost", "http://127.0.0.1", "http://[::1]"];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(origin) = Origin::parse(text) {
        let origin = origin.as_str();
        assert_eq!(origin, text, "only the canonical form is accepted");
        assert!(origin.is_ascii(), "host names arrive in punycode");
        assert!(!origin.contains(['@', '*', '?', '#', '\\', ' ']));
        assert_eq!(origin.matches('/').count(), 2, "no path");
        assert!(
            origin.starts_with("https://")
                || LOOPBACK
                    .iter()
                    .any(|l| origin == *l || origin.starts_with(&format!("{l}:"))),
            "https, or http on loopback: {origin}"
        );
    }
    if let Ok(client_id) = ClientId::parse(text) {
        assert_eq!(client_id.as_str(), text);
        let host = text.rsplit_once(':').map_or(text, |(host, _)| host);
        let origin = format!("https://{host}");
        assert!(
            Origin::parse(&origin).is_ok(),
            "client ID {text} does not make the origin {origin}"
        );
    }
});
