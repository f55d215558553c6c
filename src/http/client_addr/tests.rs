//! Unit tests of `client_addr`.

use super::*;

fn headers(name: &'static str, values: &[&'static str]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for v in values {
        map.append(name, v.parse().unwrap());
    }
    map
}

#[test]
fn forwarded_header_elements_are_read_for_their_for_parameter() {
    let proxies = TrustedProxies::parse(&["127.0.0.1".into()], ForwardedHeader::Forwarded).unwrap();
    let h = headers(
        "forwarded",
        &[
            "for=6.6.6.6",
            "for=\"[2001:db8::7]:80\";proto=https, proto=http;for=127.0.0.1",
        ],
    );
    assert_eq!(
        resolve(&proxies, "127.0.0.1".parse().unwrap(), &h),
        "2001:db8::7".parse::<IpAddr>().unwrap()
    );
    // X-Forwarded-For is not read when Forwarded is the configured header.
    let h = headers("x-forwarded-for", &["203.0.113.1"]);
    assert_eq!(
        resolve(&proxies, "127.0.0.1".parse().unwrap(), &h),
        "127.0.0.1".parse::<IpAddr>().unwrap()
    );
}

#[test]
fn several_x_forwarded_for_headers_are_one_list() {
    let proxies =
        TrustedProxies::parse(&["127.0.0.1".into()], ForwardedHeader::XForwardedFor).unwrap();
    let h = headers("x-forwarded-for", &["6.6.6.6, 198.51.100.1", "127.0.0.1"]);
    assert_eq!(
        resolve(&proxies, "127.0.0.1".parse().unwrap(), &h),
        "198.51.100.1".parse::<IpAddr>().unwrap()
    );
}
