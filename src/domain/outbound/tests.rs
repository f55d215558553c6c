//! Unit tests of `outbound`.

use super::*;

#[test]
fn cloud_metadata_and_private_ranges_are_never_fetched() {
    for raw in [
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.8/jwks.json",
        "https://172.20.1.1/",
        "https://192.168.1.1/",
        "https://100.64.0.1/",
        "https://0.0.0.0/",
        "https://[fe80::1]/",
        "https://[fd00::1]/",
        "https://[::ffff:169.254.169.254]/",
    ] {
        assert!(!is_fetchable(raw, true), "{raw}");
    }
}

#[test]
fn loopback_only_where_allowed_and_public_hosts_only_over_https() {
    assert!(is_fetchable("http://127.0.0.1:9/jwks", true));
    assert!(is_fetchable("http://localhost:9/jwks", true));
    assert!(!is_fetchable("http://127.0.0.1:9/jwks", false));
    assert!(!is_fetchable("https://[::1]/jwks", false));
    assert!(is_fetchable("https://login.example.com/jwks", false));
    assert!(!is_fetchable("http://login.example.com/jwks", true));
    assert!(!is_fetchable("https://user@login.example.com/jwks", false));
    assert!(is_fetchable("https://8.8.8.8/jwks", false));
}
