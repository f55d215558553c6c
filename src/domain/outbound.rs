//! Which URLs the broker may fetch when an administrator or a fetched document
//! names them (a tenant's `jwks_url`, a platform's `base_url`, a discovery
//! document's `jwks_uri`): one rule, so a URL from a document is held to the
//! same bar as one an administrator typed (docs/src/security/threat-model.md:
//! outbound URLs). https to a public host; http and https on loopback only where loopback
//! is allowed (development); never an address of another non-public range
//! (link-local such as cloud metadata at 169.254.169.254, private, CGNAT,
//! multicast, unspecified), which would turn an anonymous request into one to
//! the broker's own network.

use std::net::{Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// What kind of host a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKind {
    /// `localhost` or a loopback address.
    Loopback,
    /// An address of a range that is neither public nor loopback.
    NonPublic,
    /// A public address, or a name.
    Public,
}

fn v4_kind(ip: Ipv4Addr) -> HostKind {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        HostKind::Loopback
    } else if ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // CGNAT, RFC 6598
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking, RFC 2544
        || a >= 240
    {
        HostKind::NonPublic
    } else {
        HostKind::Public
    }
}

fn v6_kind(ip: Ipv6Addr) -> HostKind {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_kind(v4);
    }
    if ip.is_loopback() {
        HostKind::Loopback
    } else if ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_unique_local()
        || ip.is_unicast_link_local()
    {
        HostKind::NonPublic
    } else {
        HostKind::Public
    }
}

/// The kind of `url`'s host (a URL without a host is non-public).
#[must_use]
pub fn host_kind(url: &Url) -> HostKind {
    match url.host() {
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.');
            if name.eq_ignore_ascii_case("localhost") || name.ends_with(".localhost") {
                HostKind::Loopback
            } else {
                HostKind::Public
            }
        }
        Some(Host::Ipv4(ip)) => v4_kind(ip),
        Some(Host::Ipv6(ip)) => v6_kind(ip),
        None => HostKind::NonPublic,
    }
}

/// Whether the broker may fetch `raw`: https to a public host, or http/https on
/// loopback where `loopback` allows it; no user name, password or fragment.
#[must_use]
pub fn is_fetchable(raw: &str, loopback: bool) -> bool {
    Url::parse(raw).is_ok_and(|url| {
        let scheme_ok = match host_kind(&url) {
            HostKind::Public => url.scheme() == "https",
            HostKind::Loopback => loopback && matches!(url.scheme(), "https" | "http"),
            HostKind::NonPublic => false,
        };
        scheme_ok
            && url.username().is_empty()
            && url.password().is_none()
            && url.fragment().is_none()
    })
}

/// Whether `raw` names a loopback host (an administrator's explicit choice of a
/// development setup).
#[must_use]
pub fn is_loopback_url(raw: &str) -> bool {
    Url::parse(raw).is_ok_and(|url| host_kind(&url) == HostKind::Loopback)
}

#[cfg(test)]
mod tests;
