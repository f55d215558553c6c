//! Administration without a shell on the broker's host: admin tokens that can be
//! listed, expired and revoked; caller secrets rotated; "where does this user
//! go?"; the audit trail filtered; and the CLI's remote mode with its stored
//! login, which sends a token only where it cannot be read on the way.

use authproxy::clock::Clock as _;
use chrono::TimeDelta;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::TestApp;

/// The real binary, in remote mode against `app`, with no configuration file.
fn remote(app: &TestApp, logins: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_authproxy"))
        .env_remove("AUTHPROXY_ACTOR")
        .env_remove("AUTHPROXY_ADMIN_TOKEN")
        .env("AUTHPROXY_LOGINS", logins)
        .env("AUTHPROXY_URL", &app.base_url)
        .args(args)
        .output()
        .unwrap()
}

fn stdout(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The status of `GET /admin/api/realms` with `token`.
async fn status_with(app: &TestApp, token: &str) -> StatusCode {
    app.browser
        .get(app.url("/admin/api/realms"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

/// A new admin token's value and id.
async fn new_token(admin: &crate::support::AdminApi, body: &Value) -> (String, String) {
    let created = admin
        .send_json(Method::POST, "/admin/api/tokens", body)
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    (
        created["token"].as_str().unwrap().to_owned(),
        created["id"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn an_admin_token_is_listed_without_its_value_and_refused_after_its_days() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let (token, id) = new_token(&admin, &json!({"label": "ci", "expires_in_days": 30})).await;
    assert!(token.starts_with("apx_admin_"));
    assert_eq!(id.len(), 16);

    let listed: Vec<Value> = admin.get_json("/admin/api/tokens").await;
    let text = serde_json::to_string(&listed).unwrap();
    assert!(!text.contains(&token), "a listing never shows a token");
    let ci = listed.iter().find(|t| t["id"] == id.as_str()).unwrap();
    assert_eq!(ci["label"], "ci");
    assert_eq!(ci["status"], "active");

    assert_eq!(status_with(&app, &token).await, StatusCode::OK);
    // The token's own end: 30 days on, it is refused.
    app.clock.advance(TimeDelta::days(31));
    assert_eq!(status_with(&app, &token).await, StatusCode::UNAUTHORIZED);
    let listed: Vec<Value> = admin.get_json("/admin/api/tokens").await;
    let ci = listed.iter().find(|t| t["id"] == id.as_str()).unwrap();
    assert_eq!(ci["status"], "expired");

    for (body, field) in [
        (json!({"label": "no spaces"}), "label"),
        (
            json!({"label": "x", "expires_in_days": 0}),
            "expires_in_days",
        ),
        (
            json!({"label": "x", "expires_in_days": 99999}),
            "expires_in_days",
        ),
    ] {
        let refused = admin
            .send_json(Method::POST, "/admin/api/tokens", &body)
            .await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let refused: Value = refused.json().await.unwrap();
        assert_eq!(refused["fields"][0]["path"], field, "{refused}");
    }
}

#[tokio::test]
async fn an_admin_token_expired_now_or_revoked_is_refused_at_once_and_audited() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let (token, id) = new_token(&admin, &json!({"label": "ci"})).await;
    let (second_token, second_id) = new_token(&admin, &json!({"label": "ops"})).await;
    assert_eq!(status_with(&app, &second_token).await, StatusCode::OK);
    let past = admin
        .send_json(
            Method::POST,
            &format!("/admin/api/tokens/{second_id}/expire"),
            &json!({"at": "2020-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(past.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let expired = admin
        .request(
            Method::POST,
            &format!("/admin/api/tokens/{second_id}/expire"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), StatusCode::OK);
    assert_eq!(
        status_with(&app, &second_token).await,
        StatusCode::UNAUTHORIZED
    );

    // Revoked: gone from the list, and unknown afterwards.
    assert_eq!(status_with(&app, &token).await, StatusCode::OK);
    let revoke = admin
        .request(Method::DELETE, &format!("/admin/api/tokens/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::NO_CONTENT);
    assert_eq!(status_with(&app, &token).await, StatusCode::UNAUTHORIZED);
    let again = admin
        .request(Method::DELETE, &format!("/admin/api/tokens/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    let listed: Vec<Value> = admin.get_json("/admin/api/tokens").await;
    assert!(listed.iter().all(|t| t["id"] != id.as_str()));
    let actions: Vec<String> = admin
        .audit()
        .await
        .iter()
        .map(|r| r["action"].as_str().unwrap().to_owned())
        .filter(|a| a.starts_with("admin.token"))
        .collect();
    assert_eq!(
        actions,
        [
            "admin.token.create",
            "admin.token.create",
            "admin.token.create",
            "admin.token.expire",
            "admin.token.revoke"
        ]
    );
}

#[tokio::test]
async fn a_rotated_caller_secret_replaces_the_old_one_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let old = admin
        .create_caller(
            "rotating",
            json!({"realms": ["tenant-a"], "domains": ["tenant-a.test"]}),
        )
        .await;
    let rotated = admin
        .request(Method::POST, "/admin/api/callers/rotating/secret")
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.status(), StatusCode::OK);
    let rotated: Value = rotated.json().await.unwrap();
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    let impersonate = |secret: String| {
        let (browser, url) = (app.browser.clone(), app.url("/api/impersonation"));
        async move {
            browser
                .post(url)
                .basic_auth("rotating", Some(secret))
                .json(&json!({"user": "alice@tenant-a.test"}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(impersonate(old).await, StatusCode::UNAUTHORIZED);
    assert_eq!(impersonate(new).await, StatusCode::OK);
    let listed: Vec<Value> = admin.get_json("/admin/api/callers").await;
    assert!(
        listed
            .iter()
            .all(|c| c.get("secret").is_none_or(Value::is_null))
    );
    let missing = admin
        .request(Method::POST, "/admin/api/callers/nobody/secret")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn lookup_says_where_a_user_goes_and_the_audit_trail_filters_by_day_action_and_outcome() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let import = admin
        .import("kind,key,realm,idp_hint\nuser,vip@lookup.test,tenant-b,entra\nnot_migrated,old@lookup.test,,\n")
        .await;
    assert_eq!(import.status(), StatusCode::OK);
    let look = |user: &str| {
        let body = json!({ "user": user });
        let admin = &admin;
        async move {
            admin
                .send_json(Method::POST, "/admin/api/directory/lookup", &body)
                .await
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let vip = look("VIP@lookup.test").await;
    assert_eq!(vip["outcome"], "sso");
    assert_eq!(vip["realm"], "tenant-b");
    assert_eq!(vip["idp_hint"], "entra");
    assert!(
        vip["authority"]
            .as_str()
            .unwrap()
            .ends_with("/realms/tenant-b")
    );
    assert_eq!(look("old@lookup.test").await["outcome"], "not_migrated");
    assert_eq!(look("nobody@elsewhere.example").await["outcome"], "unknown");
    let bad = admin
        .send_json(
            Method::POST,
            "/admin/api/directory/lookup",
            &json!({"user": "not a name"}),
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Never in a URL: the old GET is not served.
    let in_url = admin
        .get("/admin/api/directory/lookup?user=vip%40lookup.test")
        .await;
    assert_eq!(in_url.status(), StatusCode::METHOD_NOT_ALLOWED);

    let today = app.clock.now().date_naive().to_string();
    let tomorrow = (app.clock.now() + TimeDelta::days(1))
        .date_naive()
        .to_string();
    let rows: Vec<Value> = admin
        .get_json(&format!(
            "/admin/api/audit?since={today}&action=directory&outcome=changed"
        ))
        .await;
    assert_eq!(
        rows.iter()
            .map(|r| r["action"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["directory.import"]
    );
    let none: Vec<Value> = admin
        .get_json(&format!("/admin/api/audit?since={tomorrow}"))
        .await;
    assert!(none.is_empty());
    let bad = admin.get("/admin/api/audit?since=yesterday").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let bad: Value = bad.json().await.unwrap();
    assert!(
        bad["error_description"]
            .as_str()
            .unwrap()
            .contains("2026-12-01"),
        "{bad}"
    );
}

// The CLI blocks a worker while the broker answers on another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_logs_in_once_refuses_a_wrong_token_and_never_sends_one_in_clear() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let dir = tempfile::tempdir().unwrap();
    let logins = dir.path().join("logins.json");
    let token_file = dir.path().join("admin.token");
    std::fs::write(&token_file, admin.token()).unwrap();

    // Without a token: what to do.
    let none = remote(&app, &logins, &["clients", "list"]);
    assert_eq!(none.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&none.stderr).contains("authproxy login"));

    // A wrong token is refused by the broker, and not kept.
    let wrong = dir.path().join("wrong.token");
    std::fs::write(&wrong, "apx_admin_wrong").unwrap();
    let refused = remote(
        &app,
        &logins,
        &["login", "--token-file", wrong.to_str().unwrap()],
    );
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("refused the admin token"), "{said}");
    assert!(!logins.exists());

    let login = remote(
        &app,
        &logins,
        &["login", "--token-file", token_file.to_str().unwrap()],
    );
    assert!(stdout(&login).contains("logged in to"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&logins).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only its owner reads the logins");
    }

    // Commands of the broker's own store are refused remotely, with where to run them.
    let keys = remote(&app, &logins, &["keys", "list"]);
    assert_eq!(keys.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&keys.stderr).contains("without --url"));

    // A token never travels in clear to another machine.
    let clear = std::process::Command::new(env!("CARGO_BIN_EXE_authproxy"))
        .env("AUTHPROXY_LOGINS", &logins)
        .args([
            "clients",
            "list",
            "--url",
            "http://broker.example",
            "--token-file",
        ])
        .arg(&token_file)
        .output()
        .unwrap();
    assert_eq!(clear.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&clear.stderr).contains("use https"));

    let logout = remote(&app, &logins, &["logout"]);
    assert!(stdout(&logout).contains("forgot"));
    let after = remote(&app, &logins, &["clients", "list"]);
    assert_eq!(after.status.code(), Some(2));
}

/// A stored login for `app` in `dir`: the logins file.
fn logged_in(app: &TestApp, dir: &std::path::Path) -> std::path::PathBuf {
    let logins = dir.join("logins.json");
    let token_file = dir.join("admin.token");
    std::fs::write(&token_file, app.admin().token()).unwrap();
    let login = remote(
        app,
        &logins,
        &["login", "--token-file", token_file.to_str().unwrap()],
    );
    assert!(stdout(&login).contains("logged in to"));
    logins
}

// The CLI blocks a worker while the broker answers on another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logged_in_cli_changes_lists_looks_up_audits_and_makes_tokens_remotely() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let logins = logged_in(&app, dir.path());

    // Remote commands: a change, a list as JSON, a lookup in words, the audit
    // filtered by day, a token made and listed.
    let added = remote(
        &app,
        &logins,
        &[
            "clients",
            "add",
            "remote.example",
            "--origin",
            "https://remote.example",
            "--realm",
            "tenant-a",
        ],
    );
    assert_eq!(stdout(&added).trim(), "registered client remote.example");
    let listed: Value = serde_json::from_str(&stdout(&remote(
        &app,
        &logins,
        &["clients", "list", "--output", "json"],
    )))
    .unwrap();
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["client_id"] == "remote.example")
    );
    let put = remote(
        &app,
        &logins,
        &[
            "directory",
            "put",
            "user",
            "bob@remote.example",
            "--realm",
            "tenant-a",
        ],
    );
    stdout(&put);
    let words = stdout(&remote(
        &app,
        &logins,
        &["directory", "lookup", "bob@remote.example"],
    ));
    assert!(
        words.contains("bob@remote.example logs in at realm tenant-a"),
        "{words}"
    );
    let today = app.clock.now().date_naive().to_string();
    let audit = stdout(&remote(
        &app,
        &logins,
        &[
            "audit",
            "--since",
            &today,
            "--action",
            "client",
            "--by",
            "admin:tests",
            "--output",
            "json",
        ],
    ));
    let audit: Value = serde_json::from_str(&audit).unwrap();
    assert_eq!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["action"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["client.create"]
    );
    let made = remote(
        &app,
        &logins,
        &["admin", "create-token", "--label", "deploy"],
    );
    let new_token = stdout(&made).trim().to_owned();
    assert!(new_token.starts_with("apx_admin_"));
    assert!(String::from_utf8_lossy(&made.stderr).contains("shown once"));
    let tokens = stdout(&remote(&app, &logins, &["admin", "tokens"]));
    assert!(
        tokens.lines().any(|l| l.contains("\tdeploy\tactive\t")),
        "{tokens}"
    );
    assert!(!tokens.contains(&new_token));
}
