//! `GET /authproxy`: the redirect URI of broker mode. Consumes the state exactly
//! once, checks the browser binding and the issuer (RFC 9207), redeems the code
//! with the PKCE verifier, verifies the ID token and stores the sealed outcome
//! under the login's txn. The page then tells the opener, by `postMessage` to the
//! one origin bound to this login, that the outcome is ready; tokens never travel
//! in the message or in a URL. Every failure after the state is consumed is also
//! recorded as the txn's outcome, so the waiting page learns it through the relay.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;

use super::authorization_response::{Answer, AuthorizationResponse};
use super::login::binding_cookie_name;
use crate::crypto;
use crate::domain::login::OUTCOME_LIFETIME;
use crate::domain::{LoginOutcome, PendingLogin};
use crate::http::AppState;
use crate::http::error::{PageError, WebError};
use crate::http::page;
use crate::idp::CodeRedemption;

#[derive(Template)]
#[template(path = "authproxy.html")]
struct CompleteView<'a> {
    nonce: &'a str,
    origin: &'a str,
    txn: &'a str,
}

pub async fn finish(
    State(app): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let response = AuthorizationResponse::parse(query.as_deref())?;
    let state = response.state.as_str();
    let pending = app.logins.take_pending(state).await?.ok_or_else(|| {
        WebError::bad_request(
            "unknown_state",
            "This login is unknown: it was already completed, or never started here. Start the login again.",
        )
    })?;
    if pending.expires_at <= app.clock.now() {
        return Err(WebError::bad_request(
            "expired_state",
            "This login took too long and has expired. Start the login again.",
        )
        .into());
    }

    let https = app.public_url.is_https();
    let cookie_name = binding_cookie_name(state, https);
    let outcome = complete(&app, &pending, response, &headers, &cookie_name).await;
    let mut response = match outcome {
        Ok(outcome) => {
            app.logins
                .complete_txn(&pending.txn, &outcome, app.clock.now() + OUTCOME_LIFETIME)
                .await?;
            let nonce = page::nonce();
            let view = CompleteView {
                nonce: &nonce,
                origin: pending.origin.as_str(),
                txn: pending.txn.as_str(),
            };
            page::render(StatusCode::OK, &view, &nonce)
        }
        Err(failure) => {
            let outcome = LoginOutcome::Failure {
                error: failure.error_code().to_owned(),
            };
            if let Err(err) = app
                .logins
                .complete_txn(&pending.txn, &outcome, app.clock.now() + OUTCOME_LIFETIME)
                .await
            {
                tracing::error!(error = %err, "could not record a failed login's outcome");
            }
            failure.into_page()
        }
    };
    // The binding cookie has done its job.
    let clear = format!(
        "{cookie_name}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{}",
        if https { "; Secure" } else { "" }
    );
    if let Ok(value) = HeaderValue::from_str(&clear) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// Why a login whose state was valid did not succeed.
enum Failure {
    /// The realm answered with an OAuth error (the user cancelled, ...).
    Idp {
        error: String,
        description: Option<String>,
    },
    Broker(WebError),
}

impl From<WebError> for Failure {
    fn from(err: WebError) -> Self {
        Self::Broker(err)
    }
}

impl Failure {
    fn error_code(&self) -> &str {
        match self {
            Self::Idp { error, .. } => error,
            Self::Broker(err) => err.code(),
        }
    }

    fn into_page(self) -> Response {
        match self {
            Self::Idp { error, description } => {
                tracing::info!(code = "idp_error", idp_error = %error, "the realm reported a login error");
                page::error_page(
                    StatusCode::BAD_REQUEST,
                    "idp_error",
                    &format!("The login server reported: {error}."),
                    description.as_deref(),
                )
            }
            Self::Broker(err) => axum::response::IntoResponse::into_response(PageError(err)),
        }
    }
}

async fn complete(
    app: &AppState,
    pending: &PendingLogin,
    response: AuthorizationResponse,
    headers: &HeaderMap,
    cookie_name: &str,
) -> Result<LoginOutcome, Failure> {
    let binding_ok = cookie_value(headers, cookie_name).is_some_and(|value| {
        crypto::constant_time_eq(&crypto::sha256_b64url(value), &pending.browser_binding)
    });
    if !binding_ok {
        return Err(WebError::bad_request(
            "browser_mismatch",
            "This login was started in another browser (or its cookie was blocked). Start the login again here.",
        )
        .into());
    }
    // RFC 9207 §2.4: a response naming another issuer is a mix-up attempt.
    if response.issuer.is_some_and(|iss| iss != pending.issuer) {
        return Err(WebError::bad_request(
            "issuer_mismatch",
            "The response comes from another login server than the one this login was sent to.",
        )
        .into());
    }
    let code = match response.answer? {
        Answer::Code(code) => code,
        Answer::Error { error, description } => {
            return Err(Failure::Idp { error, description });
        }
    };

    let registry = app.registry.snapshot();
    let realm = registry.realms.get(&pending.realm).ok_or_else(|| {
        WebError::caller(
            StatusCode::CONFLICT,
            "realm_not_configured",
            "The realm of this login is no longer configured.",
        )
    })?;
    let client = registry.clients.get(&pending.client_id).ok_or_else(|| {
        WebError::caller(
            StatusCode::CONFLICT,
            "unknown_client",
            "The client of this login is no longer registered.",
        )
    })?;
    let redirect_uri = app.public_url.callback_url();
    let tokens = app
        .idp
        .redeem_code(
            realm,
            CodeRedemption {
                client_id: &client.id,
                client_secret: client.secret.as_ref(),
                code: &code,
                pkce_verifier: &pending.pkce_verifier,
                redirect_uri: &redirect_uri,
            },
        )
        .await
        .map_err(WebError::from)?;
    let verified = app
        .idp
        .verify_id_token(realm, &client.id, &tokens.id_token, &pending.nonce)
        .await
        .map_err(WebError::from)?;
    Ok(LoginOutcome::Success {
        username: verified
            .preferred_username
            .unwrap_or_else(|| pending.username.clone()),
        tokens,
        authority: realm.authority.as_str().to_owned(),
        client_id: client.id.clone(),
    })
}

/// The value of cookie `name` from the request's `Cookie` headers.
fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}
