//! The standard SSO handshake (codes that work once, with their verifier, from
//! their frame, in time), profile updates, unique display names, the frame's
//! logout, and the providers' administration (secrets never shown, the
//! connection test through the API and the CLI).

use chrono::TimeDelta;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::embed::{audit_row, put_tenant, rand_suffix};
use super::sso::{Sso, auth0_token, frame_call, piano_token, piano_user, sso_tenant};
use crate::support::providers::platforms;
use crate::support::{CLIENT_ID, CRM_ORIGIN, TestConfig};

const VERIFIER: &str = "the-frames-own-verifier-kept-in-memory-0123456789";

fn challenge(verifier: &str) -> String {
    authproxy::crypto::sha256_b64url(verifier)
}

async fn code_a(sso: &Sso, tenant: &str) -> String {
    let response = frame_call(
        &sso.app,
        "/api/embed/sso/code",
        &json!({"client_id": CLIENT_ID, "tenant": tenant, "code_challenge": challenge(VERIFIER)}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["expires_in"], 120);
    body["code_a"].as_str().unwrap().to_owned()
}

async fn exchange(sso: &Sso, key: &str, code_a: &str, user: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(sso.app.url("/api/v1/sso/codes"))
        .bearer_auth(key)
        .json(&json!({"code_a": code_a, "user": user}))
        .send()
        .await
        .unwrap()
}

async fn code_b(sso: &Sso, key: &str, code_a: &str, user: &Value) -> String {
    let response = exchange(sso, key, code_a, user).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{}",
        response.text().await.unwrap()
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["expires_in"], 60);
    body["code_b"].as_str().unwrap().to_owned()
}

async fn complete(
    sso: &Sso,
    origin: &str,
    client: &str,
    code_b: &str,
    verifier: &str,
) -> reqwest::Response {
    reqwest::Client::new()
        .post(sso.app.url("/api/embed/sso/complete"))
        .header("origin", origin)
        .json(&json!({"client_id": client, "code_b": code_b, "code_verifier": verifier}))
        .send()
        .await
        .unwrap()
}

fn user(primary_key: &str) -> Value {
    json!({"primary_key": primary_key, "user_name": "hana", "display_name": "Hana Handshake",
           "email": "hana@news.example", "email_verified": true, "image_url": "https://news.example/hana.png"})
}

async fn api_key(sso: &Sso, tenant: &str, operations: &[&str]) -> String {
    let response = sso
        .admin
        .send_json(
            Method::POST,
            &format!("/admin/api/tenants/{tenant}/api-keys"),
            &json!({"operations": operations}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let view: Value = response.json().await.unwrap();
    view["credential"].as_str().unwrap().to_owned()
}

async fn exchange_key(sso: &Sso, tenant: &str) -> String {
    api_key(sso, tenant, &["exchange_sso_codes"]).await
}

async fn refused_code(sso: &Sso, response: reqwest::Response, reason: &str) {
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_sso_code");
    let row = audit_row(&sso.admin, body["debug_id"].as_str().unwrap()).await;
    assert_eq!(row["action"], "embed.sso_complete");
    assert_eq!(row["reason"], reason);
}

#[tokio::test]
async fn the_handshake_logs_the_frame_in_once_with_no_personal_data_in_a_url() {
    let sso = Sso::start().await;
    let key = exchange_key(&sso, "acme").await;
    let primary = format!("host-user-{}", rand_suffix());
    let code_a = code_a(&sso, "acme").await;
    let code_b = code_b(&sso, &key, &code_a, &user(&primary)).await;
    let response = complete(&sso, CRM_ORIGIN, CLIENT_ID, &code_b, VERIFIER).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["sub"], primary);
    assert_eq!(body["user"]["name"], "Hana Handshake");
    assert_eq!(
        body["user"]["email_verified"], false,
        "the host says verified, but this tenant does not let its hosts vouch for emails"
    );
    assert!(body["keycloak"]["access_token"].is_string());
    // code_b works once; code_a too.
    refused_code(
        &sso,
        complete(&sso, CRM_ORIGIN, CLIENT_ID, &code_b, VERIFIER).await,
        "code_b used",
    )
    .await;
    let again = exchange(&sso, &key, &code_a, &user(&primary)).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        again.json::<Value>().await.unwrap()["error"],
        "invalid_sso_code"
    );
}

#[tokio::test]
async fn a_code_b_with_a_wrong_verifier_is_refused_and_used_up() {
    let sso = Sso::start().await;
    let key = exchange_key(&sso, "acme").await;
    let code_a = code_a(&sso, "acme").await;
    let code_b = code_b(&sso, &key, &code_a, &user("wrong-verifier")).await;
    refused_code(
        &sso,
        complete(&sso, CRM_ORIGIN, CLIENT_ID, &code_b, "a-guess").await,
        "wrong code_verifier",
    )
    .await;
    refused_code(
        &sso,
        complete(&sso, CRM_ORIGIN, CLIENT_ID, &code_b, VERIFIER).await,
        "code_b used",
    )
    .await;
}

#[tokio::test]
async fn a_code_b_after_61_seconds_is_refused() {
    let sso = Sso::start().await;
    let key = exchange_key(&sso, "acme").await;
    let code_a = code_a(&sso, "acme").await;
    let code_b = code_b(&sso, &key, &code_a, &user("late")).await;
    sso.app.clock.advance(TimeDelta::seconds(61));
    refused_code(
        &sso,
        complete(&sso, CRM_ORIGIN, CLIENT_ID, &code_b, VERIFIER).await,
        "code_b expired",
    )
    .await;
}

#[tokio::test]
async fn a_code_b_from_another_origin_or_client_is_refused() {
    let other = "127.0.0.1:9911";
    let other_origin = "http://127.0.0.1:9911";
    let sso =
        Sso::with_config(TestConfig::demo().client(other, &["tenant-a"], &[other_origin])).await;
    let key = exchange_key(&sso, "acme").await;
    // An origin registered for no client: the browser's CORS check refuses it.
    let first_a = code_a(&sso, "acme").await;
    let first_b = code_b(&sso, &key, &first_a, &user("elsewhere")).await;
    let response = complete(
        &sso,
        "https://attacker.example",
        CLIENT_ID,
        &first_b,
        VERIFIER,
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "origin_not_allowed"
    );
    // Another registered client's frame, with the right verifier: not its code.
    let second_a = code_a(&sso, "acme").await;
    let second_b = code_b(&sso, &key, &second_a, &user("elsewhere")).await;
    refused_code(
        &sso,
        complete(&sso, other_origin, other, &second_b, VERIFIER).await,
        "code_b of another client",
    )
    .await;
}

#[tokio::test]
async fn a_code_a_of_one_tenant_is_refused_with_another_tenants_api_key() {
    let sso = Sso::start().await;
    put_tenant(&sso.admin, "globex", sso_tenant("production", &json!([]))).await;
    let globex_key = exchange_key(&sso, "globex").await;
    let code_a = code_a(&sso, "acme").await;
    let response = exchange(&sso, &globex_key, &code_a, &user("cross-tenant")).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "operation_not_allowed"
    );
    // An API key without the operation is refused before the code is read.
    let minting = api_key(&sso, "acme", &["mint_tokens"]).await;
    let response = exchange(&sso, &minting, &code_a, &user("cross-tenant")).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_10_kb_primary_key_gets_a_clear_4xx() {
    let sso = Sso::start().await;
    let key = exchange_key(&sso, "acme").await;
    let code_a = code_a(&sso, "acme").await;
    let response = exchange(&sso, &key, &code_a, &user(&"k".repeat(10 * 1024))).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("primary_key")
    );
    // The code was not used by the refusal: a good request still works.
    code_b(&sso, &key, &code_a, &user("after-a-bad-one")).await;
}

#[tokio::test]
async fn a_fresh_token_or_pianos_user_api_updates_the_profile_of_the_session() {
    let sso = Sso::start().await;
    let sub = format!("auth0|{}", rand_suffix());
    let first: Value = sso
        .sso(
            "acme",
            "auth0",
            &auth0_token(
                "acme.eu.auth0.com",
                json!({"sub": sub, "name": "Ada Before"}),
            )
            .await,
        )
        .await
        .json()
        .await
        .unwrap();
    let session = first["session_token"].as_str().unwrap();
    let update = |token: Option<String>, session: String| {
        let app = &sso.app;
        async move {
            let mut body = json!({"client_id": CLIENT_ID, "session_token": session});
            if let Some(token) = token {
                body["token"] = token.into();
            }
            frame_call(app, "/api/embed/sso/update", &body).await
        }
    };
    let renamed = auth0_token(
        "acme.eu.auth0.com",
        json!({"sub": sub, "name": "Ada After"}),
    )
    .await;
    let response = update(Some(renamed), session.to_owned()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.json::<Value>().await.unwrap()["user"]["name"],
        "Ada After"
    );
    let renewed: Value = frame_call(
        &sso.app,
        "/api/embed/session",
        &json!({"client_id": CLIENT_ID, "session_token": session}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        renewed["user"]["name"], "Ada After",
        "the frame's next renewal shows it"
    );
    // Another user's token cannot rename this session's user.
    let other = auth0_token(
        "acme.eu.auth0.com",
        json!({"sub": "auth0|someone-else", "name": "Mallory"}),
    )
    .await;
    let response = update(Some(other), session.to_owned()).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "invalid_token"
    );
    // Without a token, Auth0's profile cannot be read again: a clear 4xx.
    assert_eq!(
        update(None, session.to_owned()).await.status(),
        StatusCode::BAD_REQUEST
    );

    // Piano: the user API is read again.
    let uid = format!("PNI{}", rand_suffix());
    piano_user(&uid, json!({"display_name": "Pia Before", "email": "pia@piano.example", "email_confirmed": false})).await;
    let started: Value = sso
        .sso("acme", "piano", &piano_token("production", &uid).await)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        started["user"]["email_verified"], false,
        "an unconfirmed address is not verified"
    );
    piano_user(
        &uid,
        json!({"display_name": "Pia After", "email": "pia@piano.example", "email_confirmed": true}),
    )
    .await;
    let response = update(None, started["session_token"].as_str().unwrap().to_owned()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user"]["name"], "Pia After");
    assert_eq!(body["user"]["email_verified"], true);
}

/// The display name the session of an Auth0 user `sub` named `name` shows.
async fn shown_name(sso: &Sso, sub: String, name: String) -> String {
    let token = auth0_token("acme.eu.auth0.com", json!({"sub": sub, "name": name})).await;
    let body: Value = sso.sso("acme", "auth0", &token).await.json().await.unwrap();
    body["user"]["name"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn display_names_stay_unique_in_a_tenant_with_a_stable_suffix_never_a_takeover() {
    let sso = Sso::start().await;
    let name = format!("Ada {}", rand_suffix());
    let login = |sub: String, name: String| shown_name(&sso, sub, name);
    let first = format!("auth0|first-{}", rand_suffix());
    let second = format!("auth0|second-{}", rand_suffix());
    let third = format!("auth0|third-{}", rand_suffix());
    assert_eq!(login(first.clone(), name.clone()).await, name);
    let suffixed = login(second.clone(), name.clone()).await;
    assert!(
        suffixed.starts_with(&format!("{name} #")) && suffixed.len() == name.len() + 6,
        "{suffixed}"
    );
    assert_eq!(
        login(second.clone(), name.clone()).await,
        suffixed,
        "the suffix is stable"
    );
    assert_eq!(
        login(first, name.clone()).await,
        name,
        "the holder keeps it"
    );
    // A look-alike (Cyrillic А, fullwidth letters) is the same name.
    let look_alike = name.replacen('A', "\u{0410}", 1);
    let third_name = login(third, look_alike.clone()).await;
    assert_ne!(third_name, look_alike);
    assert!(third_name.starts_with(&format!("{look_alike} #")));
}

#[tokio::test]
async fn a_name_is_released_when_its_holder_takes_another_and_every_way_in_follows_one_rule() {
    let sso = Sso::start().await;
    let login = |sub: String, name: String| shown_name(&sso, sub, name);
    let colleague = format!("Grace {}", rand_suffix());
    let squatter = format!("auth0|squatter-{}", rand_suffix());
    // One identity shows a colleague's name, then another: it keeps only the last.
    assert_eq!(login(squatter.clone(), colleague.clone()).await, colleague);
    assert_eq!(login(squatter, "Someone Else".into()).await, "Someone Else");
    let owner = format!("auth0|grace-{}", rand_suffix());
    assert_eq!(
        login(owner, colleague.clone()).await,
        colleague,
        "the released name is the colleague's at their first login"
    );

    // A host's user (the handshake) whose name a platform user holds gets its own suffix.
    let key = exchange_key(&sso, "acme").await;
    assert_eq!(
        login(
            format!("auth0|hana-{}", rand_suffix()),
            "Hana Handshake".into()
        )
        .await,
        "Hana Handshake"
    );
    let code_a = code_a(&sso, "acme").await;
    let code_b = code_b(
        &sso,
        &key,
        &code_a,
        &user(&format!("host-{}", rand_suffix())),
    )
    .await;
    let body: Value = complete(&sso, CRM_ORIGIN, CLIENT_ID, &code_b, VERIFIER)
        .await
        .json()
        .await
        .unwrap();
    let shown = body["user"]["name"].as_str().unwrap();
    assert!(shown.starts_with("Hana Handshake #"), "{shown}");
}

#[tokio::test]
async fn a_tenant_made_again_under_a_removed_ones_id_inherits_none_of_its_users_data() {
    let sso = Sso::start().await;
    let login = |sub: String, name: String| shown_name(&sso, sub, name);
    let name = format!("Olga {}", rand_suffix());
    assert_eq!(
        login(format!("auth0|old-{}", rand_suffix()), name.clone()).await,
        name
    );
    let removed = sso
        .admin
        .request(Method::DELETE, "/admin/api/tenants/acme")
        .send()
        .await
        .unwrap();
    assert!(removed.status().is_success(), "{}", removed.status());
    let auth0 = json!([{"name": "auth0", "kind": "auth0", "domain": "acme.eu.auth0.com", "audience": "acme-app",
        "base_url": format!("{}/acme.eu.auth0.com", platforms().auth0)}]);
    put_tenant(&sso.admin, "acme", sso_tenant("production", &auth0)).await;
    assert_eq!(
        login(format!("auth0|new-{}", rand_suffix()), name.clone()).await,
        name,
        "the removed tenant's name claims went with it"
    );
}

#[tokio::test]
async fn a_parents_key_completing_a_sub_tenants_handshake_is_named_as_the_actor() {
    let sso = Sso::start().await;
    let mut sub = sso_tenant("production", &json!([]));
    sub["parent"] = "acme".into();
    sub["parent_may_act"] = true.into();
    put_tenant(&sso.admin, "acme-sub", sub).await;
    let created = sso
        .admin
        .send_json(
            Method::POST,
            "/admin/api/tenants/acme/api-keys",
            &json!({"operations": ["exchange_sso_codes"], "for_subtenants": true}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let parent_key = created.json::<Value>().await.unwrap()["credential"]
        .as_str()
        .unwrap()
        .to_owned();
    let code_a = code_a(&sso, "acme-sub").await;
    let code_b = code_b(
        &sso,
        &parent_key,
        &code_a,
        &user(&format!("member-{}", rand_suffix())),
    )
    .await;
    let response = complete(&sso, CRM_ORIGIN, CLIENT_ID, &code_b, VERIFIER).await;
    assert_eq!(response.status(), StatusCode::OK);
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    let claims = crate::support::jwt_claims(body["session_token"].as_str().unwrap());
    assert_eq!(claims["tenant"], "acme-sub");
    assert_eq!(claims["act"], json!({"sub": "acme"}), "{claims}");
    assert_eq!(
        audit_row(&sso.admin, &request_id).await["actor"],
        "tenant:acme"
    );

    // And a tenant with a sub-tenant takes no parent of its own (one level only).
    put_tenant(&sso.admin, "holding", sso_tenant("production", &json!([]))).await;
    let mut acme = sso_tenant("production", &json!([]));
    acme["parent"] = "holding".into();
    let refused = sso
        .admin
        .send_json(Method::PUT, "/admin/api/tenants/acme", &acme)
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let answer: Value = refused.json().await.unwrap();
    assert!(
        answer["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["path"] == "parent"
                && f["message"]
                    .as_str()
                    .unwrap()
                    .contains("has sub-tenants (acme-sub)")),
        "{answer}"
    );
}

#[tokio::test]
async fn the_frames_logout_can_end_the_keycloak_sessions_too() {
    let sso = Sso::start().await;
    let token = auth0_token(
        "acme.eu.auth0.com",
        json!({"sub": format!("auth0|{}", rand_suffix())}),
    )
    .await;
    let body: Value = sso.sso("acme", "auth0", &token).await.json().await.unwrap();
    let session = body["session_token"].as_str().unwrap();
    let response = frame_call(
        &sso.app,
        "/api/embed/logout",
        &json!({"client_id": CLIENT_ID, "session_token": session, "keycloak_logout": true}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let rows = sso.admin.audit().await;
    let row = rows.iter().find(|r| r["action"] == "embed.logout").unwrap();
    assert_eq!(row["outcome"], "granted");
    assert_eq!(row["realm"], "tenant-a", "the realm's sessions were ended");
    let renewed = frame_call(
        &sso.app,
        "/api/embed/session",
        &json!({"client_id": CLIENT_ID, "session_token": session}),
    )
    .await;
    assert_eq!(renewed.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn providers_show_whether_secrets_are_set_never_the_secrets_and_test_their_connection() {
    let sso = Sso::start().await;
    let p = platforms();
    let listed: Value = sso
        .admin
        .get_json("/admin/api/tenants/acme/providers")
        .await;
    let piano = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "piano")
        .unwrap();
    assert_eq!(piano["secrets_set"], true);
    assert!(
        !listed.to_string().contains(&p.piano_api_token),
        "a secret is never shown"
    );
    assert!(
        !sso.admin
            .get("/admin/api/tenants")
            .await
            .text()
            .await
            .unwrap()
            .contains(&p.piano_api_token)
    );
    for name in ["auth0", "gigya", "piano", "oidc"] {
        let report: Value = sso
            .admin
            .send_json(
                Method::POST,
                &format!("/admin/api/tenants/acme/providers/{name}/test"),
                &json!({}),
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(report["ok"], true, "{name}: {report}");
    }
    // Wrong settings: the report says what is wrong.
    let broken = json!([
        {"name": "gigya", "kind": "gigya", "api_key": "unknown-site", "data_center": "eu1", "base_url": p.gigya},
        {"name": "piano", "kind": "piano", "application_id": p.piano_aid, "base_url": p.piano},
    ]);
    put_tenant(&sso.admin, "broken", sso_tenant("sandbox", &broken)).await;
    sso.admin
        .send_json(
            Method::PUT,
            "/admin/api/tenants/broken/providers/piano/secrets",
            &json!({"api_token": "wrong", "signing_key": "k"}),
        )
        .await;
    for (name, says) in [
        ("gigya", "no signing keys"),
        ("piano", "refused the API token"),
    ] {
        let report: Value = sso
            .admin
            .send_json(
                Method::POST,
                &format!("/admin/api/tenants/broken/providers/{name}/test"),
                &json!({}),
            )
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(report["ok"], false, "{name}");
        assert!(
            report["detail"].as_str().unwrap().contains(says),
            "{name}: {report}"
        );
    }
    // Secrets of a kind that has none are refused, with the field to fix.
    let response = sso
        .admin
        .send_json(
            Method::PUT,
            "/admin/api/tenants/broken/providers/gigya/secrets",
            &json!({"api_token": "a", "signing_key": "b"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // The CLI runs the same test.
    let out = sso
        .app
        .cli(&["tenants", "providers", "acme", "test", "auth0"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("signing key"));
    let out = sso
        .app
        .cli(&["tenants", "providers", "broken", "test", "gigya"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no signing keys"));
}

#[test]
fn a_config_file_tenant_takes_its_providers_and_each_mistake_is_named() {
    let toml = r#"
[[realms]]
name = "tenant-a"
authority = "https://kc.example/realms/tenant-a"
[[clients]]
client_id = "app.example"
realms = ["tenant-a"]
origins = ["https://app.example"]
[[tenants]]
id = "news"
environment = "production"
realm = "tenant-a"
clients = ["app.example"]
provisioning = "create"
[tenants.sso]
host_origin = "https://news.example"
[[tenants.sso.providers]]
name = "auth0"
kind = "auth0"
domain = "news.eu.auth0.com"
audience = "news-app"
[[tenants.sso.providers]]
name = "gigya"
kind = "gigya"
api_key = "3_news"
data_center = "eu1"
"#;
    let config = authproxy::config::RawConfig::from_toml(toml)
        .unwrap()
        .validate()
        .unwrap();
    let tenant = &config.tenants[0].tenant;
    assert_eq!(tenant.sso.providers.len(), 2);
    assert_eq!(tenant.sso.provider("gigya").unwrap().kind.as_str(), "gigya");
    let broken = toml
        .replace("data_center = \"eu1\"", "data_center = \"mars1\"")
        .replace("host_origin = \"https://news.example\"", "");
    let err = authproxy::config::RawConfig::from_toml(&broken)
        .unwrap()
        .validate()
        .unwrap_err();
    let keys: Vec<&str> = err.0.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "tenants[0].sso.host_origin",
            "tenants[0].sso.providers[1].data_center"
        ]
    );
}

#[tokio::test]
async fn no_host_can_vouch_for_a_third_party_identity_or_a_registrant() {
    let sso = Sso::start().await;
    let key = api_key(
        &sso,
        "acme",
        &["exchange_sso_codes", "create_embeds", "mint_tokens"],
    )
    .await;
    let auth0_user = authproxy::flows::sso::external_user_id(
        "auth0",
        "https://acme.eu.auth0.com/",
        "auth0|victim",
    );
    for primary in [auth0_user.as_str(), "registration:abc"] {
        let code_a = code_a(&sso, "acme").await;
        let response = exchange(&sso, &key, &code_a, &user(primary)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{primary}");
        let body: Value = response.json().await.unwrap();
        assert!(body["error_description"].as_str().unwrap().contains("ext:"));
        let minted = reqwest::Client::new()
            .post(sso.app.url("/api/v1/embed/tokens"))
            .bearer_auth(&key)
            .json(&json!({"sub": primary}))
            .send()
            .await
            .unwrap();
        assert_eq!(minted.status(), StatusCode::BAD_REQUEST, "{primary}");
        let body: Value = minted.json().await.unwrap();
        assert!(
            body["error_description"].as_str().unwrap().contains("ext:"),
            "{body}"
        );
        let embed = reqwest::Client::new()
            .post(sso.app.url("/api/v1/embeds"))
            .bearer_auth(&key)
            .json(&json!({"user": {"id": primary}}))
            .send()
            .await
            .unwrap();
        assert_eq!(embed.status(), StatusCode::BAD_REQUEST, "{primary}");
        let body: Value = embed.json().await.unwrap();
        assert!(
            body["error_description"].as_str().unwrap().contains("ext:"),
            "{body}"
        );
    }
}
