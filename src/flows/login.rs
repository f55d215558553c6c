//! `GET /login`, opened in the login popup: checks the client and the opener's
//! origin, resolves the user and redirects to the realm's authorization endpoint
//! with PKCE, state, nonce and hints. It writes nothing: the pending login travels
//! sealed in the cookie that binds it to this browser ([`crate::http::cookie`]).

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use url::Url;

use super::{LoginTarget, resolve};
use crate::app::AppState;
use crate::crypto;
use crate::domain::login::PENDING_LOGIN_LIFETIME;
use crate::domain::{Client, IdpAlias, Origin, PendingLogin, TxnChallenge, TxnId, Username};
use crate::http::code::ErrorCode;
use crate::http::cookie::BindingCookie;
use crate::http::error::{PageError, WebError};
use crate::http::query::StrictQuery;
use crate::registry::Snapshot;

/// `prompt` values passed on to the realm (OIDC Core §3.1.2.1).
const PROMPTS: [&str; 4] = ["none", "login", "consent", "select_account"];

/// A validated `/login` request.
struct LoginRequest<'a> {
    client: &'a Client,
    origin: &'a Origin,
    txn: TxnId,
    txn_challenge: TxnChallenge,
    prompt: Option<&'a str>,
    ui_locales: Option<&'a str>,
    user: Username,
}

fn parse_request<'a>(
    registry: &'a Snapshot,
    query: &'a StrictQuery,
) -> Result<LoginRequest<'a>, WebError> {
    let client = registry
        .client(query.require("client_id")?)
        .ok_or_else(|| {
            WebError::new(
                ErrorCode::UnknownClient,
                "This client_id is not registered with the broker.",
            )
        })?;
    crate::http::trace::record_client(client.id.as_str(), None);
    let origin = query.require("origin")?;
    // RFC 9700 §4.1.3: exact string comparison with the registered value.
    let origin = client.origins.iter().find(|o| o.as_str() == origin).ok_or_else(|| {
        WebError::new(ErrorCode::OriginNotAllowed,
            "The origin is not registered for this client. Register it exactly (scheme, host and port).",
        )
    })?;
    let txn = TxnId::parse(query.require("txn")?)
        .map_err(|e| WebError::new(ErrorCode::InvalidTxn, e.to_string()))?;
    let txn_challenge = TxnChallenge::parse(query.require("txn_challenge")?)
        .map_err(|e| WebError::new(ErrorCode::InvalidTxn, e.to_string()))?;
    let prompt = query.get("prompt").filter(|p| !p.is_empty());
    if prompt.is_some_and(|p| !PROMPTS.contains(&p)) {
        return Err(WebError::new(
            ErrorCode::InvalidPrompt,
            format!("prompt must be one of {}.", PROMPTS.join(", ")),
        ));
    }
    let ui_locales = query.get("ui_locales").filter(|l| !l.is_empty());
    if ui_locales.is_some_and(|l| {
        l.len() > 64
            || !l
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b' ')
    }) {
        return Err(WebError::new(
            ErrorCode::InvalidUiLocales,
            "ui_locales is a space-separated list of language tags such as \"en fi\".",
        ));
    }
    let user = Username::parse(query.require("user")?)
        .map_err(|e| WebError::new(ErrorCode::InvalidUser, e.to_string()))?;
    Ok(LoginRequest {
        client,
        origin,
        txn,
        txn_challenge,
        prompt,
        ui_locales,
        user,
    })
}

/// Defence in depth (never the only check: a server forges any header, docs/src/developers/protocol-facts.md
/// §6): a browser that opens `/login` from a page says where that page is, in
/// `Referer` (origin only, by the default referrer policy) and `Sec-Fetch-*`. When
/// they contradict the claimed origin, the login goes on (the completion page's
/// confirmation protects the result) but the contradiction is logged.
fn note_contradictions(headers: &HeaderMap, claimed: &Origin) {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let referer_origin = header("referer")
        .and_then(|r| Url::parse(r).ok())
        .map(|u| u.origin().ascii_serialization());
    if let Some(referer) = referer_origin.filter(|r| r != "null" && r != claimed.as_str()) {
        tracing::warn!(claimed_origin = %claimed.as_str(), referer_origin = %referer, "a /login names an origin its Referer contradicts");
    }
    if let Some(mode) = header("sec-fetch-mode").filter(|m| *m != "navigate") {
        tracing::warn!(claimed_origin = %claimed.as_str(), sec_fetch_mode = %mode, "a /login was not a navigation");
    }
}

/// `GET /login`: starts a login at the user's realm.
pub async fn start(
    State(app): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let query = StrictQuery::parse(query.as_deref())
        .map_err(|e| WebError::new(ErrorCode::InvalidQuery, e.to_string()))?;
    let registry = app.registry.snapshot();
    let request = parse_request(&registry, &query)?;
    note_contradictions(&headers, request.origin);
    let client = request.client;
    let (realm, idp_hint) = match resolve(&app, &registry, &request.user).await? {
        LoginTarget::Sso { realm, idp_hint } => (realm, idp_hint),
        LoginTarget::NotMigrated => {
            return Err(WebError::new(ErrorCode::SsoNotEnabled,
                "This user is not enabled for single sign-on yet. Log in with a username and password instead.",
            )
            .into());
        }
    };
    if !client.allows_realm(&realm.name) {
        return Err(WebError::new(
            ErrorCode::RealmNotAllowed,
            "This client is not registered for the user's realm.",
        )
        .into());
    }

    let metadata = app.idp.metadata(realm).await?;
    let expires_at = app.clock.now() + PENDING_LOGIN_LIFETIME;
    let state = crypto::random_token()?;
    let nonce = crypto::random_token()?;
    let pkce_verifier = crypto::random_token()?;
    let mut url: Url = metadata.authorization_endpoint.clone();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("response_mode", "query")
        .append_pair("client_id", client.id.as_str())
        .append_pair("redirect_uri", &app.public_url.callback_url())
        .append_pair("scope", &realm.scope())
        .append_pair("state", &state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &crypto::sha256_b64url(&pkce_verifier))
        .append_pair("code_challenge_method", "S256")
        .append_pair("login_hint", request.user.as_str());
    for (name, value) in [
        ("kc_idp_hint", idp_hint.as_ref().map(IdpAlias::as_str)),
        ("prompt", request.prompt),
        ("ui_locales", request.ui_locales),
    ] {
        if let Some(value) = value {
            url.query_pairs_mut().append_pair(name, value);
        }
    }
    let pending = PendingLogin {
        client_id: client.id.clone(),
        realm: realm.name.clone(),
        issuer: metadata.issuer.clone(),
        require_iss: metadata.sends_iss,
        nonce,
        pkce_verifier,
        origin: request.origin.clone(),
        txn: request.txn,
        txn_challenge: request.txn_challenge,
        username: request.user.as_str().to_owned(),
        expires_at,
    };
    let cookie = BindingCookie::for_state(&state, app.public_url.is_https());
    let sealed = pending.seal(&app.sealer, &cookie.binding())?;
    crate::http::trace::record_client(client.id.as_str(), Some(realm.name.as_str()));
    app.metrics.login(
        app.clock.now(),
        "started",
        client.id.as_str(),
        realm.name.as_str(),
        "",
    );
    Ok(cookie.redirect(&url, &sealed, PENDING_LOGIN_LIFETIME.num_seconds()))
}
