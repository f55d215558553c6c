//! Remote mode: the admin API of a running broker (`--url`), with an admin
//! token read from a file, `AUTHPROXY_ADMIN_TOKEN`, or the login `authproxy login`
//! stored for that URL. The token goes only to an `https` URL (or `http` on a
//! loopback address) and never appears in an argument. The API's refusals come
//! back as the operations layer's errors, so they print as in local mode.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::{Method, StatusCode, header};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::Value;
use url::Url;

use super::ConfigFile;
use super::context::{CliError, read_secret};
use super::print;
use crate::admin::ops::OpsError;
use crate::domain::FieldProblem;

/// The variable that may hold the admin token itself.
pub const TOKEN_VAR: &str = "AUTHPROXY_ADMIN_TOKEN";

/// What a request sends.
#[derive(Debug)]
pub enum Body {
    /// Nothing.
    None,
    /// A JSON object.
    Json(Value),
    /// A CSV file.
    Csv(Vec<u8>),
}

/// A broker's admin API and the token to call it with.
pub struct Remote {
    base: Url,
    token: SecretString,
    http: reqwest::Client,
}

impl Remote {
    /// The remote of `--url`, or `None` without it (local mode).
    pub fn from_args(file: &ConfigFile) -> Result<Option<Self>, CliError> {
        let Some(raw) = file.url.as_deref() else {
            return Ok(None);
        };
        let base = broker_url(raw)?;
        let token = match (&file.token_file, std::env::var(TOKEN_VAR)) {
            (Some(path), _) => read_secret(path)?,
            (None, Ok(token)) if !token.trim().is_empty() => SecretString::from(token.trim()),
            _ => Logins::open()?.token(&base).ok_or_else(|| {
                CliError::Input(format!(
                    "no admin token for {base}: give --token-file FILE, set {TOKEN_VAR}, or run `authproxy login --url {base} --token-file FILE` once"
                ))
            })?,
        };
        Self::new(base, token).map(Some)
    }

    /// A remote of `base` (see [`broker_url`]) with `token`.
    pub fn new(base: Url, token: SecretString) -> Result<Self, CliError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_mins(1))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| CliError::Input(format!("HTTP client: {e}")))?;
        Ok(Self { base, token, http })
    }

    /// Sends one request to `/admin/api/<path>`; the JSON answer (a string for a
    /// CSV one, `null` for none), or the refusal as the operations layer's error.
    pub async fn send(&self, method: Method, path: &str, body: Body) -> Result<Value, CliError> {
        let url = format!("{}admin/api/{path}", self.base);
        let mut request = self
            .http
            .request(method, &url)
            .bearer_auth(self.token.expose_secret());
        request = match body {
            Body::None => request,
            Body::Json(json) => request.json(&json),
            Body::Csv(csv) => request.header(header::CONTENT_TYPE, "text/csv").body(csv),
        };
        let response = request
            .send()
            .await
            .map_err(|e| CliError::Remote(format!("{}: {}", self.base, causes(&e))))?;
        let status = response.status();
        let is_json = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        let text = response
            .text()
            .await
            .map_err(|e| CliError::Remote(format!("{}: {}", self.base, causes(&e))))?;
        if status.is_success() {
            return Ok(match (is_json, text.is_empty()) {
                (_, true) => Value::Null,
                (true, false) => serde_json::from_str(&text)
                    .map_err(|e| CliError::Remote(format!("{url}: not JSON ({e})")))?,
                (false, false) => Value::String(text),
            });
        }
        Err(refusal(
            status,
            &serde_json::from_str(&text).unwrap_or(Value::Null),
        ))
    }
}

/// An error and each of its causes, as one line: reqwest's own message names
/// only the URL, the cause says what went wrong (refused, TLS, timeout).
fn causes(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    line
}

/// The API's refusal as the error local mode would have met.
fn refusal(status: StatusCode, body: &Value) -> CliError {
    let code = print::get(body, "error").as_str().unwrap_or_default();
    let message = print::get(body, "error_description")
        .as_str()
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("refused"))
        .to_owned();
    match (status, code) {
        (StatusCode::UNPROCESSABLE_ENTITY, _) => {
            let fields = print::get(body, "fields")
                .as_array()
                .map_or_else(Vec::new, |fields| {
                    fields
                        .iter()
                        .map(|f| FieldProblem {
                            path: print::get(f, "path")
                                .as_str()
                                .unwrap_or_default()
                                .to_owned(),
                            message: print::get(f, "message")
                                .as_str()
                                .unwrap_or_default()
                                .to_owned(),
                        })
                        .collect()
                });
            CliError::Ops(OpsError::Invalid(fields))
        }
        (StatusCode::NOT_FOUND, _) => CliError::Ops(OpsError::NotFound(message)),
        (StatusCode::CONFLICT, "managed_by_config") => {
            CliError::Ops(OpsError::ManagedByConfig(message))
        }
        (StatusCode::CONFLICT, _) => CliError::Ops(OpsError::Exists(message)),
        (StatusCode::BAD_REQUEST, _) => CliError::Input(message),
        (StatusCode::UNAUTHORIZED, _) => CliError::Remote(format!(
            "the broker refused the admin token ({message}): it is unknown, expired or revoked"
        )),
        _ => CliError::Remote(format!("the broker answered {status}: {message}")),
    }
}

/// The broker's base URL: `https`, or `http` on a loopback address only, so the
/// admin token never crosses a network in clear; a path is kept (a broker
/// behind a prefix), always ending in `/`.
pub fn broker_url(raw: &str) -> Result<Url, CliError> {
    let mut url = Url::parse(raw.trim())
        .map_err(|e| CliError::Input(format!("--url {raw}: not a URL ({e})")))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if !(url.scheme() == "https" || (url.scheme() == "http" && loopback)) {
        return Err(CliError::Input(format!(
            "--url {raw}: use https (http only for a broker on this machine), so the admin token is not sent in clear"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(CliError::Input(format!(
            "--url {raw}: the broker's address only, without a query, fragment or user"
        )));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// The stored logins: one admin token per broker URL, in a file only its owner
/// can read (`$AUTHPROXY_LOGINS`, else `~/.config/authproxy/logins.json`).
pub struct Logins {
    path: PathBuf,
    tokens: BTreeMap<String, String>,
}

impl Logins {
    /// Reads the file (none yet: no logins).
    pub fn open() -> Result<Self, CliError> {
        let path = match std::env::var_os("AUTHPROXY_LOGINS") {
            Some(path) => PathBuf::from(path),
            None => std::env::var_os("XDG_CONFIG_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")))
                .ok_or_else(|| {
                    CliError::Input("no home folder to keep logins in: set AUTHPROXY_LOGINS".into())
                })?
                .join("authproxy/logins.json"),
        };
        let tokens = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(err) => return Err(CliError::Input(format!("{}: {err}", path.display()))),
        };
        Ok(Self { path, tokens })
    }

    /// The token stored for `base`.
    #[must_use]
    pub fn token(&self, base: &Url) -> Option<SecretString> {
        self.tokens
            .get(base.as_str())
            .map(|t| SecretString::from(t.as_str()))
    }

    /// Stores (`Some`) or forgets (`None`) the token of `base`; `false` when
    /// there was nothing to forget.
    pub fn set(&mut self, base: &Url, token: Option<&SecretString>) -> Result<bool, CliError> {
        let changed = match token {
            Some(token) => {
                self.tokens
                    .insert(base.to_string(), token.expose_secret().to_owned());
                true
            }
            None => self.tokens.remove(base.as_str()).is_some(),
        };
        let text = serde_json::to_string_pretty(&self.tokens)
            .map_err(|e| CliError::Input(e.to_string()))?;
        write_private(&self.path, &text)?;
        Ok(changed)
    }

    /// Where the logins are kept.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Writes `text` to `path` readable by its owner only (mode 0600), through a
/// temporary file renamed into place.
fn write_private(path: &Path, text: &str) -> Result<(), CliError> {
    use std::io::Write as _;
    let fail = |e: std::io::Error| CliError::Input(format!("{}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let temporary = path.with_extension("json.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary).map_err(fail)?;
    file.write_all(text.as_bytes()).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    std::fs::rename(&temporary, path).map_err(fail)
}
