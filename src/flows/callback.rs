//! `GET /authproxy`: the redirect URI of broker mode. Opens the pending login
//! sealed in the browser's binding cookie (which proves the login was started in
//! this browser, for this state), consumes the state exactly once, checks the
//! issuer (RFC 9207), redeems the code with the PKCE verifier, verifies the ID
//! token and stores the outcome under the login's txn. The page then tells the
//! opener, by `postMessage` to the one origin bound to this login, that the
//! outcome is ready; tokens never travel in the message or in a URL. Every failure after the state is consumed is also
//! recorded as the txn's outcome, so the waiting page learns it through the relay;
//! without the cookie the txn is unknown, and the page only tells the user.

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use crate::app::AppState;
use crate::domain::login::OUTCOME_LIFETIME;
use crate::domain::{Approval, Client, ClientId, Confirmation, LoginOutcome, PendingLogin, TxnId};
use crate::http::authorization_response::{Answer, AuthorizationResponse};
use crate::http::code::ErrorCode;
use crate::http::cookie::BindingCookie;
use crate::http::error::{PageError, WebError};
use crate::http::page;
use crate::http::query::StrictQuery;
use crate::idp::CodeRedemption;
use crate::store::CompletedLogin;

/// The completion page, for a success and for a failure after the state was
/// consumed. It hands the confirmation to the opener of the registered origin, or,
/// without an opener, asks the user where the result may go.
#[derive(Template)]
#[template(path = "authproxy.html")]
struct CompleteView<'a> {
    nonce: &'a str,
    origin: &'a str,
    /// Every origin of the client, the login's first, space-separated: the page
    /// that confirms may be a frame of another registered origin (a connector
    /// and its login frame); only the SDK that holds the txn confirms.
    origins: &'a str,
    txn: &'a str,
    confirmation: &'a str,
    client_id: &'a str,
    username: &'a str,
    approve_action: &'a str,
    /// Whether a window without its opener may ask the user (the client's
    /// `approval`); otherwise it says to start again from the page.
    ask: bool,
    failed: bool,
    code: &'a str,
    message: &'a str,
    detail: Option<&'a str>,
}

/// Whether a login window of `client` that lost its opener may ask the user
/// where the result goes: what the completion page offers and what
/// `POST /authproxy/approve` accepts.
fn asks_approval(client: Option<&Client>) -> bool {
    client.is_some_and(|c| c.approval == Approval::Ask)
}

/// Where the completion page posts its confirmation: the login's origin, then
/// the client's other registered origins (space-separated).
fn confirmation_origins(pending: &PendingLogin, client: Option<&Client>) -> String {
    let mut origins = vec![pending.origin.as_str()];
    if let Some(client) = client {
        origins.extend(
            client
                .origins
                .iter()
                .map(crate::domain::Origin::as_str)
                .filter(|o| *o != pending.origin.as_str()),
        );
    }
    origins.join(" ")
}

/// `GET /authproxy[/{client_id}]`: finishes a login and hands it to the opener.
pub async fn finish(
    State(app): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let response = AuthorizationResponse::parse(query.as_deref())?;
    let state = response.state.as_str();
    let cookie = BindingCookie::for_state(state, app.public_url.is_https());
    let pending = cookie
        .read(&headers)
        .and_then(|sealed| PendingLogin::open(&app.sealer, &cookie.binding(), sealed))
        .ok_or_else(|| {
            WebError::new(ErrorCode::BrowserMismatch,
                "This login was not started in this browser (or its cookie was blocked or has expired). Start the login again here.",
            )
        })?;
    if pending.expires_at <= app.clock.now() {
        return Err(WebError::new(
            ErrorCode::ExpiredState,
            "This login took too long and has expired. Start the login again.",
        )
        .into());
    }
    if !app.logins.use_state(state, pending.expires_at).await? {
        return Err(WebError::new(
            ErrorCode::UnknownState,
            "This login was already completed. Start the login again.",
        )
        .into());
    }

    crate::http::trace::record_client(pending.client_id.as_str(), Some(pending.realm.as_str()));
    let outcome = complete(&app, &pending, response).await;
    let confirmation = Confirmation::generate().map_err(WebError::from)?;
    let (status, outcome, failure) = match outcome {
        Ok(outcome) => {
            app.metrics.login(
                app.clock.now(),
                "completed",
                pending.client_id.as_str(),
                pending.realm.as_str(),
                "",
            );
            (StatusCode::OK, outcome, None)
        }
        Err(failure) => {
            app.metrics.login(
                app.clock.now(),
                "failed",
                pending.client_id.as_str(),
                pending.realm.as_str(),
                failure.code(),
            );
            let outcome = LoginOutcome::Failure {
                error: failure.error_code().to_owned(),
                description: failure.realm_description(),
            };
            (failure.status(), outcome, Some(failure))
        }
    };
    let completed = CompletedLogin {
        client_id: &pending.client_id,
        txn_challenge: &pending.txn_challenge,
        outcome: &outcome,
        confirmation: &confirmation,
        expires_at: app.clock.now() + OUTCOME_LIFETIME,
    };
    if !app.logins.complete_txn(&pending.txn, &completed).await? {
        return Err(WebError::new(
            ErrorCode::TxnInUse,
            "Another login already completed with this txn: start a new login with a fresh txn.",
        )
        .into());
    }
    let mut response = completion_page(
        &app,
        &pending,
        &outcome,
        failure.as_ref(),
        &confirmation,
        status,
    );
    // The binding cookie has done its job.
    if let Some(value) = cookie.clear() {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// The completion page of a finished login: its outcome, the confirmation it
/// posts to the registered origins, and the user's approval when the client
/// lets a window without its opener ask.
fn completion_page(
    app: &AppState,
    pending: &PendingLogin,
    outcome: &LoginOutcome,
    failure: Option<&Failure>,
    confirmation: &Confirmation,
    status: StatusCode,
) -> Response {
    let username = match outcome {
        LoginOutcome::Success { username, .. } => username.as_str(),
        LoginOutcome::Failure { .. } => pending.username.as_str(),
    };
    let (code, message, detail) =
        failure.map_or((String::new(), String::new(), None), Failure::describe);
    let nonce = page::nonce();
    let approve_action = format!("{}/authproxy/approve", app.public_url.as_str());
    let registry = app.registry.snapshot();
    let client = registry.client(pending.client_id.as_str());
    let view = CompleteView {
        nonce: &nonce,
        origin: pending.origin.as_str(),
        origins: &confirmation_origins(pending, client),
        txn: pending.txn.as_str(),
        confirmation: confirmation.as_str(),
        client_id: pending.client_id.as_str(),
        username,
        approve_action: &approve_action,
        ask: asks_approval(client),
        failed: failure.is_some(),
        code: &code,
        message: &message,
        detail: detail.as_deref(),
    };
    let mut response = page::render_with_form(status, &view, &nonce);
    if let Some(failure) = failure {
        failure.annotate(&mut response);
    }
    response
}

#[derive(Template)]
#[template(path = "approved.html")]
struct ApprovedView<'a> {
    nonce: &'a str,
}

/// `POST /authproxy/approve`: the user approved, in the completion page (the
/// broker's own window), that the result goes to the page named there. The form
/// carries the confirmation, which only that page holds.
pub async fn approve(
    State(app): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    let form = StrictQuery::parse_form(&body).map_err(|e| {
        WebError::new(
            ErrorCode::InvalidRequest,
            format!("The approval form is malformed: {e}."),
        )
    })?;
    let txn = TxnId::parse(form.require("txn")?)
        .map_err(|e| WebError::new(ErrorCode::InvalidRequest, e.to_string()))?;
    let client = ClientId::parse(form.require("client_id")?)
        .map_err(|e| WebError::new(ErrorCode::InvalidRequest, e.to_string()))?;
    let confirmation = Confirmation::parse(form.require("confirmation")?)
        .map_err(|e| WebError::new(ErrorCode::InvalidRequest, e.to_string()))?;
    if !asks_approval(app.registry.snapshot().client(client.as_str())) {
        return Err(WebError::new(
            ErrorCode::ApprovalOff,
            format!("Application {client} does not let a login window approve where its result goes: close this window and start the login again from its page."),
        )
        .into());
    }
    super::handoff::confirm_outcome(&app, &txn, &client, &confirmation).await?;
    let nonce = page::nonce();
    Ok(page::render(
        StatusCode::OK,
        &ApprovedView { nonce: &nonce },
        &nonce,
    ))
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

    fn status(&self) -> StatusCode {
        match self {
            Self::Idp { .. } => StatusCode::BAD_REQUEST,
            Self::Broker(err) => err.status(),
        }
    }

    /// The realm's own description of its error, as the opener receives it.
    fn realm_description(&self) -> Option<String> {
        match self {
            Self::Idp { description, .. } => {
                crate::domain::login::realm_description(description.as_deref())
            }
            Self::Broker(_) => None,
        }
    }

    /// The stable code, for metrics.
    fn code(&self) -> &'static str {
        match self {
            Self::Idp { .. } => ErrorCode::IdpError.as_str(),
            Self::Broker(err) => err.code(),
        }
    }

    /// Names the code on the response, for the access layer's summary.
    fn annotate(&self, response: &mut Response) {
        match self {
            Self::Idp { .. } => {
                response.extensions_mut().insert(ErrorCode::IdpError);
            }
            Self::Broker(err) => err.annotate(response),
        }
    }

    /// The page's code, message and detail.
    fn describe(&self) -> (String, String, Option<String>) {
        match self {
            Self::Idp { error, description } => (
                "idp_error".to_owned(),
                format!("The login server reported: {error}."),
                description.clone(),
            ),
            Self::Broker(err) => (err.code().to_owned(), err.public_message(), None),
        }
    }
}

async fn complete(
    app: &AppState,
    pending: &PendingLogin,
    response: AuthorizationResponse,
) -> Result<LoginOutcome, Failure> {
    response.check_issuer(&pending.issuer, pending.require_iss)?;
    let code = match response.answer? {
        Answer::Code(code) => code,
        Answer::Error { error, description } => {
            return Err(Failure::Idp { error, description });
        }
    };

    let registry = app.registry.snapshot();
    let realm = registry.realms.get(&pending.realm).ok_or_else(|| {
        WebError::new(
            ErrorCode::RealmNotConfigured,
            "The realm of this login is no longer configured.",
        )
    })?;
    let client = registry.clients.get(&pending.client_id).ok_or_else(|| {
        WebError::new(
            ErrorCode::ClientRemoved,
            "The client of this login is no longer registered.",
        )
    })?;
    // An origin removed since the login started no longer receives its result.
    if !client.allows_origin(pending.origin.as_str()) {
        return Err(WebError::new(
            ErrorCode::OriginNotAllowed,
            "The page that started this login is no longer registered for the client.",
        )
        .into());
    }
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
