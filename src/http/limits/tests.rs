//! Unit tests of `limits`.

use super::*;

#[test]
fn an_address_key_is_the_address_as_text_up_to_the_longest() {
    for ip in [
        "198.51.100.7",
        "255.255.255.255",
        "::1",
        "::ffff:255.255.255.255",
        "2001:db8::8a2e:370:7334",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    ] {
        let ip: IpAddr = ip.parse().unwrap();
        let mut buffer = [0; LONGEST_ADDRESS];
        assert_eq!(address_text(ip, &mut buffer), ip.to_string());
    }
}
