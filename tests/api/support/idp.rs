//! The dev IdP: one Node process shared by every test of this binary (or, with
//! `AUTHPROXY_TEST_IDP_URL`, the one `scripts/test` started for the whole run),
//! and the registration of the demo client in its realms with a broker's
//! redirect URIs.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use reqwest::StatusCode;
use serde_json::Value;

use super::{BROKER_CLIENT, CLIENT_ID, CRM_ORIGIN};

/// The dev IdP, shared by every test of this binary.
pub struct Idp {
    pub base_url: String,
    /// The process, when this binary started it.
    _child: Option<Mutex<Child>>,
}

impl Idp {
    pub fn authority(&self, realm: &str) -> String {
        format!("{}/realms/{realm}", self.base_url)
    }
}

pub fn idp() -> &'static Idp {
    static IDP: OnceLock<Idp> = OnceLock::new();
    IDP.get_or_init(|| {
        if let Ok(url) = std::env::var("AUTHPROXY_TEST_IDP_URL") {
            return Idp {
                base_url: url.trim_end_matches('/').to_owned(),
                _child: None,
            };
        }
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/idp");
        assert!(
            std::path::Path::new(dir).join("node_modules").exists(),
            "the dev IdP's packages are missing: run scripts/test (or npm ci in tests/idp)"
        );
        let log = std::fs::File::create(concat!(env!("CARGO_MANIFEST_DIR"), "/target/dev-idp.log"))
            .unwrap();
        let mut child = Command::new("node")
            .args(["server.js", "--port", "0", "--exit-with-stdin"])
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("node must be installed to run the dev IdP");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        let base_url = loop {
            line.clear();
            assert!(
                stdout.read_line(&mut line).unwrap() > 0,
                "the dev IdP exited; see target/dev-idp.log"
            );
            if let Some(url) = line.trim().strip_prefix("authproxy-dev-idp listening on ") {
                break url.to_owned();
            }
        };
        // Keep draining its output so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in stdout.lines() {});
        Idp {
            base_url,
            _child: Some(Mutex::new(child)),
        }
    })
}

/// A service-account token of the broker's client in the dev IdP's `realm`
/// (for its Admin REST API).
pub async fn broker_token(http: &reqwest::Client, realm: &str) -> String {
    let token: Value = http
        .post(format!(
            "{}/protocol/openid-connect/token",
            idp().authority(realm)
        ))
        .basic_auth(BROKER_CLIENT.0, Some(BROKER_CLIENT.1))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    token["access_token"].as_str().unwrap().to_owned()
}

/// Registers the demo client at the dev IdP with this broker's redirect URIs,
/// through the IdP's Keycloak-style Admin REST API.
pub async fn register_client(http: &reqwest::Client, broker: &str) {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _guard = LOCK.lock().await;
    let idp = idp();
    for realm in ["tenant-a", "tenant-b"] {
        let bearer = broker_token(http, realm).await;
        let clients_url = format!("{}/admin/realms/{realm}/clients", idp.base_url);
        let existing: Vec<Value> = http
            .get(&clients_url)
            .query(&[("clientId", CLIENT_ID)])
            .bearer_auth(&bearer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let mine = [
            format!("{broker}/authproxy"),
            format!("{broker}/authproxy/{CLIENT_ID}"),
        ];
        match existing.first() {
            None => {
                create_public_client(http, &bearer, realm, CLIENT_ID, &mine, &[CRM_ORIGIN]).await;
            }
            Some(client) => {
                let mut uris: Vec<Value> = client["redirectUris"].as_array().unwrap().clone();
                uris.extend(mine.iter().map(|u| Value::String(u.clone())));
                let updated = http
                    .put(format!("{clients_url}/{}", client["id"].as_str().unwrap()))
                    .bearer_auth(&bearer)
                    .json(&serde_json::json!({"redirectUris": uris}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(updated.status(), StatusCode::NO_CONTENT);
            }
        }
    }
}

/// Registers the admin console's client (the broker's host, as its client ID)
/// at the dev IdP's `tenant-a`, with the console's redirect URI.
pub async fn register_console_client(http: &reqwest::Client, broker: &str) {
    let bearer = broker_token(http, "tenant-a").await;
    let client_id = broker.trim_start_matches("http://");
    let redirect = format!("{broker}/admin/callback");
    create_public_client(http, &bearer, "tenant-a", client_id, &[redirect], &[]).await;
}

/// Creates a public PKCE client in the dev IdP's `realm` through its Admin REST API.
async fn create_public_client(
    http: &reqwest::Client,
    bearer: &str,
    realm: &str,
    client_id: &str,
    redirect_uris: &[String],
    web_origins: &[&str],
) {
    let created = http
        .post(format!("{}/admin/realms/{realm}/clients", idp().base_url))
        .bearer_auth(bearer)
        .json(&serde_json::json!({
            "clientId": client_id, "publicClient": true,
            "redirectUris": redirect_uris, "webOrigins": web_origins,
            "attributes": {"pkce.code.challenge.method": "S256"},
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
}

/// Creates a user with a password in the dev IdP's `tenant-a` (Keycloak's user
/// representation) and answers its subject.
pub async fn create_realm_user(http: &reqwest::Client, username: &str, password: &str) -> String {
    let bearer = broker_token(http, "tenant-a").await;
    let created = http
        .post(format!("{}/admin/realms/tenant-a/users", idp().base_url))
        .bearer_auth(&bearer)
        .json(&serde_json::json!({
            "username": username,
            "enabled": true,
            "credentials": [{"type": "password", "value": password, "temporary": false}],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let location = created.headers()["location"].to_str().unwrap();
    location.rsplit('/').next().unwrap().to_owned()
}

/// Renames the dev IdP's `tenant-a` user `subject`, as a realm administrator
/// (or a realm that lets users edit their username) can.
pub async fn rename_realm_user(http: &reqwest::Client, subject: &str, username: &str) {
    let bearer = broker_token(http, "tenant-a").await;
    let renamed = http
        .put(format!(
            "{}/admin/realms/tenant-a/users/{subject}",
            idp().base_url
        ))
        .bearer_auth(&bearer)
        .json(&serde_json::json!({ "username": username }))
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.status(), StatusCode::NO_CONTENT);
}
