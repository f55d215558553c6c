//! The connection test of a provider an administrator runs from the console or
//! the CLI: its key set (or Piano's API) reachable, what it answered, nothing
//! verified for a user.

use super::{Checked, KeySource, PlatformVerifier, key_source};
use crate::domain::SsoProvider;

impl PlatformVerifier<'_> {
    /// Checks that the provider can be used: its keys (or discovery) are
    /// reachable and hold keys; for Piano, its secrets are set and the API
    /// accepts the API token. The answer says what was found, or what is wrong.
    pub async fn test_connection(&self, provider: &SsoProvider) -> Result<String, String> {
        match key_source(&provider.kind) {
            KeySource::Jwks(url) => self.key_report(&url).await,
            KeySource::Discovery(url) => {
                let jwks = self.jwks_uri(&provider.kind).await.map_err(|c| match c {
                    Checked::Failed(err) => format!("{url}: {err}"),
                    Checked::Refused(r) => format!("{url}: {}", r.reason()),
                })?;
                self.key_report(&jwks)
                    .await
                    .map(|found| format!("issuer confirmed; {found}"))
            }
            KeySource::Shared => self.test_piano(provider).await,
        }
    }

    /// Fetches the key set at `url` now: how many keys it has, or what is wrong.
    pub(super) async fn key_report(&self, url: &str) -> Result<String, String> {
        match self.keys.fetch_now(url).await {
            Ok(0) => Err(format!("{url} answered, but with no signing keys")),
            Ok(n) => Ok(format!("{n} signing key(s) at {url}")),
            Err(err) => Err(format!("{url}: {err}")),
        }
    }
}
