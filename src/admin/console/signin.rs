//! Signing administrators in to the console: an OIDC login at the configured
//! admin realm, with the broker's own machinery (PKCE, state bound to this
//! browser by a cookie, nonce, RFC 9207 `iss`, the ID token verified), and only
//! the configured admins let in. Signing out is a form post with the CSRF token.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use url::Url;

use super::session::{self, CsrfRefusal};
use crate::app::AppState;
use crate::crypto;
use crate::domain::console::{CONSOLE_LOGIN_LIFETIME, console_actor};
use crate::domain::{ClientId, ConsoleLogin, ConsoleSession, Realm};
use crate::http::authorization_response::{Answer, AuthorizationResponse};
use crate::http::code::ErrorCode;
use crate::http::cookie::{BindingCookie, SessionCookie};
use crate::http::error::{PageError, WebError};
use crate::http::page;
use crate::idp::CodeRedemption;
use crate::store::AuditEntry;

/// The console's realm and client, or why the console is off.
fn console_realm(app: &AppState) -> Result<(Realm, ClientId), WebError> {
    let off = || {
        WebError::new(
            ErrorCode::NotFound,
            "The admin console is off: name its realm and admins in [console] of the configuration file.",
        )
    };
    let settings = app.console.as_ref().ok_or_else(off)?;
    let realm = app
        .registry
        .snapshot()
        .realms
        .get(&settings.realm)
        .cloned()
        .ok_or_else(off)?;
    let client = ClientId::parse(&app.public_url.console_client_id())
        .map_err(|e| WebError::new(ErrorCode::InvalidRequest, e.to_string()))?;
    Ok((realm, client))
}

/// `GET /admin/login`: to the admin realm's sign-in.
pub async fn start(State(app): State<AppState>) -> Result<Response, PageError> {
    let (realm, client) = console_realm(&app)?;
    let metadata = app.idp.metadata(&realm).await?;
    let state = crypto::random_token()?;
    let pending = ConsoleLogin {
        nonce: crypto::random_token()?,
        pkce_verifier: crypto::random_token()?,
        issuer: metadata.issuer.clone(),
        require_iss: metadata.sends_iss,
        expires_at: app.clock.now() + CONSOLE_LOGIN_LIFETIME,
    };
    let mut url: Url = metadata.authorization_endpoint.clone();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client.as_str())
        .append_pair("redirect_uri", &app.public_url.console_callback_url())
        .append_pair("scope", "openid")
        .append_pair("state", &state)
        .append_pair("nonce", &pending.nonce)
        .append_pair(
            "code_challenge",
            &crypto::sha256_b64url(&pending.pkce_verifier),
        )
        .append_pair("code_challenge_method", "S256");
    let cookie = BindingCookie::for_console_state(&state, app.public_url.is_https());
    let sealed = app.sealer.seal_json(&cookie.binding(), &pending)?;
    Ok(cookie.redirect(&url, &sealed, CONSOLE_LOGIN_LIFETIME.num_seconds()))
}

/// `GET /admin/callback`: the admin realm's answer; a session for an admin.
pub async fn callback(
    State(app): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let response = AuthorizationResponse::parse(query.as_deref())?;
    let cookie = BindingCookie::for_console_state(&response.state, app.public_url.is_https());
    let pending: ConsoleLogin = cookie
        .read(&headers)
        .and_then(|value| app.sealer.open_json(&cookie.binding(), value))
        .filter(|p: &ConsoleLogin| app.clock.now() < p.expires_at)
        .ok_or_else(|| {
            WebError::new(
                ErrorCode::BrowserMismatch,
                "This sign-in was not started in this browser, or took more than 10 minutes: sign in again.",
            )
        })?;
    let user = match signed_in_user(&app, &pending, response).await {
        Ok(user) => user,
        Err(Refused::Idp(description)) => {
            return Ok(with_cleared(
                super::sign_in_page(&app, StatusCode::BAD_REQUEST, Some(&description)),
                &cookie,
            ));
        }
        Err(Refused::Broker(err)) => return Err(err.into()),
    };
    let admitted = app
        .console
        .as_ref()
        .is_some_and(|c| c.admits(&user.subject));
    audit(&app, &user.subject, &user.name, "console.login", admitted).await?;
    if !admitted {
        let notice = format!(
            "{} (subject {}) signed in at the realm but is not an administrator of this broker: an administrator adds this subject to [console] admin_subjects.",
            user.name, user.subject
        );
        let page = super::sign_in_page(&app, StatusCode::FORBIDDEN, Some(&notice));
        return Ok(with_cleared(page, &cookie));
    }
    let lifetime = app
        .console
        .as_ref()
        .map_or_else(chrono::TimeDelta::zero, |c| c.session);
    let now = app.clock.now();
    let session = ConsoleSession {
        subject: user.subject,
        user: user.name,
        csrf: crypto::random_token()?,
        sid: crypto::random_token()?,
        started_at: now,
        expires_at: now + lifetime,
    };
    let console = SessionCookie::console(app.public_url.is_https());
    let sealed = app.sealer.seal_json(&console.binding(), &session)?;
    // A page, not a redirect: the realm's site started this navigation, and a
    // SameSite=Strict cookie set now would not go with a redirect onwards.
    let landing = page::render_console(
        StatusCode::OK,
        &super::SignedInView {
            user: &session.user,
        },
    );
    let mut response = with_cleared(landing, &cookie);
    if let Some(set) = console.set(&sealed, lifetime.num_seconds()) {
        response.headers_mut().append(header::SET_COOKIE, set);
    }
    Ok(response)
}

/// Why a callback signs nobody in.
enum Refused {
    /// The realm reported an error (the admin cancelled): shown on the sign-in page.
    Idp(String),
    /// Anything else: the error page.
    Broker(WebError),
}

impl From<WebError> for Refused {
    fn from(err: WebError) -> Self {
        Self::Broker(err)
    }
}

/// A realm user signed in at the console's realm.
struct RealmUser {
    /// Their subject: what decides whether they are an administrator.
    subject: String,
    /// Their `preferred_username`, or the subject when the realm sends none:
    /// only shown.
    name: String,
}

/// The realm user the response signs in, with every check of a login.
async fn signed_in_user(
    app: &AppState,
    pending: &ConsoleLogin,
    response: AuthorizationResponse,
) -> Result<RealmUser, Refused> {
    response.check_issuer(&pending.issuer, pending.require_iss)?;
    let code = match response.answer? {
        Answer::Code(code) => code,
        Answer::Error { error, description } => {
            return Err(Refused::Idp(description.unwrap_or_else(|| {
                format!("The login server did not sign you in ({error}).")
            })));
        }
    };
    let (realm, client) = console_realm(app)?;
    let tokens = app
        .idp
        .redeem_code(
            &realm,
            CodeRedemption {
                client_id: &client,
                client_secret: None,
                code: &code,
                pkce_verifier: &pending.pkce_verifier,
                redirect_uri: &app.public_url.console_callback_url(),
            },
        )
        .await
        .map_err(WebError::from)?;
    let verified = app
        .idp
        .verify_id_token(&realm, &client, &tokens.id_token, &pending.nonce)
        .await
        .map_err(WebError::from)?;
    let name = verified
        .preferred_username
        .unwrap_or_else(|| verified.subject.clone());
    Ok(RealmUser {
        subject: verified.subject,
        name,
    })
}

/// `POST /admin/logout`: ends the console session (the form carries the CSRF token).
pub async fn sign_out(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let csrf = url::form_urlencoded::parse(&body)
        .find(|(name, _)| name == "csrf")
        .map(|(_, value)| value.into_owned());
    let Some(session) = session::current(&app, &headers)
        .await
        .map_err(WebError::from)?
    else {
        return Ok((StatusCode::SEE_OTHER, [(header::LOCATION, "./")]).into_response());
    };
    if let Err(refusal) = session::check(&app, &session, &Method::POST, &headers, csrf.as_deref()) {
        return Err(csrf_error(&refusal).into());
    }
    session::end(&app, &session).await.map_err(WebError::from)?;
    audit(
        &app,
        &session.subject,
        &session.user,
        "console.logout",
        true,
    )
    .await?;
    let location = format!("./?{}", super::SIGNED_OUT);
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
    if let Some(clear) = SessionCookie::console(app.public_url.is_https()).clear() {
        response.headers_mut().insert(header::SET_COOKIE, clear);
    }
    Ok(response)
}

/// The refusal of a console call that fails the CSRF rule.
#[must_use]
pub fn csrf_error(refusal: &CsrfRefusal) -> WebError {
    let message = match refusal {
        CsrfRefusal::Origin => {
            "A console change must come from the console's own page (its Origin is missing or another site's)."
        }
        CsrfRefusal::Token => {
            "A console change must carry the session's CSRF token (X-CSRF-Token): reload the console."
        }
    };
    WebError::new(ErrorCode::Forbidden, message)
}

/// Audits a console sign-in or sign-out: the actor is the subject, the row's
/// subject the name the realm shows.
async fn audit(
    app: &AppState,
    subject: &str,
    name: &str,
    action: &str,
    granted: bool,
) -> Result<(), WebError> {
    app.audit
        .append(&AuditEntry {
            at: app.clock.now(),
            actor: console_actor(subject),
            subject: Some(name.to_owned()),
            action: action.to_owned(),
            outcome: if granted {
                crate::store::AuditOutcome::Granted
            } else {
                crate::store::AuditOutcome::Denied
            },
            reason: (!granted).then(|| "not a console admin".to_owned()),
            ..AuditEntry::default()
        })
        .await?;
    Ok(())
}

/// A page answering the callback, with the login's cookie cleared. Its URL
/// holds the authorization code: no `Referer` carries it, not even to the
/// broker's own files (console pages otherwise send `same-origin`).
fn with_cleared(mut response: Response, cookie: &BindingCookie) -> Response {
    let headers = response.headers_mut();
    if let Some(clear) = cookie.clear() {
        headers.append(header::SET_COOKIE, clear);
    }
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}
