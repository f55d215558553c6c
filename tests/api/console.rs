//! The admin console's sign-in and session: an OIDC login at the admin realm
//! with only the configured admins let in, a session cookie no other site can
//! use for a change (CSRF token and Origin), and pages under a strict CSP.

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::support::{CLIENT_ID, TestApp, TestConfig, idp, new_browser};

/// alice's subject at `tenant-a` (her user ID, in the dev IdP as in Keycloak).
const ALICE: &str = "a1f0c1de-0000-4000-8000-00000000a11c";
/// legacy's subject at `tenant-a`.
const LEGACY: &str = "a1f0c1de-0000-4000-8000-0000000001e9";

/// The `[console]` section that lets the users with `subjects` in.
fn console_section(subjects: &[&str]) -> String {
    format!(
        "[console]\nrealm = \"tenant-a\"\nadmin_subjects = {}\n",
        serde_json::to_string(subjects).unwrap()
    )
}

async fn console_app() -> TestApp {
    console_app_for(&[ALICE]).await
}

async fn console_app_for(subjects: &[&str]) -> TestApp {
    let app = TestApp::start(TestConfig::demo().raw(&console_section(subjects))).await;
    idp::register_console_client(&app.browser, &app.base_url).await;
    app
}

/// The status of `GET /admin/api/clients` from `browser`, with its cookies.
async fn clients_status(app: &TestApp, browser: &reqwest::Client) -> StatusCode {
    browser
        .get(app.url("/admin/api/clients"))
        .send()
        .await
        .unwrap()
        .status()
}

/// The CSRF token of the signed-in console page.
async fn csrf_of(app: &TestApp) -> String {
    let page = app.browser.get(app.url("/admin/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    html.split("data-csrf=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("no CSRF token in {html}"))
        .to_owned()
}

#[tokio::test]
async fn an_admin_signs_in_at_the_admin_realm_and_changes_through_the_console_session() {
    let app = console_app().await;
    let signed = app.console_sign_in("alice", "alice").await;
    // A page of the broker's that moves on by itself: a redirect from the
    // realm's site would not carry the SameSite=Strict cookie onwards.
    assert_eq!(signed.status(), StatusCode::OK);
    assert!(signed.headers().get(header::LOCATION).is_none());
    let cookies: Vec<&str> = signed
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("authproxy-console="))
        .unwrap();
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Strict"));
    let landing = signed.text().await.unwrap();
    assert!(
        landing.contains(r#"http-equiv="refresh" content="0;url=./""#),
        "{landing}"
    );
    let csrf = csrf_of(&app).await;

    // Reads need the session only.
    assert_eq!(clients_status(&app, &app.browser).await, StatusCode::OK);
    let overview: Value = app
        .browser
        .get(app.url("/admin/api/overview"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(overview["logins"].as_array().unwrap().len(), 60);
    assert!(
        overview["realms"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "tenant-a")
    );

    // A change: only with the broker's Origin and the session's token.
    let body = json!({"client_id": "console.example", "origins": ["https://console.example"], "realms": ["tenant-a"]});
    let change = |origin: Option<&str>, token: Option<&str>| {
        let mut request = app
            .browser
            .request(Method::POST, app.url("/admin/api/clients"))
            .json(&body);
        if let Some(origin) = origin {
            request = request.header(header::ORIGIN, origin);
        }
        if let Some(token) = token {
            request = request.header("x-csrf-token", token);
        }
        request.send()
    };
    for (origin, token) in [
        (None, Some(csrf.as_str())),
        (Some("https://attacker.example"), Some(csrf.as_str())),
        (Some(app.base_url.as_str()), None),
        (Some(app.base_url.as_str()), Some("forged")),
    ] {
        let refused = change(origin, token).await.unwrap();
        assert_eq!(
            refused.status(),
            StatusCode::FORBIDDEN,
            "{origin:?} {token:?}"
        );
        let refused: Value = refused.json().await.unwrap();
        assert_eq!(refused["error"], "forbidden");
    }
    let made = change(Some(app.base_url.as_str()), Some(&csrf))
        .await
        .unwrap();
    assert_eq!(made.status(), StatusCode::CREATED);
    let rows = app.admin().audit().await;
    let actors: Vec<(&str, &str)> = rows
        .iter()
        .filter(|r| r["actor"].as_str().unwrap().starts_with("console:"))
        .map(|r| (r["action"].as_str().unwrap(), r["actor"].as_str().unwrap()))
        .collect();
    let alice = format!("console:{ALICE}");
    assert_eq!(
        actors,
        [
            ("console.login", alice.as_str()),
            ("client.create", alice.as_str())
        ]
    );
}

/// The console's session cookie a sign-in set, as `name=value`.
fn session_cookie(signed: &reqwest::Response) -> String {
    signed
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("authproxy-console="))
        .and_then(|c| c.split(';').next())
        .expect("a console session cookie")
        .to_owned()
}

/// The status of `GET /admin/api/clients` with only `cookie`, from another
/// client (a copy of the cookie, as a thief would hold it).
async fn status_with_cookie(app: &TestApp, cookie: &str) -> StatusCode {
    reqwest::Client::new()
        .get(app.url("/admin/api/clients"))
        .header(header::COOKIE, cookie)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn signing_out_needs_the_csrf_token_and_ends_the_session() {
    let app = console_app().await;
    let signed = app.console_sign_in("alice", "alice").await;
    assert_eq!(signed.status(), StatusCode::OK);
    let copied = session_cookie(&signed);
    assert_eq!(status_with_cookie(&app, &copied).await, StatusCode::OK);
    let csrf = csrf_of(&app).await;
    let forged = app
        .browser
        .post(app.url("/admin/logout"))
        .header(header::ORIGIN, &app.base_url)
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let out = app
        .browser
        .post(app.url("/admin/logout"))
        .header(header::ORIGIN, &app.base_url)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        clients_status(&app, &app.browser).await,
        StatusCode::UNAUTHORIZED
    );
    // Ended on the server: a copy of the cookie signs nobody in either.
    assert_eq!(
        status_with_cookie(&app, &copied).await,
        StatusCode::UNAUTHORIZED
    );
}

// The CLI blocks a worker while the broker answers on another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_ends_every_console_session_of_a_user_who_may_sign_in_again() {
    let app = console_app().await;
    let signed = app.console_sign_in("alice", "alice").await;
    let laptop = session_cookie(&signed);
    assert_eq!(status_with_cookie(&app, &laptop).await, StatusCode::OK);

    let admin = app.admin();
    let ended = admin
        .request(
            Method::DELETE,
            &format!("/admin/api/console/sessions/{ALICE}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        status_with_cookie(&app, &laptop).await,
        StatusCode::UNAUTHORIZED
    );
    let page = reqwest::Client::new()
        .get(app.url("/admin/"))
        .header(header::COOKIE, &laptop)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"sign-in\""), "the sign-in page: {page}");
    let row = admin
        .audit()
        .await
        .into_iter()
        .find(|r| r["action"] == "console.sessions.end")
        .expect("audited");
    assert_eq!(row["subject"], ALICE);
    assert_eq!(row["actor"], "admin:tests");
    let blank = admin
        .request(Method::DELETE, "/admin/api/console/sessions/%20")
        .send()
        .await
        .unwrap();
    assert_eq!(blank.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Signing in again (later) works.
    app.clock.advance(chrono::TimeDelta::seconds(1));
    let again = session_cookie(&app.console_sign_in("alice", "alice").await);
    assert_eq!(status_with_cookie(&app, &again).await, StatusCode::OK);

    // The CLI: only where the sessions are, the running broker.
    let local = crate::support::cli(&app.config_path, &["admin", "end-console-sessions", ALICE]);
    assert_eq!(local.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&local.stderr).contains("--url"));
    let dir = tempfile::tempdir().unwrap();
    let remote = std::process::Command::new(env!("CARGO_BIN_EXE_authproxy"))
        .env("AUTHPROXY_LOGINS", dir.path().join("logins.json"))
        .env("AUTHPROXY_URL", &app.base_url)
        .env("AUTHPROXY_ADMIN_TOKEN", admin.token())
        .args(["admin", "end-console-sessions", ALICE])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&remote.stdout)
            .contains(&format!("ended every console session of {ALICE}")),
        "{}",
        String::from_utf8_lossy(&remote.stderr)
    );
    assert_eq!(
        status_with_cookie(&app, &again).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_realm_user_who_is_not_an_admin_gets_no_session_and_the_refusal_is_audited() {
    let app = console_app().await;
    let refused = app.console_sign_in("legacy", "legacy").await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(
        refused
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .all(|c| !c.to_str().unwrap().starts_with("authproxy-console="))
    );
    let html = refused.text().await.unwrap();
    assert!(
        html.contains(&format!(
            "legacy (subject {LEGACY}) signed in at the realm but is not an administrator"
        )),
        "{html}"
    );
    assert_eq!(
        clients_status(&app, &app.browser).await,
        StatusCode::UNAUTHORIZED
    );
    let denied = app
        .admin()
        .audit()
        .await
        .into_iter()
        .find(|r| r["action"] == "console.login")
        .unwrap();
    assert_eq!(denied["outcome"], "denied");
    assert_eq!(denied["actor"], format!("console:{LEGACY}"));
    assert_eq!(denied["subject"], "legacy");
}

#[tokio::test]
async fn administrators_are_their_subjects_so_a_username_taken_over_lets_nobody_in() {
    let http = reqwest::Client::new();
    let name = format!("ops-{:08x}", rand::random::<u32>());
    let admin = idp::create_realm_user(&http, &name, "admin-password").await;
    let app = console_app_for(&[admin.as_str()]).await;
    let signed = app.console_sign_in(&name, "admin-password").await;
    assert_eq!(signed.status(), StatusCode::OK);
    let session = session_cookie(&signed);

    // The administrator is renamed at the realm (a realm may let users edit
    // their username): still an administrator, session and sign-in alike.
    let renamed = format!("{name}-renamed");
    idp::rename_realm_user(&http, &admin, &renamed).await;
    assert_eq!(status_with_cookie(&app, &session).await, StatusCode::OK);
    let again = app
        .console_sign_in_from(&new_browser(), &renamed, "admin-password")
        .await;
    assert_eq!(again.status(), StatusCode::OK);

    // Somebody else takes the freed username: they are not let in.
    let taker = idp::create_realm_user(&http, &name, "taker-password").await;
    let impostor = new_browser();
    let refused = app
        .console_sign_in_from(&impostor, &name, "taker-password")
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains(&format!("(subject {taker})"))
    );
    assert_eq!(
        clients_status(&app, &impostor).await,
        StatusCode::UNAUTHORIZED
    );
}

#[test]
fn a_configuration_naming_administrators_by_username_is_refused_with_what_replaced_it() {
    let toml = r#"
[[realms]]
name = "tenant-a"
authority = "https://kc.example/realms/tenant-a"
[console]
realm = "tenant-a"
admins = ["alice"]
"#;
    let err = authproxy::config::RawConfig::from_toml(toml)
        .unwrap()
        .validate()
        .unwrap_err();
    let problems: Vec<(&str, &str)> = err
        .0
        .iter()
        .map(|p| (p.key.as_str(), p.message.as_str()))
        .collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(problems[0].0, "console.admins");
    assert!(
        problems[0].1.contains("console.admin_subjects"),
        "{problems:?}"
    );
    assert_eq!(problems[1].0, "console.admin_subjects");
}

#[tokio::test]
async fn a_callback_in_another_browser_signs_nobody_in() {
    let app = console_app().await;
    let start = app
        .browser
        .get(app.url("/admin/login"))
        .send()
        .await
        .unwrap();
    let authorize = url::Url::parse(start.headers()["location"].to_str().unwrap()).unwrap();
    let callback = app.sign_in_at_idp(&authorize, "alice", "alice").await;
    // The attacker's own sign-in, handed to a victim's browser (login CSRF).
    let victim = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = victim.get(callback).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    assert!(page.text().await.unwrap().contains("browser_mismatch"));
    assert_eq!(
        clients_status(&app, &victim).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn console_pages_carry_a_strict_csp_and_say_when_the_console_is_off() {
    let app = TestApp::spawn().await;
    let page = app.browser.get(app.url("/admin/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline"));
    let html = page.text().await.unwrap();
    assert!(html.contains("The console is off"), "{html}");
    let login = app
        .browser
        .get(app.url("/admin/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::NOT_FOUND);
    let script = app
        .browser
        .get(app.url("/admin/console.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        script.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    // The console's session never authenticates a token-less API call by itself.
    assert_eq!(
        clients_status(&app, &app.browser).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_console_realm_without_a_broker_client_leaves_the_console_client_out_of_a_sync() {
    // The admins' realm has no broker client: the console's client there is
    // registered by hand, and checking the other clients still works.
    let config = TestConfig::demo()
        .realm("admins", &idp().authority("tenant-b"))
        .raw(&console_section(&[ALICE]).replace("tenant-a", "admins"));
    let app = TestApp::start(config).await;
    let changes: Vec<Value> = app
        .admin()
        .request(Method::POST, "/admin/api/clients/sync?dry_run=true")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let realms: Vec<&str> = changes
        .iter()
        .map(|c| c["realm"].as_str().unwrap())
        .collect();
    assert_eq!(realms, ["tenant-a", "tenant-b"], "{changes:?}");
    assert!(
        changes.iter().all(|c| c["client_id"] == CLIENT_ID),
        "{changes:?}"
    );
}
