//! Who owns what (docs/src/operate/administration.md): the configuration file
//! seeds realms, clients, tenants and directory rules once and the store owns
//! them after, so an admin's change or removal survives a restart; an entry
//! marked `managed_by = "file"` stays the file's, and the refusal says where to
//! change it.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{AdminApi, CLIENT_ID, TestApp, TestConfig, captured_logs};

async fn client_origins(admin: &AdminApi, id: &str) -> Option<Vec<String>> {
    let answer: Value = admin.get_json("/admin/api/clients").await;
    let clients = answer.as_array().unwrap_or_else(|| panic!("{answer}"));
    clients.iter().find(|c| c["client_id"] == id).map(|c| {
        c["origins"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o.as_str().unwrap().to_owned())
            .collect()
    })
}

#[tokio::test]
async fn what_an_admin_changes_in_the_file_seeded_entries_stays_changed_after_a_restart() {
    let (app, stopper) = TestApp::start_stoppable(TestConfig::demo().raw(&format!(
        "[[tenants]]\nid = \"seeded\"\nenvironment = \"sandbox\"\nrealm = \"tenant-a\"\nclients = [\"{CLIENT_ID}\"]\nprovisioning = \"existing_only\"\n"
    )))
    .await;
    let admin = app.admin();
    let changed = admin
        .send_json(
            Method::PATCH,
            &format!("/admin/api/clients/{CLIENT_ID}"),
            &json!({"add_origins": ["https://eu.crm.example"]}),
        )
        .await;
    assert_eq!(
        changed.status(),
        StatusCode::OK,
        "the file's client is the admin's to change"
    );
    let removed = admin
        .request(Method::DELETE, "/admin/api/directory/rules")
        .json(&json!({"kind": "user", "key": "alice@tenant-a.test"}))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    let tenant = admin
        .send_json(
            Method::PUT,
            "/admin/api/tenants/seeded",
            &json!({"environment": "sandbox", "realm": "tenant-a", "clients": [CLIENT_ID],
                "provisioning": "existing_only", "max_session_secs": 600}),
        )
        .await;
    assert_eq!(
        tenant.status(),
        StatusCode::OK,
        "{}",
        tenant.text().await.unwrap()
    );
    assert_eq!(
        app.discover("alice@tenant-a.test").await.status(),
        StatusCode::NOT_FOUND
    );

    // The admin token is made before the restart: the test restarts the
    // broker inside its own process.
    let (app, _stopper) = app.restart(stopper).await;
    let origins = client_origins(&admin, CLIENT_ID).await.unwrap();
    assert!(
        origins.iter().any(|o| o == "https://eu.crm.example"),
        "the restart kept the admin's origin: {origins:?}"
    );
    assert_eq!(
        app.discover("alice@tenant-a.test").await.status(),
        StatusCode::NOT_FOUND,
        "the removed rule stays removed"
    );
    assert_eq!(
        app.discover("bob@tenant-b.test").await.status(),
        StatusCode::OK,
        "the other rules are there"
    );
    let tenants: Vec<Value> = admin.get_json("/admin/api/tenants").await;
    let tenant = tenants.iter().find(|t| t["tenant_id"] == "seeded").unwrap();
    assert_eq!(tenant["max_session_secs"], 600, "{tenant}");
    assert!(
        captured_logs().contains("differs from the stored one, which is kept"),
        "the restart says the file's client is no longer what is stored"
    );
}

#[tokio::test]
async fn a_removed_client_of_the_file_is_not_brought_back_by_a_restart() {
    let (app, stopper) = TestApp::start_stoppable(TestConfig::demo().client(
        "extra.example",
        &["tenant-a"],
        &["https://extra.example"],
    ))
    .await;
    let admin = app.admin();
    let removed = admin
        .request(Method::DELETE, "/admin/api/clients/extra.example")
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    // The admin token is made before the restart: the test restarts the
    // broker inside its own process.
    let (_app, _stopper) = app.restart(stopper).await;
    assert_eq!(client_origins(&admin, "extra.example").await, None);
    assert!(client_origins(&admin, CLIENT_ID).await.is_some());
}

#[tokio::test]
async fn an_entry_the_file_owns_is_refused_with_where_to_change_it_and_is_rewritten_at_start() {
    let (app, stopper) = TestApp::start_stoppable(TestConfig::demo().managed_by_file()).await;
    let admin = app.admin();
    let refused = admin
        .send_json(
            Method::PATCH,
            &format!("/admin/api/clients/{CLIENT_ID}"),
            &json!({"add_origins": ["https://eu.crm.example"]}),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "managed_by_config");
    let message = body["error_description"].as_str().unwrap();
    assert!(
        message.contains("managed_by = \"file\"") && message.contains("[[clients]]"),
        "the refusal names the key: {message}"
    );
    let output = app.cli(&[
        "clients",
        "update",
        CLIENT_ID,
        "--add-origin",
        "https://eu.crm.example",
    ]);
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("managed_by = \"file\""),
        "the CLI says the same"
    );
    // The file is the truth for it: the file's entry is written again at start.
    // The admin token is made before the restart: the test restarts the
    // broker inside its own process.
    let (_app, _stopper) = app.restart(stopper).await;
    assert_eq!(
        client_origins(&admin, CLIENT_ID).await.unwrap(),
        [crate::support::CRM_ORIGIN]
    );
}

#[test]
fn managed_by_takes_only_file() {
    let toml = r#"
[[realms]]
name = "tenant-a"
authority = "https://kc.example/realms/tenant-a"
managed_by = "console"
"#;
    let err = authproxy::config::RawConfig::from_toml(toml).unwrap_err();
    assert_eq!(err.0[0].key, "realms[0].managed_by");
    assert!(err.0[0].message.contains("the only value is \"file\""));
}
