//! The HTTP plumbing every call to a realm goes through: one client with connect
//! and total timeouts, no redirects followed, a body-size cap, and the mapping of
//! transport failures and statuses to [`IdpError`]. Nothing here knows OIDC or
//! Keycloak; [`super::oidc`] and [`super::admin_rest`] build on it.

use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use std::sync::Arc;

use super::IdpError;
use crate::domain::ClientAuth;
use crate::observe::metrics::{IdpEndpointLabels, IdpLabels, Metrics};

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
    metrics: Option<Arc<Metrics>>,
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
        Ok(Self {
            client,
            metrics: None,
        })
    }

    #[must_use]
    /// Records every call's latency and outcome in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Counts a key-set fetch for an unknown key id of `realm` (a realm or a host).
    pub fn count_refetch(&self, realm: &str) {
        if let Some(metrics) = &self.metrics {
            metrics
                .jwks_refetches
                .get_or_create(&crate::observe::metrics::RealmLabels {
                    realm: realm.to_owned(),
                })
                .inc();
        }
    }

    /// Sends `request` to `url`, with the caller's trace context, and records
    /// the call.
    async fn send(
        &self,
        url: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, IdpError> {
        let started = std::time::Instant::now();
        let mut request = request.build().map_err(|_| IdpError::Unreachable)?;
        // The realm continues this request's trace (W3C `traceparent`) when
        // tracing is configured; otherwise the propagator adds nothing.
        let context =
            tracing_opentelemetry::OpenTelemetrySpanExt::context(&tracing::Span::current());
        opentelemetry::global::get_text_map_propagator(|propagator| {
            propagator.inject_context(
                &context,
                &mut opentelemetry_http::HeaderInjector(request.headers_mut()),
            );
        });
        let sent = self.client.execute(request).await.map_err(transport_error);
        if let Some(metrics) = &self.metrics {
            let (realm, endpoint) = labels_of(url);
            let outcome = match &sent {
                Ok(response) if response.status().is_success() => "ok",
                Ok(response) if response.status().is_server_error() => "server_error",
                Ok(_) => "rejected",
                Err(IdpError::Timeout) => "timeout",
                Err(_) => "unreachable",
            };
            metrics
                .idp_duration
                .get_or_create(&IdpEndpointLabels {
                    realm: realm.clone(),
                    endpoint,
                })
                .observe(started.elapsed().as_secs_f64());
            metrics
                .idp_requests
                .get_or_create(&IdpLabels {
                    realm,
                    endpoint,
                    outcome,
                })
                .inc();
        }
        sent
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
        let request = self
            .client
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json");
        let response = self.send(url, request).await?;
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
        let url_text = url.to_string();
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
        let request = request
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form);
        let response = self.send(&url_text, request).await?;
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
        let response = self.send(url, request).await?;
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

/// The realm (host and `/realms/<name>` when the URL has it) and the endpoint
/// of a realm URL, as metric labels: bounded by the configured realms.
fn labels_of(url: &str) -> (String, &'static str) {
    let Ok(url) = url::Url::parse(url) else {
        return ("invalid".into(), "other");
    };
    let host = url.host_str().unwrap_or_default();
    let segments: Vec<&str> = url
        .path_segments()
        .map(Iterator::collect)
        .unwrap_or_default();
    let realm = segments
        .iter()
        .position(|s| *s == "realms")
        .and_then(|i| segments.get(i + 1))
        .map_or_else(|| host.to_owned(), |name| format!("{host}/realms/{name}"));
    let path = url.path();
    let endpoint = if path.contains("/admin/realms/") {
        "admin"
    } else if path.ends_with("/.well-known/openid-configuration") {
        "metadata"
    } else if path.ends_with("/token") {
        "token"
    } else if path.ends_with("/certs") || path.ends_with("jwks.json") || path.contains("jwks") {
        "jwks"
    } else if path.ends_with("/userinfo") {
        "userinfo"
    } else {
        "other"
    };
    (realm, endpoint)
}

fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
