//! [`KeycloakAdmin`] over HTTP. The Admin REST base is derived from the configured
//! authority (`https://HOST/realms/R` -> `https://HOST/admin/realms/R`): it is not
//! in the OIDC metadata, and still never comes from request input.

use std::sync::Arc;

use async_trait::async_trait;

use super::http::{RealmHttp, parse_json};
use super::oidc::OidcProvider;
use super::{IdpError, KeycloakAdmin, RealmUser, UserLookup};
use crate::domain::Realm;

/// Keycloak's Admin REST API, called with the broker's service-account token.
pub struct AdminRest {
    http: RealmHttp,
    /// Issues (and caches) the service-account tokens.
    oidc: Arc<OidcProvider>,
}

impl AdminRest {
    /// Admin REST over `http`, authenticated with `oidc`'s service-account tokens.
    #[must_use]
    pub fn new(http: RealmHttp, oidc: Arc<OidcProvider>) -> Self {
        Self { http, oidc }
    }

    async fn admin_request(
        &self,
        realm: &Realm,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&serde_json::Value>,
    ) -> Result<Vec<u8>, IdpError> {
        let base = realm.authority.admin_url().ok_or_else(|| {
            IdpError::InvalidResponse("the authority is not a Keycloak realm URL".into())
        })?;
        let token = self.oidc.service_token(realm).await?;
        self.http
            .send_json(
                method,
                &format!("{base}{path}"),
                &token,
                query,
                body,
                "admin_rest",
            )
            .await
    }

    /// Sends `representation` to `path`, for a change whose answer has no body.
    async fn write(
        &self,
        realm: &Realm,
        method: reqwest::Method,
        path: &str,
        representation: &serde_json::Value,
    ) -> Result<(), IdpError> {
        self.admin_request(realm, method, path, &[], Some(representation))
            .await
            .map(|_| ())
    }
}

#[async_trait]
impl KeycloakAdmin for AdminRest {
    async fn find_client(
        &self,
        realm: &Realm,
        client_id: &str,
    ) -> Result<Option<serde_json::Value>, IdpError> {
        let body = self
            .admin_request(
                realm,
                reqwest::Method::GET,
                "/clients",
                &[("clientId", client_id)],
                None,
            )
            .await?;
        let clients: Vec<serde_json::Value> = parse_json(&body)?;
        // The query matches exactly in Keycloak; check anyway.
        Ok(clients
            .into_iter()
            .find(|c| c.get("clientId").and_then(|v| v.as_str()) == Some(client_id)))
    }

    async fn create_client(
        &self,
        realm: &Realm,
        representation: &serde_json::Value,
    ) -> Result<(), IdpError> {
        self.write(realm, reqwest::Method::POST, "/clients", representation)
            .await
    }

    async fn find_user(&self, realm: &Realm, name: &str) -> Result<UserLookup, IdpError> {
        for field in ["email", "username"] {
            let body = self
                .admin_request(
                    realm,
                    reqwest::Method::GET,
                    "/users",
                    &[
                        (field, name),
                        ("exact", "true"),
                        ("briefRepresentation", "true"),
                    ],
                    None,
                )
                .await?;
            let users: Vec<serde_json::Value> = parse_json(&body)?;
            // `exact=true` matches exactly (case-insensitively, as Keycloak stores
            // emails and usernames in lower case); check anyway.
            let matching: Vec<RealmUser> = users
                .iter()
                .filter(|u| {
                    u.get(field)
                        .and_then(serde_json::Value::as_str)
                        .is_some_and(|v| v.eq_ignore_ascii_case(name))
                })
                .filter_map(|u| {
                    Some(RealmUser {
                        id: u.get("id")?.as_str()?.to_owned(),
                        username: u.get("username")?.as_str()?.to_owned(),
                    })
                })
                .collect();
            match matching.as_slice() {
                [] => {}
                [user] => return Ok(UserLookup::Found(user.clone())),
                _ => return Ok(UserLookup::Ambiguous),
            }
        }
        Ok(UserLookup::NotFound)
    }

    async fn create_user(
        &self,
        realm: &Realm,
        representation: &serde_json::Value,
    ) -> Result<(), IdpError> {
        self.write(realm, reqwest::Method::POST, "/users", representation)
            .await
    }

    async fn link_user(
        &self,
        realm: &Realm,
        id: &str,
        alias: &str,
        external_id: &str,
        username: &str,
    ) -> Result<(), IdpError> {
        let path = format!(
            "/users/{}/federated-identity/{}",
            encode_segment(id),
            encode_segment(alias)
        );
        let link = serde_json::json!({
            "identityProvider": alias, "userId": external_id, "userName": username,
        });
        match self
            .admin_request(realm, reqwest::Method::POST, &path, &[], Some(&link))
            .await
        {
            Ok(_) | Err(IdpError::Rejected { status: 409, .. }) => Ok(()),
            Err(err) => Err(err),
        }
    }

    async fn update_user(
        &self,
        realm: &Realm,
        id: &str,
        representation: &serde_json::Value,
    ) -> Result<(), IdpError> {
        let path = format!("/users/{}", encode_segment(id));
        self.write(realm, reqwest::Method::PUT, &path, representation)
            .await
    }

    async fn logout_user(&self, realm: &Realm, id: &str) -> Result<(), IdpError> {
        let path = format!("/users/{}/logout", encode_segment(id));
        self.admin_request(realm, reqwest::Method::POST, &path, &[], None)
            .await
            .map(|_| ())
    }

    async fn update_client(
        &self,
        realm: &Realm,
        id: &str,
        representation: &serde_json::Value,
    ) -> Result<(), IdpError> {
        let path = format!("/clients/{}", encode_segment(id));
        self.write(realm, reqwest::Method::PUT, &path, representation)
            .await
    }
}

/// `id` as one URL path segment.
fn encode_segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}
