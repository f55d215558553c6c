use reqwest::Method;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{CRM_ORIGIN, TestApp, idp, jwt_claims};

#[tokio::test]
async fn admin_api_without_a_valid_token_is_401() {
    let app = TestApp::spawn().await;
    let none = app
        .browser
        .get(app.url("/admin/api/clients"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert!(
        none.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let wrong = app
        .browser
        .get(app.url("/admin/api/clients"))
        .bearer_auth("apx_admin_nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_origin_lists_are_422_with_the_field_path() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    for origin in [
        "*",
        "https://a.example/",
        "https://a.example/path",
        "https://user@a.example",
        "javascript:alert(1)",
        "https://*.a.example",
        "http://a.example",
        "HTTPS://A.EXAMPLE",
    ] {
        let response = admin.create_client(&json!({"client_id": "crm.example.com", "realms": ["tenant-a"], "origins": ["https://ok.example", origin]})).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{origin}"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "validation_failed");
        assert_eq!(body["fields"][0]["path"], "origins[1]", "{origin}");
        assert!(body["fields"][0]["message"].as_str().unwrap().len() > 10);
    }
    let wrong_types = admin
        .create_client(
            &json!({"client_id": "crm.example.com", "realms": "tenant-a", "origins": []}),
        )
        .await;
    assert_eq!(wrong_types.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        wrong_types.json::<Value>().await.unwrap()["fields"][0]["path"],
        "realms"
    );
}

#[tokio::test]
async fn a_client_added_through_the_admin_api_works_for_login_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let created = admin.create_client(&json!({"client_id": "new.localhost:8081", "realms": ["tenant-a"], "origins": [CRM_ORIGIN]})).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let login = app
        .start_login_for("new.localhost:8081", "alice@tenant-a.test")
        .await;
    assert_eq!(
        login
            .authorize_url
            .query_pairs()
            .find(|(k, _)| k == "client_id")
            .unwrap()
            .1,
        "new.localhost:8081"
    );

    let listed: Vec<Value> = admin
        .request(Method::GET, "/admin/api/clients")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        listed
            .iter()
            .any(|c| c["client_id"] == "new.localhost:8081")
    );
    let audit = admin.audit().await;
    assert!(audit.iter().any(|r| r["action"] == "client.create"
        && r["subject"] == "new.localhost:8081"
        && r["actor"] == "admin:tests"));
}

#[tokio::test]
async fn a_client_added_with_the_cli_reaches_the_running_service() {
    let app = TestApp::spawn().await;
    let output = app.cli(&[
        "clients",
        "add",
        "cli.localhost:8081",
        "--origin",
        CRM_ORIGIN,
        "--realm",
        "tenant-a",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let bad = app.cli(&[
        "clients",
        "add",
        "cli2.localhost",
        "--origin",
        "https://x.example/",
        "--realm",
        "tenant-a",
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("origins[0]"));
    // The service watches the store and picks the change up within a second.
    let mut status = StatusCode::BAD_REQUEST;
    for _ in 0..30 {
        let response = app
            .browser
            .get(app.url("/login"))
            .query(&[
                ("client_id", "cli.localhost:8081"),
                ("user", "alice@tenant-a.test"),
                ("origin", CRM_ORIGIN),
                ("txn", &"t".repeat(43)),
                ("txn_challenge", &"c".repeat(43)),
            ])
            .send()
            .await
            .unwrap();
        status = response.status();
        if status == StatusCode::FOUND {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, StatusCode::FOUND);
}

#[tokio::test]
async fn clients_sync_creates_the_client_at_the_realm_then_reports_no_diff_and_the_client_logs_in()
{
    let app = TestApp::spawn().await;
    let port = app.base_url.rsplit(':').next().unwrap().to_owned();
    let client_id = format!("sync.localhost:{port}");
    let added = app.cli(&[
        "clients", "add", &client_id, "--origin", CRM_ORIGIN, "--realm", "tenant-a",
    ]);
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );

    let dry = app.cli(&["clients", "sync", "--realm", "tenant-a", "--dry-run"]);
    let dry_out = String::from_utf8_lossy(&dry.stdout).to_string();
    assert!(
        dry_out.contains(&format!("tenant-a/{client_id}: create (dry run)")),
        "{dry_out}"
    );

    let first = app.cli(&["clients", "sync", "--realm", "tenant-a"]);
    let first_out = String::from_utf8_lossy(&first.stdout).to_string();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        first_out.contains(&format!("tenant-a/{client_id}: create")),
        "{first_out}"
    );
    assert!(
        first_out.contains(&format!(
            "+ redirectUris: {}/authproxy/{client_id}",
            app.base_url
        )),
        "{first_out}"
    );

    let second = app.cli(&["clients", "sync", "--realm", "tenant-a"]);
    let second_out = String::from_utf8_lossy(&second.stdout).to_string();
    assert!(
        second_out.contains(&format!("tenant-a/{client_id}: unchanged")),
        "{second_out}"
    );
    assert!(
        !second_out.contains("create") && !second_out.contains("update"),
        "{second_out}"
    );

    // The admin API's action agrees.
    let admin = app.admin();
    let changes: Vec<Value> = admin
        .request(
            Method::POST,
            "/admin/api/clients/sync?realm=tenant-a&dry_run=true",
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        changes
            .iter()
            .any(|c| c["client_id"] == client_id.as_str() && c["action"] == "unchanged")
    );

    // A browser-less login through the synced client.
    let login = app.start_login_for(&client_id, "alice@tenant-a.test").await;
    let callback = app
        .sign_in_at_idp(&login.authorize_url, "alice", "alice")
        .await;
    app.complete_and_confirm_as(&client_id, callback, &login.txn)
        .await;
    let tokens: Value = app
        .handoff_as(&client_id, "/api/handoff", &login.txn, &login.verifier)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tokens["client_id"], client_id.as_str());
    assert_eq!(
        jwt_claims(tokens["id_token"].as_str().unwrap())["aud"],
        client_id.as_str()
    );
    assert_eq!(tokens["authority"], idp().authority("tenant-a"));
}

#[tokio::test]
async fn directory_rules_import_and_export_through_the_admin_api() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let bad = admin
        .import("kind,key,realm,idp_hint\nuser,x@y.test,tenant-a,\nuser,z@y.test,nowhere,\n")
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        bad.json::<Value>().await.unwrap()["fields"][0]["path"],
        "line 3"
    );
    assert_eq!(
        app.discover("x@y.test").await.status(),
        StatusCode::NOT_FOUND,
        "nothing half-imported"
    );

    let rule = admin
        .request(Method::POST, "/admin/api/directory/rules")
        .json(&json!({"kind": "domain", "key": "y.test", "realm": "tenant-b"}))
        .send()
        .await
        .unwrap();
    assert_eq!(rule.status(), StatusCode::NO_CONTENT);
    let found: Value = app.discover("x@y.test").await.json().await.unwrap();
    assert_eq!(found[0]["authority"], idp().authority("tenant-b"));

    let csv = admin
        .request(Method::GET, "/admin/api/directory/export")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(csv.starts_with("kind,key,realm,idp_hint\n"));
    assert!(csv.contains("domain,y.test,tenant-b,"));
    assert!(csv.contains("not_migrated,legacy@tenant-a.test,,"));
}

#[tokio::test]
async fn a_failed_clients_sync_names_the_realm_the_client_and_what_to_check() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    // A realm the identity server does not have, saved without its check.
    let ghost = admin
        .send_json(
            Method::PUT,
            "/admin/api/realms/ghost?check=false",
            &json!({"name": "ghost", "authority": idp().authority("ghost"),
                "broker_client_id": "authproxy-broker", "broker_client_secret": "authproxy-broker-secret"}),
        )
        .await;
    assert_eq!(ghost.status(), StatusCode::OK);
    let added = app.cli(&[
        "clients",
        "add",
        "ghost.example.com",
        "--origin",
        "https://ghost.example.com",
        "--realm",
        "ghost",
    ]);
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );

    let sync = app.cli(&["clients", "sync", "--realm", "ghost"]);
    assert!(!sync.status.success());
    let stderr = String::from_utf8_lossy(&sync.stderr);
    for expected in [
        "client ghost.example.com",
        "in realm ghost",
        "Check that realm ghost",
    ] {
        assert!(
            stderr.contains(expected),
            "{expected:?} missing from: {stderr}"
        );
    }
    // The admin API (and so the console and a remote CLI) says the same.
    let answer = admin
        .request(
            Method::POST,
            "/admin/api/clients/sync?realm=ghost&dry_run=true",
        )
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_server_error(), "an upstream failure");
    let body = answer.text().await.unwrap();
    assert!(
        body.contains("client ghost.example.com") && body.contains("in realm ghost"),
        "{body}"
    );
}

#[tokio::test]
async fn the_openapi_document_describes_the_admin_api() {
    let app = TestApp::spawn().await;
    let doc = app.get_json("/admin/api/openapi.json").await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/admin/api/clients",
        "/admin/api/callers",
        "/admin/api/audit",
        "/admin/api/clients/sync",
        "/admin/api/directory/import",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    assert!(doc["components"]["schemas"]["ClientInput"].is_object());
}

#[tokio::test]
async fn realms_are_validated_listed_and_protected_while_in_use() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let put = |name: &'static str, body: Value| {
        app.browser
            .put(app.url(&format!("/admin/api/realms/{name}")))
            .bearer_auth(admin.token())
            .json(&body)
            .send()
    };
    let bad = put(
        "extra",
        json!({"name": "extra", "authority": "http://id.example/realms/extra/"}),
    )
    .await
    .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        bad.json::<Value>().await.unwrap()["fields"][0]["path"],
        "authority"
    );
    let good = put(
        "extra",
        json!({"name": "extra", "authority": idp().authority("tenant-b")}),
    )
    .await
    .unwrap();
    assert_eq!(good.status(), StatusCode::OK);
    let listed: Vec<Value> = admin
        .request(Method::GET, "/admin/api/realms")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(listed.iter().any(|r| r["name"] == "extra"));
    assert!(
        listed
            .iter()
            .all(|r| r.get("broker_client_secret").is_none()),
        "secrets are never shown"
    );
    let in_use = admin
        .request(Method::DELETE, "/admin/api/realms/tenant-a")
        .send()
        .await
        .unwrap();
    assert_eq!(in_use.status(), StatusCode::CONFLICT);
    let removed = app.cli(&["realms", "remove", "extra"]);
    assert!(
        removed.status.success(),
        "{}",
        String::from_utf8_lossy(&removed.stderr)
    );
    let listed = String::from_utf8(app.cli(&["realms", "list"]).stdout).unwrap();
    assert!(
        listed.contains("tenant-a") && !listed.contains("extra"),
        "{listed}"
    );
}

#[tokio::test]
async fn an_admin_change_is_audited_with_its_address_and_request_id() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let created = admin
        .create_client(&json!({"client_id": "audited.localhost:8081", "realms": ["tenant-a"], "origins": [CRM_ORIGIN]}))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let request_id = created.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let rows = admin.audit().await;
    let row = rows
        .iter()
        .find(|r| r["request_id"] == request_id.as_str())
        .unwrap_or_else(|| panic!("the change's row names its request: {rows:?}"));
    assert_eq!(row["source"], "127.0.0.1");
    assert_eq!(row["outcome"], "changed");
}

#[tokio::test]
async fn a_realm_changed_without_its_broker_secret_keeps_the_stored_one() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let body = |broker: &str| {
        json!({"name": "tenant-a", "authority": idp().authority("tenant-a"),
            "extra_scopes": ["profile"], "broker_client_id": broker})
    };
    let changed = admin
        .send_json(
            Method::PUT,
            "/admin/api/realms/tenant-a",
            &body("authproxy-broker"),
        )
        .await;
    assert_eq!(
        changed.status(),
        StatusCode::OK,
        "{}",
        changed.text().await.unwrap()
    );
    // The kept secret still works: the sync signs in to the realm with it.
    let sync = admin
        .request(
            Method::POST,
            "/admin/api/clients/sync?dry_run=true&realm=tenant-a",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        sync.status(),
        StatusCode::OK,
        "{}",
        sync.text().await.unwrap()
    );
    // Another broker client needs its own secret.
    let other = admin
        .send_json(
            Method::PUT,
            "/admin/api/realms/tenant-a",
            &body("another-client"),
        )
        .await;
    assert_eq!(other.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_directory_rule_changed_or_removed_says_where_its_users_went_in_the_audit_trail() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let rule =
        |realm: Option<&str>| json!({"kind": "user", "key": "alice@tenant-a.test", "realm": realm});
    let moved = admin
        .send_json(
            Method::POST,
            "/admin/api/directory/rules",
            &rule(Some("tenant-b")),
        )
        .await;
    assert_eq!(moved.status(), StatusCode::NO_CONTENT);
    let removed = admin
        .send_json(Method::DELETE, "/admin/api/directory/rules", &rule(None))
        .await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    let rows: Vec<Value> = admin.audit().await;
    let reason = |action: &str| {
        rows.iter()
            .find(|r| r["action"] == action)
            .and_then(|r| r["reason"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(
        reason("directory.put"),
        r#"goes_to: "realm tenant-a" -> "realm tenant-b""#
    );
    assert_eq!(
        reason("directory.delete"),
        "removed (went to realm tenant-b)"
    );
}
