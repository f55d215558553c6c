//! The HTTP plumbing every call to a realm goes through: one client with connect
//! and total timeouts, no redirects followed, a body-size cap, and the mapping of
//! transport failures and statuses to [`IdpError`]. Nothing here knows OIDC or
//! Keycloak; [`super::oidc`] and [`super::admin_rest`] build on it.

use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::IdpError;
use crate::domain::ClientAuth;

/// Largest realm response read (metadata, keys, tokens, Admin REST answers).
const MAX_BODY: usize = 1024 * 1024;

/// A confidential client's credentials, sent the realm's way.
pub struct ClientCredentials<'a> {
    /// The client's id.
    pub id: &'a str,
    /// The client's secret.
    pub secret: &'a SecretString,
    /// HTTP Basic or form parameters.
    pub method: ClientAuth,
}

/// An HTTP client for realms. Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct RealmHttp {
    client: reqwest::Client,
}

#[derive(Deserialize)]
struct OAuthErrorResponse {
    error: String,
}

impl RealmHttp {
    /// A client whose every request ends within `timeout`.
    pub fn new(timeout: Duration) -> Result<Self, IdpError> {
        let client = reqwest::Client::builder()
            .connect_timeout(timeout.min(Duration::from_secs(3)))
            .timeout(timeout)
            // Never follow a redirect to somewhere the configuration did not name.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("authproxy/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| IdpError::InvalidResponse(e.to_string()))?;
        Ok(Self { client })
    }

    /// GETs a JSON document, retrying once on a connection failure or 5xx (a GET
    /// is idempotent).
    pub async fn get_json<T: DeserializeOwned>(&self, url: &str) -> Result<T, IdpError> {
        match self.get_json_once(url).await {
            Err(IdpError::Unreachable | IdpError::Status(500..=599)) => {
                self.get_json_once(url).await
            }
            other => other,
        }
    }

    async fn get_json_once<T: DeserializeOwned>(&self, url: &str) -> Result<T, IdpError> {
        let response = self
            .client
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        let body = read_capped(response).await?;
        if !status.is_success() {
            return Err(IdpError::Status(status.as_u16()));
        }
        parse_json(&body)
    }

    /// POSTs a form (to a token endpoint), authenticated as `credentials` when
    /// given: HTTP Basic (RFC 6749 §2.3.1: both form-urlencoded first) or
    /// `client_secret_post`. Never retried: a code or a grant is used once. A 4xx
    /// is [`IdpError::Rejected`] with the OAuth `error`, a 5xx a status error.
    pub async fn post_form(
        &self,
        url: url::Url,
        credentials: Option<ClientCredentials<'_>>,
        form: &[(&str, &str)],
    ) -> Result<Vec<u8>, IdpError> {
        let mut request = self.client.post(url);
        let mut form = form.to_vec();
        match &credentials {
            Some(c) if c.method == ClientAuth::ClientSecretBasic => {
                request = request.basic_auth(
                    form_encode(c.id),
                    Some(form_encode(c.secret.expose_secret())),
                );
            }
            Some(c) => {
                form.push(("client_id", c.id));
                form.push(("client_secret", c.secret.expose_secret()));
            }
            None => {}
        }
        let response = request
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        let body = read_capped(response).await?;
        if status.is_client_error() {
            let error = serde_json::from_slice::<OAuthErrorResponse>(&body)
                .map_or_else(|_| format!("http_{}", status.as_u16()), |e| e.error);
            return Err(IdpError::Rejected {
                status: status.as_u16(),
                error,
            });
        }
        if !status.is_success() {
            return Err(IdpError::Status(status.as_u16()));
        }
        Ok(body)
    }

    /// Sends a JSON request with a bearer token (Admin REST). A 5xx is a status
    /// error; a 4xx is [`IdpError::Rejected`] named `<prefix>_<status>`.
    pub async fn send_json(
        &self,
        method: reqwest::Method,
        url: &str,
        bearer: &SecretString,
        query: &[(&str, &str)],
        body: Option<&serde_json::Value>,
        prefix: &str,
    ) -> Result<Vec<u8>, IdpError> {
        let mut request = self
            .client
            .request(method, url)
            .bearer_auth(bearer.expose_secret())
            .query(query);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(transport_error)?;
        let status = response.status();
        let bytes = read_capped(response).await?;
        if status.is_server_error() {
            return Err(IdpError::Status(status.as_u16()));
        }
        if status.is_client_error() {
            return Err(IdpError::Rejected {
                status: status.as_u16(),
                error: format!("{prefix}_{}", status.as_u16()),
            });
        }
        Ok(bytes)
    }
}

/// Parses a realm's JSON answer; the problem never quotes its values.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, IdpError> {
    serde_json::from_slice(body).map_err(|e| IdpError::InvalidResponse(json_problem(&e)))
}

/// What is wrong with a JSON document, without quoting its values (which may be tokens).
#[must_use]
pub fn json_problem(err: &serde_json::Error) -> String {
    format!(
        "{:?} error at line {} column {}",
        err.classify(),
        err.line(),
        err.column()
    )
}

#[expect(
    clippy::needless_pass_by_value,
    reason = "used as `map_err(transport_error)`"
)]
fn transport_error(err: reqwest::Error) -> IdpError {
    if err.is_timeout() {
        IdpError::Timeout
    } else {
        IdpError::Unreachable
    }
}

async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, IdpError> {
    if response
        .content_length()
        .is_some_and(|len| len > MAX_BODY as u64)
    {
        return Err(IdpError::InvalidResponse(
            "response larger than 1 MiB".into(),
        ));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(IdpError::InvalidResponse(
                "response larger than 1 MiB".into(),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
