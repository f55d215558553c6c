//! The tokens of a session: the realm's, by the impersonation exchange or an
//! RFC 7523 assertion, checked before they are handed out; and the broker's
//! session token with the answer the frame receives.

use chrono::TimeDelta;
use serde::Serialize;
use serde_json::Map;

use super::audit::Audit;
use super::session_token::Actor;
use super::session_token::SESSION_TOKEN_TYPE;
use super::session_token::Session;
use super::session_token::SessionClaims;
use super::vouched::Profile;
use crate::app::AppState;
use crate::crypto;
use crate::domain::{IdpAlias, Realm, ResourceRef, Role};
use crate::http::code::ErrorCode;
use crate::http::error::WebError;
use crate::idp::issued::{Expected, check_issued};

/// The `typ` of the assertions the broker signs for RFC 7523's grant.
pub const ASSERTION_TYPE: &str = "JWT";

/// How long one session token lives (the SDK renews it before).
pub const SESSION_TOKEN_LIFETIME: TimeDelta = TimeDelta::minutes(10);

/// What a frame receives for a session: the session token, the user, and
/// the realm's access token.
#[derive(Serialize)]
pub struct SessionResponse {
    pub(crate) session_token: String,
    pub(crate) expires_in: i64,
    pub(crate) session_exp: i64,
    pub(crate) tenant: String,
    pub(crate) sub: String,
    pub(crate) user: Profile,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) resource: Option<ResourceRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) role: Option<Role>,
    pub(crate) keycloak: KeycloakTokens,
}

/// The realm's token in a [`SessionResponse`].
#[derive(Serialize)]
pub struct KeycloakTokens {
    pub(crate) access_token: String,
    pub(crate) expires_in: u64,
    pub(crate) authority: String,
}

/// Keycloak tokens for the session's user and a new session token.
/// Keycloak's access token for the session's user: RFC 7523's grant with an
/// assertion the broker signs, where the tenant names the realm's identity
/// provider that trusts the broker (the user is linked to it on first use), else
/// the impersonation exchange.
pub(crate) async fn keycloak_token(
    app: &AppState,
    realm: &Realm,
    session: &Session,
    grant_idp: Option<&IdpAlias>,
) -> Result<crate::idp::ExchangedToken, crate::idp::IdpError> {
    let Some(alias) = grant_idp else {
        return app.idp.impersonate(realm, &session.realm_user, None).await;
    };
    let assertion = || {
        let now = app.clock.now();
        let mut claims = Map::new();
        claims.insert("sub".into(), session.realm_user.clone().into());
        claims.insert("aud".into(), realm.authority.as_str().into());
        claims.insert("iat".into(), now.timestamp().into());
        claims.insert(
            "exp".into(),
            (now + TimeDelta::seconds(60)).timestamp().into(),
        );
        claims.insert(
            "jti".into(),
            crypto::random_token()
                .map_err(|e| crate::idp::IdpError::InvalidResponse(e.to_string()))?
                .into(),
        );
        app.broker_keys
            .sign(ASSERTION_TYPE, claims)
            .map_err(|e| crate::idp::IdpError::InvalidResponse(e.to_string()))
    };
    match app.idp.assertion_grant(realm, &assertion()?).await {
        // Not linked yet (a user found or created before the realm trusted us):
        // link the user to the broker's identity provider and ask once more.
        Err(crate::idp::IdpError::Rejected { status: 400, .. }) => {
            app.keycloak_admin
                .link_user(
                    realm,
                    &session.realm_user,
                    alias.as_str(),
                    &session.realm_user,
                    &session.sub,
                )
                .await?;
            app.idp.assertion_grant(realm, &assertion()?).await
        }
        other => other,
    }
}

pub(crate) async fn issue(
    app: &AppState,
    realm: &Realm,
    session: &Session,
    grant_idp: Option<&IdpAlias>,
    audit: &Audit,
) -> Result<SessionResponse, WebError> {
    let token = keycloak_token(app, realm, session, grant_idp)
        .await
        .map_err(|err| {
            audit.failed(err.to_string());
            WebError::from(err)
        })?;
    let expected = Expected {
        subject: &session.realm_user,
        broker_client: realm
            .broker_client
            .as_ref()
            .map_or("", |b| b.client_id.as_str()),
        audience: None,
    };
    if let Err(problem) = check_issued(&token, &expected, app.clock.now()) {
        audit.failed(format!("issued token refused: {problem}"));
        return Err(WebError::new(
            ErrorCode::RealmTokenMismatch,
            "The realm issued a token that does not match the user; it was not handed out.",
        ));
    }
    let now = app.clock.now();
    let exp = (now + SESSION_TOKEN_LIFETIME).min(session.ends_at);
    let claims = SessionClaims {
        iss: app.broker_keys.issuer().to_owned(),
        aud: session.client.clone(),
        sub: session.sub.clone(),
        tenant: session.tenant.clone(),
        sid: session.sid.clone(),
        iat: now,
        exp,
        session_iat: session.started,
        session_exp: session.ends_at,
        realm_user: session.realm_user.clone(),
        act: session.acting.clone().map(|sub| Actor { sub }),
        resource: session.resource.clone(),
        resource_specific: session.resource.as_ref().map(|_| session.resource_specific),
        role: session.role,
        registration: session.registration.clone(),
        slot: session.slot.clone(),
        profile: session.profile.clone(),
    };
    let session_token = app
        .broker_keys
        .sign(SESSION_TOKEN_TYPE, claims.to_map())
        .map_err(WebError::internal)?;
    Ok(SessionResponse {
        session_token,
        expires_in: (exp - now).num_seconds(),
        session_exp: session.ends_at.timestamp(),
        tenant: session.tenant.to_string(),
        sub: session.sub.clone(),
        user: session.profile.clone(),
        resource: session.resource.clone(),
        role: session.role,
        keycloak: KeycloakTokens {
            access_token: token.access_token,
            expires_in: token.expires_in,
            authority: realm.authority.as_str().to_owned(),
        },
    })
}
