//! Administration from the tests: the real `authproxy` binary against a test
//! app's configuration, and [`AdminApi`], typed helpers for the admin API
//! requests the tests repeat.

use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};

use super::TestApp;

/// A new admin token for the store of `config`, made with `authproxy admin create-token`.
pub fn admin_token_for(config: &std::path::Path) -> String {
    let output = super::cli(config, &["admin", "create-token", "--label", "tests"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// The admin API of one test app, as one administrator (one admin token).
pub struct AdminApi {
    browser: reqwest::Client,
    base_url: String,
    token: String,
}

impl AdminApi {
    /// The admin token this administrator sends.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// A request to `path` (under the app), with the admin token.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.browser
            .request(method, format!("{}{path}", self.base_url))
            .bearer_auth(&self.token)
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.request(Method::GET, path).send().await.unwrap()
    }

    /// `GET path`, as JSON.
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        self.get(path).await.json().await.unwrap()
    }

    /// `method path` with a JSON body.
    pub async fn send_json(&self, method: Method, path: &str, body: &Value) -> reqwest::Response {
        self.request(method, path).json(body).send().await.unwrap()
    }

    /// `POST /admin/api/clients`.
    pub async fn create_client(&self, body: &Value) -> reqwest::Response {
        self.send_json(Method::POST, "/admin/api/clients", body)
            .await
    }

    /// `PUT /admin/api/realms/{name}` with `authority`; expects 200.
    pub async fn put_realm(&self, name: &str, authority: &str) {
        let response = self
            .send_json(
                Method::PUT,
                &format!("/admin/api/realms/{name}"),
                &json!({"name": name, "authority": authority}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }

    /// `POST /admin/api/directory/import` with a CSV body.
    pub async fn import(&self, csv: &'static str) -> reqwest::Response {
        self.request(Method::POST, "/admin/api/directory/import")
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await
            .unwrap()
    }

    /// Creates an impersonation caller; returns its secret.
    pub async fn create_caller(&self, caller_id: &str, policy: Value) -> String {
        let response = self
            .send_json(
                Method::POST,
                "/admin/api/callers",
                &json!({"caller_id": caller_id, "policy": policy}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json::<Value>().await.unwrap()["secret"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The audit trail.
    pub async fn audit(&self) -> Vec<Value> {
        self.get_json("/admin/api/audit").await
    }
}

impl TestApp {
    /// Runs the real `authproxy` binary against this app's configuration.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        super::cli(&self.config_path, args)
    }

    /// A new administrator: an admin token made with `authproxy admin create-token`.
    pub fn admin(&self) -> AdminApi {
        AdminApi {
            browser: self.browser.clone(),
            base_url: self.base_url.clone(),
            token: admin_token_for(&self.config_path),
        }
    }
}
