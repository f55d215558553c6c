//! What the tests read from answers and pages: stable error codes, refusal and
//! completion pages, confirmations, JWT claims and signatures.

use std::io::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::Value;

use super::idp;

/// The confirmation a completion page hands to its opener.
pub fn confirmation_in(html: &str) -> String {
    html.split("data-confirmation=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("no confirmation in the page: {html}"))
        .to_owned()
}

/// The decoded payload of a JWT (signature not checked here).
pub fn jwt_claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// Verifies a JWT's signature against the dev IdP realm's published keys.
pub async fn verify_against_realm_keys(jwt: &str, realm: &str) {
    verify_against_keys_of(jwt, &idp().authority(realm)).await;
}

/// Verifies a JWT's RS256 signature against the keys `authority` publishes.
pub async fn verify_against_keys_of(jwt: &str, authority: &str) {
    use openidconnect::JsonWebKey as _;
    use openidconnect::core::{CoreJsonWebKeySet, CoreJwsSigningAlgorithm};
    let keys: CoreJsonWebKeySet =
        reqwest::get(format!("{authority}/protocol/openid-connect/certs"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let parts: Vec<&str> = jwt.split('.').collect();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "RS256");
    let key = keys
        .keys()
        .iter()
        .find(|k| k.key_id().map(|id| id.as_str()) == header["kid"].as_str())
        .expect("the token's kid is among the realm's keys");
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    key.verify_signature(
        &CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        format!("{}.{}", parts[0], parts[1]).as_bytes(),
        &signature,
    )
    .expect("the signature verifies against the realm's JWKS");
}

/// Asserts an HTML page is a refusal: the status, the stable code, no script.
pub async fn assert_refused_page(response: reqwest::Response, status: StatusCode, code: &str) {
    assert_eq!(response.status(), status);
    assert!(response.headers().get("location").is_none());
    let html = response.text().await.unwrap();
    assert!(
        html.contains(&format!("<code id=\"code\">{code}</code>")),
        "expected code {code} in: {html}"
    );
    assert!(
        !html.contains("<script"),
        "an error page must not carry script: {html}"
    );
    assert!(!html.contains("postMessage"));
}

pub fn write(path: &std::path::Path, text: &str) {
    std::fs::File::create(path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
}

/// Asserts a completion page of a failed login (after the state was consumed): the
/// status and stable code, a message for the opener that carries only the txn and
/// its confirmation. Returns the page.
pub async fn assert_failed_login_page(
    response: reqwest::Response,
    status: StatusCode,
    code: &str,
) -> String {
    assert_eq!(response.status(), status);
    assert!(response.headers().get("location").is_none());
    let html = response.text().await.unwrap();
    assert!(
        html.contains(&format!("<code id=\"code\">{code}</code>")),
        "expected code {code} in: {html}"
    );
    assert!(html.contains("data-confirmation=\""), "{html}");
    html
}

/// Asserts an error page of either kind: a refusal before any login was consumed
/// (no script at all) or the completion page of a failed login (whose only script
/// hands the confirmation to the bound origin).
pub async fn assert_error_page(response: reqwest::Response, status: StatusCode, code: &str) {
    assert_eq!(response.status(), status);
    let html = response.text().await.unwrap();
    assert!(
        html.contains(&format!("<code id=\"code\">{code}</code>")),
        "expected code {code} in: {html}"
    );
    assert!(
        !html.contains("<script") || html.contains("data-confirmation=\""),
        "only the completion page carries script: {html}"
    );
}

/// The status of an answer and its stable error code (`<no code>` when it has none).
pub async fn code_of(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (
        status,
        body["error"].as_str().unwrap_or("<no code>").to_owned(),
    )
}
