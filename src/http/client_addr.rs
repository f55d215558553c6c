//! The client's address of every request: the TCP peer, or, when the peer is a
//! trusted proxy (`server.trusted_proxies`), the first untrusted hop of the
//! forwarded header read from the right. Rate limits, long-poll places, logs and
//! audit rows all use this one address; a forwarded header from anyone else is
//! ignored, so it cannot buy a fresh rate-limit bucket.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request};
use axum::http::HeaderMap;

use crate::domain::{ForwardedHeader, TrustedProxies};

/// The effective client address of a request (a request extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// The hops a header lists, client first, over every instance of the header.
fn hops(headers: &HeaderMap, kind: ForwardedHeader) -> Vec<&str> {
    let name = match kind {
        ForwardedHeader::XForwardedFor => "x-forwarded-for",
        ForwardedHeader::Forwarded => "forwarded",
    };
    let mut hops = Vec::new();
    for value in headers.get_all(name) {
        // A header that is not text is no address: it stops the walk.
        let Ok(value) = value.to_str() else {
            hops.push("");
            continue;
        };
        for element in value.split(',') {
            match kind {
                ForwardedHeader::XForwardedFor => hops.push(element.trim()),
                ForwardedHeader::Forwarded => {
                    // `for=...;proto=https;by=...`: only `for` names a hop.
                    let node = element.split(';').find_map(|pair| {
                        let (key, value) = pair.split_once('=')?;
                        key.trim()
                            .eq_ignore_ascii_case("for")
                            .then_some(value.trim())
                    });
                    hops.push(node.unwrap_or(""));
                }
            }
        }
    }
    hops
}

/// The client address of a request from `peer` with `headers`.
#[must_use]
pub fn resolve(proxies: &TrustedProxies, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
    if !proxies.trusts(peer) {
        return proxies.client(peer, std::iter::empty());
    }
    proxies.client(peer, hops(headers, proxies.header()).into_iter())
}

/// Puts the [`ClientAddr`] on the request.
pub fn mark(proxies: &TrustedProxies, request: &mut Request) {
    if let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>() {
        let client = resolve(proxies, peer.ip(), request.headers());
        request.extensions_mut().insert(ClientAddr(client));
    }
}

#[cfg(test)]
mod tests;
