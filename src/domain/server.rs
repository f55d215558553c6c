//! The service's own settings as validated types: its public URL (from which the
//! redirect URIs are built) and the limits that protect it.

use std::time::Duration;

use url::Url;

use super::origin::is_loopback;

/// The broker's public base URL (no trailing slash); `/authproxy` hangs off it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl(String);

impl PublicUrl {
    /// Parses the public URL: http(s), no query or fragment.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let url = Url::parse(raw).map_err(|e| format!("not a URL ({e})"))?;
        let host = url.host_str().unwrap_or_default();
        let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && is_loopback(host));
        if !scheme_ok {
            return Err("must use https (http only for localhost, 127.0.0.1 or [::1])".into());
        }
        if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
            return Err("must not have a query, fragment or user name".into());
        }
        Ok(Self(url.as_str().trim_end_matches('/').to_owned()))
    }

    #[must_use]
    /// The URL, without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    #[must_use]
    /// Whether the broker is reached over HTTPS (so cookies are `Secure`).
    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }

    /// The origin (`scheme://host[:port]`) pages of the broker are served from.
    #[must_use]
    pub fn origin(&self) -> String {
        Url::parse(&self.0).map_or_else(|_| self.0.clone(), |u| u.origin().ascii_serialization())
    }

    /// The admin console's client ID at its realm: the broker's own host name
    /// (with its port), as every web app's client ID is its FQDN.
    #[must_use]
    pub fn console_client_id(&self) -> String {
        Url::parse(&self.0).ok().map_or_else(String::new, |u| {
            let host = u.host_str().unwrap_or_default().to_owned();
            u.port()
                .map_or(host.clone(), |port| format!("{host}:{port}"))
        })
    }

    /// The admin console's redirect URI, exactly as registered at its realm.
    #[must_use]
    pub fn console_callback_url(&self) -> String {
        format!("{}/admin/callback", self.0)
    }

    /// The redirect URI of broker mode, exactly as registered at the realm.
    #[must_use]
    pub fn callback_url(&self) -> String {
        format!("{}/authproxy", self.0)
    }
}

/// Limits that protect the server.
#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    /// Discovery and `/login` requests per client address and minute.
    pub per_ip_per_minute: u32,
    /// Burst above that rate.
    pub per_ip_burst: u32,
    /// The longest a client may take to send its request headers.
    pub header_read_timeout: Duration,
    /// Requests handled at once (long polls apart).
    pub max_concurrent_requests: usize,
    /// Long polls parked at once per client address.
    pub max_waits_per_ip: usize,
    /// Long polls parked at once overall.
    pub max_waits: usize,
}

/// Which header a trusted proxy writes the client's address into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (nginx, HAProxy, most load balancers).
    #[default]
    XForwardedFor,
    /// `Forwarded: for=client, for=proxy1` (RFC 7239).
    Forwarded,
}

/// The proxies whose forwarded headers are believed. Empty (the default): no
/// forwarded header is read and the TCP peer is the client.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    nets: Vec<ipnet::IpNet>,
    header: ForwardedHeader,
}

impl TrustedProxies {
    /// Parses CIDRs (`10.0.0.0/8`, `fd00::/8`) or single addresses.
    pub fn parse(entries: &[String], header: ForwardedHeader) -> Result<Self, String> {
        let mut nets = Vec::with_capacity(entries.len());
        for entry in entries {
            let entry = entry.trim();
            let net = entry
                .parse::<ipnet::IpNet>()
                .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    format!("`{entry}` is not an address or CIDR such as 10.0.0.0/8 or fd00::/8")
                })?;
            nets.push(net.trunc());
        }
        Ok(Self { nets, header })
    }

    #[must_use]
    /// Whether `ip` is one of the trusted proxies.
    pub fn trusts(&self, ip: std::net::IpAddr) -> bool {
        let ip = canonical(ip);
        self.nets.iter().any(|net| net.contains(&ip))
    }

    #[must_use]
    /// Whether any proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }

    #[must_use]
    /// The header read from trusted proxies.
    pub fn header(&self) -> ForwardedHeader {
        self.header
    }

    /// The client's address: the TCP `peer` unless it is trusted; then the
    /// forwarded hops (`hops`, in the order written, client first) read from
    /// the right, skipping trusted proxies: the first untrusted hop is the
    /// client. A hop that is not an address (`unknown`, an obfuscated name)
    /// ends the walk at the last address known.
    #[must_use]
    pub fn client<'a>(
        &self,
        peer: std::net::IpAddr,
        hops: impl DoubleEndedIterator<Item = &'a str>,
    ) -> std::net::IpAddr {
        let mut client = canonical(peer);
        if !self.trusts(client) {
            return client;
        }
        for hop in hops.rev() {
            let Some(ip) = parse_hop(hop) else {
                return client;
            };
            client = ip;
            if !self.trusts(ip) {
                return ip;
            }
        }
        client
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
fn canonical(ip: std::net::IpAddr) -> std::net::IpAddr {
    match ip {
        std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, std::net::IpAddr::V4),
        std::net::IpAddr::V4(_) => ip,
    }
}

/// One hop: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]:443`,
/// optionally quoted (RFC 7239's `for="[2001:db8::1]:443"`).
fn parse_hop(hop: &str) -> Option<std::net::IpAddr> {
    let hop = hop.trim().trim_matches('"');
    if let Ok(ip) = hop.parse::<std::net::IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(addr) = hop.parse::<std::net::SocketAddr>() {
        return Some(canonical(addr.ip()));
    }
    let bracketed = hop.strip_prefix('[')?.split(']').next()?;
    bracketed.parse::<std::net::IpAddr>().ok().map(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(nets: &[&str]) -> TrustedProxies {
        let nets: Vec<String> = nets.iter().map(|s| (*s).to_owned()).collect();
        TrustedProxies::parse(&nets, ForwardedHeader::XForwardedFor).unwrap()
    }

    fn ip(s: &str) -> std::net::IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let p = proxies(&["10.0.0.0/8"]);
        assert_eq!(
            p.client(ip("192.0.2.9"), ["203.0.113.5"].into_iter()),
            ip("192.0.2.9")
        );
        assert_eq!(
            proxies(&[]).client(ip("127.0.0.1"), ["203.0.113.5"].into_iter()),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn hops_are_read_from_the_right_and_the_first_untrusted_one_wins() {
        let p = proxies(&["10.0.0.0/8", "127.0.0.1"]);
        // The client forged the first entry; the proxies appended the rest.
        let hops = ["6.6.6.6", "198.51.100.7", "10.1.2.3"];
        assert_eq!(
            p.client(ip("127.0.0.1"), hops.into_iter()),
            ip("198.51.100.7")
        );
        // Every hop trusted: the leftmost.
        assert_eq!(
            p.client(ip("127.0.0.1"), ["10.9.9.9"].into_iter()),
            ip("10.9.9.9")
        );
        // No header: the peer.
        assert_eq!(
            p.client(ip("127.0.0.1"), std::iter::empty()),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn hops_with_ports_brackets_quotes_and_mapped_addresses_parse() {
        let p = proxies(&["::1", "127.0.0.0/8"]);
        assert_eq!(
            p.client(ip("::1"), ["\"[2001:db8::1]:443\""].into_iter()),
            ip("2001:db8::1")
        );
        assert_eq!(
            p.client(ip("::ffff:127.0.0.1"), ["192.0.2.1:9000"].into_iter()),
            ip("192.0.2.1")
        );
        // `unknown` stops the walk at the last address known.
        assert_eq!(
            p.client(
                ip("::1"),
                ["203.0.113.1", "unknown", "127.0.0.2"].into_iter()
            ),
            ip("127.0.0.2")
        );
    }

    #[test]
    fn bad_entries_are_refused_with_the_entry() {
        let err =
            TrustedProxies::parse(&["10.0.0.0/33".into()], ForwardedHeader::Forwarded).unwrap_err();
        assert!(err.contains("10.0.0.0/33"), "{err}");
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Which requests get an access line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessLog {
    /// None (refusals and failures are still summarised).
    Off,
    /// One in `access_sample`.
    #[default]
    Sampled,
    /// Every request.
    On,
}

/// What the service logs, validated.
#[derive(Debug, Clone)]
pub struct LogSettings {
    /// Text or JSON.
    pub format: LogFormat,
    /// Access lines.
    pub access: AccessLog,
    /// One in this many requests with `AccessLog::Sampled`.
    pub access_sample: u32,
    /// The interval over which repeated refusals are counted, not logged.
    pub summary_interval: Duration,
    /// The level filter.
    pub level: String,
}

/// OpenTelemetry export, validated.
#[derive(Debug, Clone)]
pub struct TracingSettings {
    /// The OTLP/HTTP traces URL.
    pub otlp_endpoint: Url,
    /// `service.name`.
    pub service_name: String,
    /// The share of new traces recorded.
    pub sample_ratio: f64,
}
