//! The flows, each its own test against the suite's Keycloak.

use std::collections::HashMap;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::{Mutex, RwLock, RwLockReadGuard};

use crate::server::{BROKER, BROKER_WITHOUT_IMPERSONATION, keycloak, with_log};
use crate::support::{
    AdminApi, CLIENT_ID, CRM_ORIGIN, TestApp, TestConfig, captured_logs, code_of, form_of,
    jwt_claims, verify_against_keys_of,
};

/// Tests share the Keycloak; the one that stops it has it alone.
static IN_USE: RwLock<()> = RwLock::const_new(());

pub(crate) async fn shared() -> RwLockReadGuard<'static, ()> {
    IN_USE.read().await
}

/// A broker for the suite's realms, with `broker` as its confidential client, and
/// the page client provisioned in Keycloak by `clients sync`.
async fn broker_with(broker: (&str, &str)) -> TestApp {
    let kc = keycloak();
    let keys = [
        ("broker_client_id", broker.0),
        ("broker_client_secret", broker.1),
    ];
    let app = TestApp::start(
        TestConfig::empty()
            .server("handoff_wait_secs", 5)
            .idp_timeout_secs(5)
            .realm_with("tenant-a", &kc.authority("tenant-a"), &keys)
            .realm_with("tenant-b", &kc.authority("tenant-b"), &keys)
            .client(CLIENT_ID, &["tenant-a", "tenant-b"], &[CRM_ORIGIN])
            .user("alice@tenant-a.test", "tenant-a")
            .user("dora@tenant-a.test", "tenant-a")
            .user("bob@tenant-b.test", "tenant-b")
            .domain_via("corp.test", "tenant-a", "corp-idp"),
    )
    .await;
    sync(&app, &[]).await;
    app
}

pub(crate) async fn broker() -> TestApp {
    broker_with(BROKER).await
}

/// `authproxy clients sync` for this broker; one at a time, as two syncs that both
/// find a client missing would both create it.
async fn sync(app: &TestApp, extra: &[&str]) -> String {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());
    let _turn = ONE_AT_A_TIME.lock().await;
    let mut args = vec!["clients", "sync"];
    args.extend_from_slice(extra);
    let output = app.cli(&args);
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "clients sync: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn query_of(url: &url::Url) -> HashMap<String, String> {
    url.query_pairs().into_owned().collect()
}

/// A whole login as the SDK does it; the redeemed tokens.
async fn log_in(app: &TestApp, user: &str, username: &str, password: &str) -> Value {
    let login = app.start_login(user).await;
    let signed = app.sign_in(&login.authorize_url, username, password).await;
    app.complete_and_confirm(signed.callback, &login.txn).await;
    let redeemed = app
        .handoff("/api/handoff", &login.txn, &login.verifier)
        .await;
    assert_eq!(redeemed.status(), StatusCode::OK);
    redeemed.json().await.unwrap()
}

#[tokio::test]
async fn alice_logs_in_with_keycloaks_own_form_and_her_tokens_verify_and_refresh() {
    with_log(async {
        let _kc = shared().await;
        let kc = keycloak();
        let authority = kc.authority("tenant-a");
        let app = broker().await;

        let found: Value = app
            .discover("alice@tenant-a.test")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(found[0]["authority"], authority.as_str(), "{found}");

        let login = app.start_login("alice@tenant-a.test").await;
        assert!(login.authorize_url.as_str().starts_with(&authority));
        let asked = query_of(&login.authorize_url);
        assert_eq!(asked["login_hint"], "alice@tenant-a.test");
        assert_eq!(asked["code_challenge_method"], "S256");

        let signed = app.sign_in(&login.authorize_url, "alice", "alice").await;
        assert_eq!(signed.forms.len(), 1, "one form: Keycloak's login page");
        assert!(signed.forms[0].path().starts_with("/realms/tenant-a/"));
        let answer = query_of(&signed.callback);
        assert_eq!(answer["iss"], authority, "RFC 9207 iss from Keycloak");
        assert!(answer.contains_key("session_state"), "{answer:?}");

        app.complete_and_confirm(signed.callback, &login.txn).await;
        let redeemed = app
            .handoff("/api/handoff", &login.txn, &login.verifier)
            .await;
        assert_eq!(redeemed.status(), StatusCode::OK);
        let tokens: Value = redeemed.json().await.unwrap();
        let id_token = tokens["id_token"].as_str().unwrap();
        let access_token = tokens["access_token"].as_str().unwrap();
        verify_against_keys_of(id_token, &authority).await;
        verify_against_keys_of(access_token, &authority).await;
        let claims = jwt_claims(id_token);
        assert_eq!(claims["iss"], authority.as_str());
        assert_eq!(claims["aud"], CLIENT_ID);
        assert_eq!(claims["preferred_username"], "alice");
        assert_eq!(tokens["authority"], authority.as_str());

        // The refresh token works at Keycloak, for the page's own client.
        let refreshed = reqwest::Client::new()
            .post(format!("{authority}/protocol/openid-connect/token"))
            .form(&[
                ("grant_type", "refresh_token"),
                ("client_id", CLIENT_ID),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(refreshed.status(), StatusCode::OK);
        let refreshed: Value = refreshed.json().await.unwrap();
        assert_eq!(
            jwt_claims(refreshed["access_token"].as_str().unwrap())["sub"],
            jwt_claims(access_token)["sub"]
        );
    })
    .await;
}

#[tokio::test]
async fn carol_goes_straight_to_corp_idp_and_gets_tenant_a_tokens() {
    with_log(async {
        let _kc = shared().await;
        let kc = keycloak();
        let app = broker().await;
        let login = app.start_login("carol@corp.test").await;
        assert_eq!(query_of(&login.authorize_url)["kc_idp_hint"], "corp-idp");
        let signed = app.sign_in(&login.authorize_url, "carol", "carol").await;
        assert!(
            signed
                .forms
                .iter()
                .all(|page| page.path().starts_with("/realms/corp-idp/")),
            "tenant-a's own form is skipped: {:?}",
            signed.forms
        );
        app.complete_and_confirm(signed.callback, &login.txn).await;
        let redeemed = app
            .handoff("/api/handoff", &login.txn, &login.verifier)
            .await;
        assert_eq!(redeemed.status(), StatusCode::OK);
        let tokens: Value = redeemed.json().await.unwrap();
        let id_token = tokens["id_token"].as_str().unwrap();
        verify_against_keys_of(id_token, &kc.authority("tenant-a")).await;
        let claims = jwt_claims(id_token);
        assert_eq!(claims["iss"], kc.authority("tenant-a"));
        assert_eq!(claims["preferred_username"], "carol");
        assert_eq!(claims["email"], "carol@corp.test");
    })
    .await;
}

/// `/login` with `prompt=none` for alice; where the realm sends the browser back.
async fn silent_login(app: &TestApp) -> (url::Url, String, String) {
    let login = app.start_silent_login("alice@tenant-a.test").await;
    assert_eq!(query_of(&login.authorize_url)["prompt"], "none");
    let signed = app.sign_in(&login.authorize_url, "unused", "unused").await;
    assert!(signed.forms.is_empty(), "prompt=none shows no form");
    (signed.callback, login.txn, login.verifier)
}

#[tokio::test]
async fn prompt_none_fails_cleanly_without_a_session_and_completes_with_one() {
    with_log(async {
        let _kc = shared().await;
        let app = broker().await;
        let (callback, txn, verifier) = silent_login(&app).await;
        assert_eq!(query_of(&callback)["error"], "login_required", "{callback}");
        let html = app.page(callback).await;
        assert!(html.contains("login_required"), "{html}");
        app.confirm(&txn, &crate::support::confirmation_in(&html))
            .await;
        let failed = app.handoff("/api/handoff", &txn, &verifier).await;
        let (status, code) = code_of(failed).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::BAD_REQUEST, "login_failed")
        );

        // With a Keycloak session (a login first), the same completes silently.
        log_in(&app, "alice@tenant-a.test", "alice", "alice").await;
        let (callback, txn, verifier) = silent_login(&app).await;
        assert!(query_of(&callback).contains_key("code"), "{callback}");
        app.complete_and_confirm(callback, &txn).await;
        let redeemed = app.handoff("/api/handoff", &txn, &verifier).await;
        assert_eq!(redeemed.status(), StatusCode::OK);
    })
    .await;
}

/// The caller `crm-backend`, allowed every user of tenant-a; its secret.
async fn tenant_a_caller(admin: &AdminApi) -> String {
    admin
        .create_caller(
            "crm-backend",
            json!({"realms": ["tenant-a"], "all_users_of": ["tenant-a"]}),
        )
        .await
}

#[tokio::test]
async fn impersonation_through_the_legacy_exchange_gives_a_token_for_alice() {
    with_log(async {
        let _kc = shared().await;
        let kc = keycloak();
        let authority = kc.authority("tenant-a");
        let app = broker().await;
        let admin = app.admin();
        let secret = tenant_a_caller(&admin).await;
        let issued = app
            .impersonate(
                "crm-backend",
                &secret,
                json!({"user": "alice@tenant-a.test"}),
            )
            .await;
        assert_eq!(issued.status(), StatusCode::OK);
        let issued: Value = issued.json().await.unwrap();
        let token = issued["access_token"].as_str().unwrap();
        verify_against_keys_of(token, &authority).await;
        let claims = jwt_claims(token);
        let alice: Value = kc
            .admin_get("tenant-a/users?username=alice&exact=true")
            .await;
        assert_eq!(claims["sub"], alice[0]["id"], "the token is alice's");
        assert_eq!(claims["preferred_username"], "alice");
        assert_eq!(claims["iss"], authority.as_str());
        // What Keycloak's legacy exchange puts on it: issued to the broker's client.
        assert_eq!(claims["azp"], BROKER.0);
        assert_eq!(
            issued["issued_token_type"],
            "urn:ietf:params:oauth:token-type:access_token"
        );

        // A user Keycloak will not let anyone impersonate (disabled): refused, audited.
        let refused = app
            .impersonate(
                "crm-backend",
                &secret,
                json!({"user": "dora@tenant-a.test"}),
            )
            .await;
        let (status, code) = code_of(refused).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::FORBIDDEN, "impersonation_refused")
        );
        let audit = admin.audit().await;
        assert!(
            audit.iter().any(|row| row["action"] == "impersonate"
                && row["subject"] == "dora@tenant-a.test"
                && row["outcome"] == "failed"
                && row["reason"]
                    .as_str()
                    .is_some_and(|r| r.contains("access_denied"))),
            "{audit:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_broker_client_without_the_impersonation_role_is_refused_cleanly() {
    with_log(async {
        let _kc = shared().await;
        let app = broker_with(BROKER_WITHOUT_IMPERSONATION).await;
        let secret = tenant_a_caller(&app.admin()).await;
        let refused = app
            .impersonate(
                "crm-backend",
                &secret,
                json!({"user": "alice@tenant-a.test"}),
            )
            .await;
        let (status, code) = code_of(refused).await;
        assert_eq!(
            (status, code.as_str()),
            (StatusCode::FORBIDDEN, "impersonation_refused")
        );
    })
    .await;
}

/// The page client as Keycloak holds it.
async fn client_in_keycloak(realm: &str, client_id: &str) -> Value {
    let found: Value = keycloak()
        .admin_get(&format!("{realm}/clients?clientId={client_id}"))
        .await;
    found[0].clone()
}

/// A broker for the suite's realm tenant-b alone, as its confidential client.
fn only_tenant_b() -> TestConfig {
    TestConfig::empty().realm_with(
        "tenant-b",
        &keycloak().authority("tenant-b"),
        &[
            ("broker_client_id", BROKER.0),
            ("broker_client_secret", BROKER.1),
        ],
    )
}

#[tokio::test]
async fn clients_sync_creates_the_page_client_exactly_and_repairs_a_change() {
    with_log(async {
        let _kc = shared().await;
        let page = "localhost:8082";
        let origin = "http://localhost:8082";
        let app = TestApp::start(only_tenant_b().client(page, &["tenant-b"], &[origin])).await;
        let first = sync(&app, &["--realm", "tenant-b"]).await;
        assert!(
            first.contains(&format!("tenant-b/{page}: create")),
            "{first}"
        );
        let client = client_in_keycloak("tenant-b", page).await;
        let mut uris: Vec<String> = client["redirectUris"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        uris.sort();
        assert_eq!(
            uris,
            [
                format!("{}/authproxy", app.base_url),
                format!("{}/authproxy/{page}", app.base_url)
            ]
        );
        assert_eq!(client["webOrigins"], json!([origin]));
        assert_eq!(client["publicClient"], true);
        assert_eq!(client["standardFlowEnabled"], true);
        assert_eq!(client["attributes"]["pkce.code.challenge.method"], "S256");
        assert_eq!(
            client["attributes"]["post.logout.redirect.uris"],
            format!("{}/logged-out", app.base_url)
        );

        let second = sync(&app, &["--realm", "tenant-b"]).await;
        assert!(second.contains("no differences"), "{second}");

        // Someone removes a redirect URI in Keycloak: reported, then repaired.
        let mut changed = client.clone();
        changed["redirectUris"] = json!([format!("{}/authproxy", app.base_url)]);
        let id = client["id"].as_str().unwrap();
        let put = keycloak()
            .admin_send(
                reqwest::Method::PUT,
                &format!("tenant-b/clients/{id}"),
                &changed,
            )
            .await;
        assert!(put.status().is_success(), "{}", put.status());
        let dry = sync(&app, &["--realm", "tenant-b", "--dry-run"]).await;
        assert!(
            dry.contains(&format!(
                "+ redirectUris: {}/authproxy/{page}",
                app.base_url
            )),
            "{dry}"
        );
        let repaired = sync(&app, &["--realm", "tenant-b"]).await;
        assert!(
            repaired.contains(&format!("tenant-b/{page}: update")),
            "{repaired}"
        );
        let client = client_in_keycloak("tenant-b", page).await;
        assert_eq!(client["redirectUris"].as_array().unwrap().len(), 2);
    })
    .await;
}

#[tokio::test]
async fn clients_sync_provisions_the_console_client_and_an_admin_signs_in_through_keycloak() {
    with_log(async {
        let _kc = shared().await;
        let app = TestApp::start(
            only_tenant_b().raw(
                "[console]\nrealm = \"tenant-b\"\nadmin_subjects = [\"b0b0b0b0-0000-4000-8000-000000000b0b\"]\n",
            ),
        )
        .await;
        let console = app.base_url.trim_start_matches("http://").to_owned();
        let first = sync(&app, &["--realm", "tenant-b"]).await;
        assert!(
            first.contains(&format!("tenant-b/{console}: create")),
            "{first}"
        );
        let client = client_in_keycloak("tenant-b", &console).await;
        assert_eq!(
            client["redirectUris"],
            json!([format!("{}/admin/callback", app.base_url)])
        );
        assert_eq!(client["webOrigins"], json!([app.base_url]));
        assert_eq!(client["publicClient"], true);
        assert_eq!(client["attributes"]["pkce.code.challenge.method"], "S256");
        let second = sync(&app, &["--realm", "tenant-b"]).await;
        assert!(second.contains("no differences"), "{second}");

        // bob, an admin of the console, signs in through Keycloak.
        let landed = app.console_sign_in("bob", "bob").await;
        assert_eq!(landed.status(), StatusCode::OK);
        let page = app
            .page(url::Url::parse(&app.url("/admin/")).unwrap())
            .await;
        assert!(
            page.contains("data-csrf=") && page.contains(">bob<"),
            "{page}"
        );
    })
    .await;
}

#[tokio::test]
async fn logout_through_the_broker_ends_the_keycloak_session() {
    with_log(async {
        let _kc = shared().await;
        let app = broker().await;
        let tokens = log_in(&app, "alice@tenant-a.test", "alice", "alice").await;
        // While the Keycloak session lives, the next login needs no form.
        let again = app.start_login("alice@tenant-a.test").await;
        let signed = app.sign_in(&again.authorize_url, "alice", "alice").await;
        assert!(
            signed.forms.is_empty(),
            "single sign-on: {:?}",
            signed.forms
        );

        let page = app
            .browser
            .post(app.url("/logout"))
            .form(&[
                ("client_id", CLIENT_ID),
                ("origin", CRM_ORIGIN),
                ("id_token_hint", tokens["id_token"].as_str().unwrap()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let (action, fields) = form_of(&page.text().await.unwrap());
        assert_eq!(
            action,
            format!(
                "{}/protocol/openid-connect/logout",
                keycloak().authority("tenant-a")
            )
        );
        let ended = app.browser.post(action).form(&fields).send().await.unwrap();
        assert_eq!(
            ended.status(),
            StatusCode::FOUND,
            "Keycloak logs out without asking"
        );
        let back = ended.headers()["location"].to_str().unwrap().to_owned();
        assert_eq!(back, app.url("/logged-out"));
        let done = app.browser.get(back).send().await.unwrap();
        assert_eq!(done.status(), StatusCode::OK);

        // The session is gone: Keycloak asks for the password again.
        let after = app.start_login("alice@tenant-a.test").await;
        let signed = app.sign_in(&after.authorize_url, "alice", "alice").await;
        assert_eq!(signed.forms.len(), 1, "the password form again");
    })
    .await;
}

/// The `kid` of a JWT's header.
fn kid_of(jwt: &str) -> String {
    use base64::Engine as _;
    let header = jwt.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap(),
    )
    .unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_signing_key_rotated_in_keycloak_is_picked_up_by_the_next_login() {
    with_log(async {
        let _kc = shared().await;
        let kc = keycloak();
        let authority = kc.authority("tenant-b");
        let app = broker().await;
        let before = log_in(&app, "bob@tenant-b.test", "bob", "bob").await;
        let old_kid = kid_of(before["id_token"].as_str().unwrap());

        // A new RSA key with a higher priority; the old RS256 providers disabled.
        let realm: Value = kc.admin_get("tenant-b").await;
        let realm_id = realm["id"].as_str().unwrap();
        let components: Value = kc
            .admin_get("tenant-b/components?type=org.keycloak.keys.KeyProvider")
            .await;
        let created = kc
            .admin_send(
                reqwest::Method::POST,
                "tenant-b/components",
                &json!({
                    "name": "rotated-rsa", "providerId": "rsa-generated",
                    "providerType": "org.keycloak.keys.KeyProvider", "parentId": realm_id,
                    "config": {"priority": ["500"], "enabled": ["true"], "active": ["true"],
                               "algorithm": ["RS256"], "keySize": ["2048"]}
                }),
            )
            .await;
        assert_eq!(created.status(), StatusCode::CREATED);
        for old in components.as_array().unwrap() {
            if old["providerId"] == "rsa-generated" {
                let mut disabled = old.clone();
                disabled["config"]["enabled"] = json!(["false"]);
                let id = old["id"].as_str().unwrap();
                let put = kc
                    .admin_send(
                        reqwest::Method::PUT,
                        &format!("tenant-b/components/{id}"),
                        &disabled,
                    )
                    .await;
                assert!(put.status().is_success(), "{}", put.status());
            }
        }

        let refetches = || {
            captured_logs()
                .lines()
                .filter(|l| l.contains("fetching the realm's keys again") && l.contains("tenant-b"))
                .count()
        };
        assert_eq!(refetches(), 0);
        let after = log_in(&app, "bob@tenant-b.test", "bob", "bob").await;
        let id_token = after["id_token"].as_str().unwrap();
        assert_ne!(kid_of(id_token), old_kid, "signed with the new key");
        verify_against_keys_of(id_token, &authority).await;
        assert_eq!(refetches(), 1, "the broker fetched the keys again once");
        // The next login finds the new key in the broker's cache.
        log_in(&app, "bob@tenant-b.test", "bob", "bob").await;
        assert_eq!(refetches(), 1);
    })
    .await;
}

#[tokio::test]
async fn with_keycloak_stopped_the_broker_answers_clearly_and_recovers_when_it_is_back() {
    with_log(async {
        let kc = keycloak();
        if kc.management_url.is_none() {
            eprintln!(
                "skipped: the Keycloak at {} was not started by the tests",
                kc.base_url
            );
            return;
        }
        // This test has the Keycloak alone.
        let _alone = IN_USE.write().await;
        let app = broker().await;
        kc.stop();

        let found = app.discover("alice@tenant-a.test").await;
        assert_eq!(found.status(), StatusCode::OK, "discovery needs no realm");
        let login = app
            .login_response(
                "alice@tenant-a.test",
                CRM_ORIGIN,
                &authproxy::crypto::random_token().unwrap(),
                &"c".repeat(43),
            )
            .await;
        let status = login.status();
        let html = login.text().await.unwrap();
        assert!(
            status == StatusCode::BAD_GATEWAY || status == StatusCode::SERVICE_UNAVAILABLE,
            "{status}: {html}"
        );
        assert!(
            html.contains("<code id=\"code\">realm_unreachable</code>"),
            "{html}"
        );
        // This process stays ready (a realm down must not pull every replica);
        // the verbose report names the realm that is down.
        let ready = reqwest::get(app.url("/readyz")).await.unwrap();
        assert_eq!(ready.status(), StatusCode::OK);
        let report = app.get_json("/readyz?verbose").await;
        assert_eq!(report["realms"]["tenant-a"]["status"], "down", "{report}");

        kc.start_again();
        log_in(&app, "alice@tenant-a.test", "alice", "alice").await;
        let report = app.get_json("/readyz?verbose").await;
        assert_eq!(report["realms"]["tenant-a"]["status"], "up", "{report}");
    })
    .await;
}

#[tokio::test]
async fn the_chromium_scenarios_pass_against_this_keycloak() {
    with_log(async {
        let _kc = shared().await;
        let kc = keycloak();
        let browser = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
        assert!(
            browser.join("node_modules").exists(),
            "the browser suite's packages are missing: run scripts/setup-browser (scripts/test does)"
        );
        let mut command = std::process::Command::new("node");
        command
            .args(["--test", "--test-concurrency=1", "keycloak/"])
            .current_dir(&browser)
            .env("AUTHPROXY_BIN", env!("CARGO_BIN_EXE_authproxy"))
            .env("AUTHPROXY_TEST_KEYCLOAK_URL", &kc.base_url);
        if let Some(log) = &kc.log {
            command.env("AUTHPROXY_TEST_KEYCLOAK_LOG", log);
        }
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .unwrap()
            .expect("node runs the browser suite");
        let report = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{report}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(report.contains("# fail 0"), "{report}");
        eprintln!("{report}");
    })
    .await;
}

/// A tenant of tenant-a that creates its users, with a generated ES256 key; the
/// key's private scalar.
async fn embed_tenant(admin: &AdminApi, provisioning: &str) -> Vec<u8> {
    use base64::Engine as _;
    let put = admin
        .send_json(
            reqwest::Method::PUT,
            "/admin/api/tenants/acme",
            // An existing user is found by the host's email only where the
            // tenant lets its hosts vouch for emails.
            &json!({"environment": "production", "realm": "tenant-a", "clients": [CLIENT_ID], "provisioning": provisioning,
                    "hosts_vouch_for_emails": provisioning == "existing_only"}),
        )
        .await;
    assert_eq!(put.status(), StatusCode::OK);
    let key: Value = admin
        .send_json(
            reqwest::Method::POST,
            "/admin/api/tenants/acme/keys",
            &json!({"kid": "k1", "generate": true}),
        )
        .await
        .json()
        .await
        .unwrap();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(key["private_jwk"]["d"].as_str().unwrap())
        .unwrap()
}

fn host_token(app: &TestApp, key: &[u8], sub: &str, email: Option<&str>) -> String {
    use authproxy::clock::Clock as _;
    let now = app.clock.now().timestamp();
    let mut claims = json!({
        "iss": "acme", "aud": format!("{}/embed/production", app.base_url), "sub": sub,
        "tenant": "acme", "iat": now, "exp": now + 120,
        "jti": authproxy::crypto::random_token().unwrap(), "name": "Hana Host",
    });
    if let Some(email) = email {
        claims["email"] = email.into();
    }
    authproxy::crypto::jws::sign_es256(
        key,
        &json!({"alg": "ES256", "typ": "authproxy-host+jwt", "kid": "k1"}),
        &claims,
    )
    .unwrap()
}

/// Posts `username` and `password` to Keycloak's login form; whether it shows
/// the form again with an error rather than sending the browser back.
async fn password_refused(
    app: &TestApp,
    authorize_url: &url::Url,
    username: &str,
    password: &str,
) -> bool {
    let page = app.browser.get(authorize_url.clone()).send().await.unwrap();
    let page_url = page.url().clone();
    let html = page.text().await.unwrap();
    let action = html
        .split("action=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("a login form at {page_url}: {html}"))
        .replace("&amp;", "&");
    let answer = app
        .browser
        .post(page_url.join(&action).unwrap())
        .form(&[("username", username), ("password", password)])
        .send()
        .await
        .unwrap();
    answer.status() == StatusCode::OK && answer.text().await.unwrap().contains("input-error")
}

async fn embed_redeem(app: &TestApp, token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url("/api/embed/redeem"))
        .header("origin", CRM_ORIGIN)
        .json(&json!({"client_id": CLIENT_ID, "token": token}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_host_token_creates_a_passwordless_keycloak_user_who_can_never_get_a_password() {
    with_log(async {
        let _kc = shared().await;
        let kc = keycloak();
        let app = broker().await;
        let key = embed_tenant(&app.admin(), "create").await;
        let sub = format!("host-{}", &authproxy::crypto::random_token().unwrap()[..10]);
        let redeemed = embed_redeem(
            &app,
            &host_token(&app, &key, &sub, Some("hana@host.example")),
        )
        .await;
        assert_eq!(redeemed.status(), StatusCode::OK);
        let body: Value = redeemed.json().await.unwrap();
        let access = body["keycloak"]["access_token"].as_str().unwrap();
        verify_against_keys_of(access, &kc.authority("tenant-a")).await;

        let username = authproxy::flows::embed::managed_username(
            &authproxy::domain::TenantId::parse("acme").unwrap(),
            &sub,
        );
        let users: Value = kc
            .admin_get(&format!("tenant-a/users?username={username}&exact=true"))
            .await;
        assert_eq!(users.as_array().unwrap().len(), 1, "one user, created once");
        let user = &users[0];
        assert_eq!(
            jwt_claims(access)["sub"],
            user["id"],
            "Keycloak's token is that user's"
        );
        assert_eq!(user["firstName"], "Hana Host");
        assert!(user.get("email").is_none(), "no email: no reset by email");
        let id = user["id"].as_str().unwrap();
        let credentials: Value = kc
            .admin_get(&format!("tenant-a/users/{id}/credentials"))
            .await;
        assert_eq!(credentials, json!([]), "no credentials at all");
        // No reset: Keycloak has no address to send the reset link to.
        let reset = kc
            .admin_send(
                reqwest::Method::PUT,
                &format!("tenant-a/users/{id}/execute-actions-email"),
                &json!(["UPDATE_PASSWORD"]),
            )
            .await;
        assert_eq!(
            reset.status(),
            StatusCode::BAD_REQUEST,
            "Keycloak refuses to send a reset"
        );
        // No password login: Keycloak's form refuses the user, whatever the password.
        let login = app.start_login("alice@tenant-a.test").await;
        for password in ["", "guess", &username] {
            assert!(
                password_refused(&app, &login.authorize_url, &username, password).await,
                "Keycloak's form refused the created user (password {password:?})"
            );
        }

        // A second token for the same user: the same Keycloak user, nothing created.
        let again = embed_redeem(&app, &host_token(&app, &key, &sub, None)).await;
        assert_eq!(again.status(), StatusCode::OK);
        let users: Value = kc
            .admin_get(&format!("tenant-a/users?username={username}&exact=true"))
            .await;
        assert_eq!(users.as_array().unwrap().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn an_existing_only_tenant_gets_keycloak_tokens_for_the_directory_user() {
    with_log(async {
        let _kc = shared().await;
        let kc = keycloak();
        let app = broker().await;
        let key = embed_tenant(&app.admin(), "existing_only").await;
        let redeemed = embed_redeem(
            &app,
            &host_token(&app, &key, "alice-at-host", Some("alice@tenant-a.test")),
        )
        .await;
        assert_eq!(redeemed.status(), StatusCode::OK);
        let body: Value = redeemed.json().await.unwrap();
        let claims = jwt_claims(body["keycloak"]["access_token"].as_str().unwrap());
        assert_eq!(claims["preferred_username"], "alice");
        assert_eq!(claims["iss"], kc.authority("tenant-a").as_str());
        let refused = embed_redeem(
            &app,
            &host_token(&app, &key, "ghost", Some("ghost@tenant-a.test")),
        )
        .await;
        assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    })
    .await;
}

/// Registers the broker `app` in tenant-a as an identity provider of type JWT
/// Authorization Grant (issuer and JWKS URL: the broker's), and lets the realm
/// client `client` use it; the provider's alias.
async fn trust_broker_assertions(app: &TestApp, client: &str) -> String {
    let kc = keycloak();
    let alias = format!(
        "authproxy-{}",
        &authproxy::crypto::random_token().unwrap()[..8]
            .to_ascii_lowercase()
            .replace(['-', '_'], "x")
    );
    let created = kc
        .admin_send(
            reqwest::Method::POST,
            "tenant-a/identity-provider/instances",
            &json!({
                "alias": alias, "providerId": "jwt-authorization-grant", "enabled": true,
                "config": {
                    "issuer": app.base_url, "useJwksUrl": "true",
                    "jwksUrl": format!("{}/.well-known/jwks.json", app.base_url),
                    "jwtAuthorizationGrantEnabled": "true",
                },
            }),
        )
        .await;
    assert!(
        created.status().is_success(),
        "identity provider: {}",
        created.text().await.unwrap()
    );
    let clients: Value = kc
        .admin_get(&format!("tenant-a/clients?clientId={client}"))
        .await;
    let mut representation = clients[0].clone();
    representation["attributes"]["oauth2.jwt.authorization.grant.enabled"] = "true".into();
    representation["attributes"]["oauth2.jwt.authorization.grant.idp"] = alias.clone().into();
    let id = representation["id"].as_str().unwrap().to_owned();
    let updated = kc
        .admin_send(
            reqwest::Method::PUT,
            &format!("tenant-a/clients/{id}"),
            &representation,
        )
        .await;
    assert!(
        updated.status().is_success(),
        "client: {}",
        updated.text().await.unwrap()
    );
    alias
}

#[tokio::test]
async fn keycloak_tokens_come_from_the_jwt_authorization_grant_where_the_realm_trusts_the_broker() {
    with_log(async {
        let _kc = shared().await;
        let kc = keycloak();
        // A broker client that may not impersonate anyone: only the grant can work.
        let app = broker_with(BROKER_WITHOUT_IMPERSONATION).await;
        let key = embed_tenant(&app.admin(), "existing_only").await;
        let without = embed_redeem(
            &app,
            &host_token(&app, &key, "alice-at-host", Some("alice@tenant-a.test")),
        )
        .await;
        assert_eq!(
            code_of(without).await,
            (StatusCode::FORBIDDEN, "impersonation_refused".to_owned())
        );

        let alias = trust_broker_assertions(&app, BROKER_WITHOUT_IMPERSONATION.0).await;
        let alice: Value = kc
            .admin_get("tenant-a/users?username=alice&exact=true")
            .await;
        let alice_id = alice[0]["id"].as_str().unwrap();
        // This client's service account cannot link users: link alice beforehand.
        let linked = kc
            .admin_send(
                reqwest::Method::POST,
                &format!("tenant-a/users/{alice_id}/federated-identity/{alias}"),
                &json!({"identityProvider": alias, "userId": alice_id, "userName": "alice"}),
            )
            .await;
        assert!(linked.status().is_success(), "link: {}", linked.status());
        let put = app
            .admin()
            .send_json(
                reqwest::Method::PUT,
                "/admin/api/tenants/acme",
                &json!({"environment": "production", "realm": "tenant-a", "clients": [CLIENT_ID],
                        "provisioning": "existing_only", "assertion_grant_idp": alias,
                        "hosts_vouch_for_emails": true}),
            )
            .await;
        assert_eq!(put.status(), StatusCode::OK);
        let granted = embed_redeem(
            &app,
            &host_token(&app, &key, "alice-at-host", Some("alice@tenant-a.test")),
        )
        .await;
        assert_eq!(
            granted.status(),
            StatusCode::OK,
            "{}",
            granted.text().await.unwrap()
        );
        let body: Value = granted.json().await.unwrap();
        let access = body["keycloak"]["access_token"].as_str().unwrap();
        verify_against_keys_of(access, &kc.authority("tenant-a")).await;
        let claims = jwt_claims(access);
        assert_eq!(claims["sub"], alice_id, "alice's token");
        assert_eq!(claims["azp"], BROKER_WITHOUT_IMPERSONATION.0);
    })
    .await;
}

#[tokio::test]
async fn a_created_user_is_linked_to_the_brokers_identity_provider_on_first_use() {
    with_log(async {
        let _kc = shared().await;
        let kc = keycloak();
        let app = broker().await;
        let key = embed_tenant(&app.admin(), "create").await;
        let alias = trust_broker_assertions(&app, BROKER.0).await;
        let put = app
            .admin()
            .send_json(
                reqwest::Method::PUT,
                "/admin/api/tenants/acme",
                &json!({"environment": "production", "realm": "tenant-a", "clients": [CLIENT_ID],
                        "provisioning": "create", "assertion_grant_idp": alias}),
            )
            .await;
        assert_eq!(put.status(), StatusCode::OK);
        let sub = format!(
            "linked-{}",
            &authproxy::crypto::random_token().unwrap()[..10]
        );
        let redeemed = embed_redeem(&app, &host_token(&app, &key, &sub, None)).await;
        assert_eq!(
            redeemed.status(),
            StatusCode::OK,
            "{}",
            redeemed.text().await.unwrap()
        );
        let body: Value = redeemed.json().await.unwrap();
        let user_id = jwt_claims(body["keycloak"]["access_token"].as_str().unwrap())["sub"].clone();
        let links: Value = kc
            .admin_get(&format!(
                "tenant-a/users/{}/federated-identity",
                user_id.as_str().unwrap()
            ))
            .await;
        assert_eq!(links[0]["identityProvider"], alias.as_str());
        // The second login needs no link: the grant answers at once.
        assert_eq!(
            embed_redeem(&app, &host_token(&app, &key, &sub, None))
                .await
                .status(),
            StatusCode::OK
        );
    })
    .await;
}

/// `acme` creating its users, with resource `ev-kc` and an API key for the
/// resources, registrations and links; sends host API calls with it.
struct Events<'a> {
    app: &'a TestApp,
    credential: String,
}

impl<'a> Events<'a> {
    async fn start(app: &'a TestApp) -> Self {
        let admin = app.admin();
        embed_tenant(&admin, "create").await;
        let created: Value = admin
            .send_json(
                reqwest::Method::POST,
                "/admin/api/tenants/acme/api-keys",
                &json!({"operations": ["manage_resources", "manage_registrations", "create_links"]}),
            )
            .await
            .json()
            .await
            .unwrap();
        let events = Self {
            app,
            credential: created["credential"].as_str().unwrap().to_owned(),
        };
        let put = events
            .call(
                reqwest::Method::PUT,
                "/api/v1/resources/ev-kc",
                json!({"type": "event", "url": format!("{CRM_ORIGIN}/events/kc")}),
            )
            .await;
        assert_eq!(put.status(), StatusCode::OK);
        events
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> reqwest::Response {
        reqwest::Client::new()
            .request(method, self.app.url(path))
            .bearer_auth(&self.credential)
            .json(&body)
            .send()
            .await
            .unwrap()
    }
}

/// The realm user authproxy created for `sub` of `acme`.
async fn created_realm_user(sub: &str) -> Value {
    let username = authproxy::flows::embed::managed_username(
        &authproxy::domain::TenantId::parse("acme").unwrap(),
        sub,
    );
    let users: Value = keycloak()
        .admin_get(&format!("tenant-a/users?username={username}&exact=true"))
        .await;
    users[0].clone()
}

#[tokio::test]
async fn a_registrant_joining_gets_a_keycloak_token_of_their_own_created_user() {
    with_log(async {
        let _kc = shared().await;
        let app = broker().await;
        let events = Events::start(&app).await;
        let email = format!("reg-{}@example.com", &authproxy::crypto::random_token().unwrap()[..8].to_lowercase());
        let registered: Value = events
            .call(
                reqwest::Method::POST,
                "/api/v1/resources/ev-kc/registrations",
                json!({"name": "Kay Registrant", "email": email}),
            )
            .await
            .json()
            .await
            .unwrap();
        let joined = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .get(registered["join_url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        let location = joined.headers()["location"].to_str().unwrap().to_owned();
        let ticket = location.split_once("#authproxy_ticket=").unwrap().1;
        let redeemed = reqwest::Client::new()
            .post(app.url("/api/embed/redeem"))
            .header("origin", CRM_ORIGIN)
            .json(&json!({"client_id": CLIENT_ID, "ticket": ticket, "resource": {"type": "event", "id": "ev-kc"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(redeemed.status(), StatusCode::OK);
        let body: Value = redeemed.json().await.unwrap();
        let access = body["keycloak"]["access_token"].as_str().unwrap();
        verify_against_keys_of(access, &keycloak().authority("tenant-a")).await;
        let user = created_realm_user(body["sub"].as_str().unwrap()).await;
        assert_eq!(jwt_claims(access)["sub"], user["id"], "the registrant's own user");
        assert_eq!(user["firstName"], "Kay Registrant");
        assert!(user.get("email").is_none(), "created without email, as host users are");
    })
    .await;
}

#[tokio::test]
async fn a_followed_login_link_gets_a_keycloak_token_of_the_link_users_created_user() {
    with_log(async {
        let _kc = shared().await;
        let app = broker().await;
        let events = Events::start(&app).await;
        let uid = format!("link-{}", &authproxy::crypto::random_token().unwrap()[..8]);
        let link: Value = events
            .call(
                reqwest::Method::POST,
                "/api/v1/links",
                json!({"user": {"uid": uid, "given_name": "Lin", "family_name": "Kuser"}, "target": {"resource": "ev-kc"}, "landing": "cookie"}),
            )
            .await
            .json()
            .await
            .unwrap();
        let opaque = link["url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        // As the link page's button posts it (the broker's own page).
        let followed = browser
            .post(app.url("/l"))
            .header("sec-fetch-site", "same-origin")
            .form(&[("link", opaque.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(followed.status(), StatusCode::SEE_OTHER);
        let session: Value = browser
            .post(app.url("/api/link/session"))
            .header("origin", CRM_ORIGIN)
            .json(&json!({"client_id": CLIENT_ID}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let access = session["keycloak"]["access_token"].as_str().unwrap();
        verify_against_keys_of(access, &keycloak().authority("tenant-a")).await;
        let user = created_realm_user(&uid).await;
        assert_eq!(jwt_claims(access)["sub"], user["id"]);
        assert_eq!(user["firstName"], "Lin Kuser");
    })
    .await;
}
