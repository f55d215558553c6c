//! The service's own settings as validated types: its public URL (from which the
//! redirect URIs are built) and the limits that protect it.

use std::time::Duration;

use url::Url;

use super::origin::is_loopback;

/// The broker's public base URL (no trailing slash); `/authproxy` hangs off it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl(String);

impl PublicUrl {
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
    pub fn as_str(&self) -> &str {
        &self.0
    }

    #[must_use]
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
    pub per_ip_per_minute: u32,
    pub per_ip_burst: u32,
    pub header_read_timeout: Duration,
    pub max_concurrent_requests: usize,
    pub max_waits_per_ip: usize,
    pub max_waits: usize,
}
