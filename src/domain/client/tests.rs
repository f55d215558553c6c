//! Unit tests of `client`.

use super::*;

#[test]
fn client_ids_are_hosts_with_optional_port() {
    for ok in [
        "crm.example.com",
        "localhost:8081",
        "a-b.example:443",
        "10.0.0.5:8443",
    ] {
        assert!(ClientId::parse(ok).is_ok(), "{ok}");
    }
    for bad in [
        "",
        "CRM.example.com",
        "crm.example.com:0",
        "crm.example.com:080",
        "crm.example.com:70000",
        "-a.example",
        "a..example",
        "https://crm.example.com",
        "crm.example.com/path",
        "*.example.com",
        "0",
        "1.2.3",
        "0x7f.1",
    ] {
        assert!(ClientId::parse(bad).is_err(), "{bad}");
    }
}
