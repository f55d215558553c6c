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
