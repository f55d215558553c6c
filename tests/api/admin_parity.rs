//! The admin API and the CLI are two surfaces over one operations layer: the same
//! cases, run through each, end the same way and leave the same audit rows.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{AdminApi, CLIENT_ID, TestApp, TestConfig, idp};

/// How a case ended, whichever surface ran it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Done,
    Invalid,
    Exists,
    InUse,
    NotFound,
    ManagedByConfig,
}

/// What an API request sends.
enum Body {
    None,
    Json(Value),
    Csv(&'static str),
}

/// One administrative change, as an API request and as a CLI command.
struct Case {
    name: &'static str,
    api: (Method, String, Body),
    cli: Vec<String>,
    expected: Outcome,
}

/// A CSV file for `directory import`, written where the CLI reads it.
fn csv_file(dir: &std::path::Path, name: &str, content: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path.display().to_string()
}

const GOOD_CSV: &str = "kind,key,realm,idp_hint\nuser,one@parity.example,tenant-a,\ndomain,parity.example,tenant-b,entra\n";
const BAD_CSV: &str = "kind,key,realm,idp_hint\nuser,one@parity.example,nowhere,\nuser,two@parity.example,tenant-a,\nuser,two@parity.example,tenant-b,\n";

#[expect(clippy::too_many_lines, reason = "one table of cases")]
fn cases(dir: &std::path::Path) -> Vec<Case> {
    let origin = "https://parity.example";
    let new = "parity.example";
    let args = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    vec![
        Case {
            name: "create a client",
            api: (
                Method::POST,
                "/admin/api/clients".into(),
                Body::Json(json!({"client_id": new, "realms": ["tenant-a"], "origins": [origin]})),
            ),
            cli: args(&[
                "clients", "add", new, "--origin", origin, "--realm", "tenant-a",
            ]),
            expected: Outcome::Done,
        },
        Case {
            name: "create it again",
            api: (
                Method::POST,
                "/admin/api/clients".into(),
                Body::Json(json!({"client_id": new, "realms": ["tenant-b"], "origins": [origin]})),
            ),
            cli: args(&[
                "clients", "add", new, "--origin", origin, "--realm", "tenant-b",
            ]),
            expected: Outcome::Exists,
        },
        Case {
            name: "add one origin",
            api: (
                Method::PATCH,
                format!("/admin/api/clients/{new}"),
                Body::Json(json!({"add_origins": ["https://second.parity.example"]})),
            ),
            cli: args(&[
                "clients",
                "update",
                new,
                "--add-origin",
                "https://second.parity.example",
            ]),
            expected: Outcome::Done,
        },
        Case {
            name: "turn the approval step off",
            api: (
                Method::PATCH,
                format!("/admin/api/clients/{new}"),
                Body::Json(json!({"approval": "off"})),
            ),
            cli: args(&["clients", "update", new, "--approval", "off"]),
            expected: Outcome::Done,
        },
        Case {
            name: "set the approval step to a value that does not exist",
            api: (
                Method::PATCH,
                format!("/admin/api/clients/{new}"),
                Body::Json(json!({"approval": "sometimes"})),
            ),
            cli: args(&["clients", "update", new, "--approval", "sometimes"]),
            expected: Outcome::Invalid,
        },
        Case {
            name: "remove an origin it does not have",
            api: (
                Method::PATCH,
                format!("/admin/api/clients/{new}"),
                Body::Json(json!({"remove_origins": ["https://nope.example"]})),
            ),
            cli: args(&[
                "clients",
                "update",
                new,
                "--remove-origin",
                "https://nope.example",
            ]),
            expected: Outcome::Invalid,
        },
        Case {
            name: "replace a client that does not exist",
            api: (
                Method::PUT,
                "/admin/api/clients/ghost.example".into(),
                Body::Json(
                    json!({"client_id": "ghost.example", "realms": ["tenant-a"], "origins": [origin]}),
                ),
            ),
            cli: args(&[
                "clients",
                "replace",
                "ghost.example",
                "--origin",
                origin,
                "--realm",
                "tenant-a",
            ]),
            expected: Outcome::NotFound,
        },
        Case {
            name: "change a client the configuration file owns",
            api: (
                Method::PATCH,
                format!("/admin/api/clients/{CLIENT_ID}"),
                Body::Json(json!({"add_origins": ["https://x.example"]})),
            ),
            cli: args(&[
                "clients",
                "update",
                CLIENT_ID,
                "--add-origin",
                "https://x.example",
            ]),
            expected: Outcome::ManagedByConfig,
        },
        Case {
            name: "add a realm",
            api: (
                Method::PUT,
                "/admin/api/realms/extra".into(),
                Body::Json(json!({"name": "extra", "authority": idp().authority("tenant-b")})),
            ),
            cli: args(&[
                "realms",
                "put",
                "extra",
                "--authority",
                &idp().authority("tenant-b"),
            ]),
            expected: Outcome::Done,
        },
        Case {
            name: "put a realm with a bad authority",
            api: (
                Method::PUT,
                "/admin/api/realms/bad".into(),
                Body::Json(json!({"name": "bad", "authority": "ftp://x/"})),
            ),
            cli: args(&["realms", "put", "bad", "--authority", "ftp://x/"]),
            expected: Outcome::Invalid,
        },
        Case {
            name: "give the new client the new realm",
            api: (
                Method::PATCH,
                format!("/admin/api/clients/{new}"),
                Body::Json(json!({"add_realms": ["extra"]})),
            ),
            cli: args(&["clients", "update", new, "--add-realm", "extra"]),
            expected: Outcome::Done,
        },
        Case {
            name: "remove a realm in use",
            api: (Method::DELETE, "/admin/api/realms/extra".into(), Body::None),
            cli: args(&["realms", "remove", "extra"]),
            expected: Outcome::InUse,
        },
        Case {
            name: "remove a realm the file owns",
            api: (
                Method::DELETE,
                "/admin/api/realms/tenant-b".into(),
                Body::None,
            ),
            cli: args(&["realms", "remove", "tenant-b"]),
            expected: Outcome::ManagedByConfig,
        },
        Case {
            name: "remove the client",
            api: (
                Method::DELETE,
                format!("/admin/api/clients/{new}"),
                Body::None,
            ),
            cli: args(&["clients", "remove", new]),
            expected: Outcome::Done,
        },
        Case {
            name: "remove it again",
            api: (
                Method::DELETE,
                format!("/admin/api/clients/{new}"),
                Body::None,
            ),
            cli: args(&["clients", "remove", new]),
            expected: Outcome::NotFound,
        },
        Case {
            name: "create a caller",
            api: (
                Method::POST,
                "/admin/api/callers".into(),
                Body::Json(
                    json!({"caller_id": "parity-backend", "policy": {"realms": ["tenant-a"], "users": ["alice@a.example"]}}),
                ),
            ),
            cli: args(&[
                "callers",
                "add",
                "parity-backend",
                "--realm",
                "tenant-a",
                "--user",
                "alice@a.example",
            ]),
            expected: Outcome::Done,
        },
        Case {
            name: "create the caller again",
            api: (
                Method::POST,
                "/admin/api/callers".into(),
                Body::Json(
                    json!({"caller_id": "parity-backend", "policy": {"realms": ["tenant-b"]}}),
                ),
            ),
            cli: args(&["callers", "add", "parity-backend", "--realm", "tenant-b"]),
            expected: Outcome::Exists,
        },
        Case {
            name: "a policy naming a realm that does not exist",
            api: (
                Method::PUT,
                "/admin/api/callers/parity-backend/policy".into(),
                Body::Json(json!({"realms": ["nowhere"]})),
            ),
            cli: args(&["callers", "policy", "parity-backend", "--realm", "nowhere"]),
            expected: Outcome::Invalid,
        },
        Case {
            name: "replace the policy",
            api: (
                Method::PUT,
                "/admin/api/callers/parity-backend/policy".into(),
                Body::Json(json!({"realms": ["tenant-a"], "all_users_of": ["tenant-a"]})),
            ),
            cli: args(&[
                "callers",
                "policy",
                "parity-backend",
                "--realm",
                "tenant-a",
                "--all-users-of",
                "tenant-a",
            ]),
            expected: Outcome::Done,
        },
        Case {
            name: "replace the policy of a caller that does not exist",
            api: (
                Method::PUT,
                "/admin/api/callers/ghost/policy".into(),
                Body::Json(json!({"realms": ["tenant-a"]})),
            ),
            cli: args(&["callers", "policy", "ghost", "--realm", "tenant-a"]),
            expected: Outcome::NotFound,
        },
        Case {
            name: "put a directory rule",
            api: (
                Method::POST,
                "/admin/api/directory/rules".into(),
                Body::Json(
                    json!({"kind": "user", "key": "rule@parity.example", "realm": "tenant-a"}),
                ),
            ),
            cli: args(&[
                "directory",
                "put",
                "user",
                "rule@parity.example",
                "--realm",
                "tenant-a",
            ]),
            expected: Outcome::Done,
        },
        Case {
            name: "a rule for a realm that does not exist",
            api: (
                Method::POST,
                "/admin/api/directory/rules".into(),
                Body::Json(json!({"kind": "domain", "key": "parity.example", "realm": "nowhere"})),
            ),
            cli: args(&[
                "directory",
                "put",
                "domain",
                "parity.example",
                "--realm",
                "nowhere",
            ]),
            expected: Outcome::Invalid,
        },
        Case {
            name: "remove the rule",
            api: (
                Method::DELETE,
                "/admin/api/directory/rules".into(),
                Body::Json(json!({"kind": "user", "key": "rule@parity.example"})),
            ),
            cli: args(&["directory", "remove", "user", "rule@parity.example"]),
            expected: Outcome::Done,
        },
        Case {
            name: "remove the rule again",
            api: (
                Method::DELETE,
                "/admin/api/directory/rules".into(),
                Body::Json(json!({"kind": "user", "key": "rule@parity.example"})),
            ),
            cli: args(&["directory", "remove", "user", "rule@parity.example"]),
            expected: Outcome::NotFound,
        },
        Case {
            name: "import a file with bad rows",
            api: (
                Method::POST,
                "/admin/api/directory/import".into(),
                Body::Csv(BAD_CSV),
            ),
            cli: vec![
                "directory".into(),
                "import".into(),
                csv_file(dir, "bad.csv", BAD_CSV),
            ],
            expected: Outcome::Invalid,
        },
        Case {
            name: "import a good file",
            api: (
                Method::POST,
                "/admin/api/directory/import".into(),
                Body::Csv(GOOD_CSV),
            ),
            cli: vec![
                "directory".into(),
                "import".into(),
                csv_file(dir, "good.csv", GOOD_CSV),
            ],
            expected: Outcome::Done,
        },
        Case {
            name: "remove the caller",
            api: (
                Method::DELETE,
                "/admin/api/callers/parity-backend".into(),
                Body::None,
            ),
            cli: args(&["callers", "remove", "parity-backend"]),
            expected: Outcome::Done,
        },
        Case {
            name: "remove the caller again",
            api: (
                Method::DELETE,
                "/admin/api/callers/parity-backend".into(),
                Body::None,
            ),
            cli: args(&["callers", "remove", "parity-backend"]),
            expected: Outcome::NotFound,
        },
        Case {
            name: "put a tenant",
            api: (
                Method::PUT,
                "/admin/api/tenants/parity".into(),
                Body::Json(
                    json!({"environment": "sandbox", "realm": "tenant-a", "clients": [CLIENT_ID], "provisioning": "create"}),
                ),
            ),
            cli: args(&[
                "tenants",
                "put",
                "parity",
                "--environment",
                "sandbox",
                "--realm",
                "tenant-a",
                "--client",
                CLIENT_ID,
                "--provisioning",
                "create",
            ]),
            expected: Outcome::Done,
        },
        Case {
            name: "put a tenant of a realm that is not configured",
            api: (
                Method::PUT,
                "/admin/api/tenants/nowhere".into(),
                Body::Json(
                    json!({"environment": "sandbox", "realm": "nowhere", "clients": [CLIENT_ID], "provisioning": "create"}),
                ),
            ),
            cli: args(&[
                "tenants",
                "put",
                "nowhere",
                "--environment",
                "sandbox",
                "--realm",
                "nowhere",
                "--client",
                CLIENT_ID,
                "--provisioning",
                "create",
            ]),
            expected: Outcome::Invalid,
        },
        Case {
            name: "put a sub-tenant",
            api: (
                Method::PUT,
                "/admin/api/tenants/parity-sub".into(),
                Body::Json(
                    json!({"environment": "sandbox", "parent": "parity", "parent_may_act": true, "realm": "tenant-a", "clients": [CLIENT_ID], "provisioning": "existing_only"}),
                ),
            ),
            cli: args(&[
                "tenants",
                "put",
                "parity-sub",
                "--environment",
                "sandbox",
                "--parent",
                "parity",
                "--parent-may-act",
                "--realm",
                "tenant-a",
                "--client",
                CLIENT_ID,
                "--provisioning",
                "existing_only",
            ]),
            expected: Outcome::Done,
        },
        Case {
            name: "make a signing key",
            api: (
                Method::POST,
                "/admin/api/tenants/parity/keys".into(),
                Body::Json(json!({"kid": "k1", "generate": true})),
            ),
            cli: args(&["tenants", "keys", "parity", "add", "k1", "--generate"]),
            expected: Outcome::Done,
        },
        Case {
            name: "make it again",
            api: (
                Method::POST,
                "/admin/api/tenants/parity/keys".into(),
                Body::Json(json!({"kid": "k1", "generate": true})),
            ),
            cli: args(&["tenants", "keys", "parity", "add", "k1", "--generate"]),
            expected: Outcome::Exists,
        },
        Case {
            name: "revoke a key that does not exist",
            api: (
                Method::DELETE,
                "/admin/api/tenants/parity/keys/k9".into(),
                Body::None,
            ),
            cli: args(&["tenants", "keys", "parity", "revoke", "k9"]),
            expected: Outcome::NotFound,
        },
        Case {
            name: "revoke the key",
            api: (
                Method::DELETE,
                "/admin/api/tenants/parity/keys/k1".into(),
                Body::None,
            ),
            cli: args(&["tenants", "keys", "parity", "revoke", "k1"]),
            expected: Outcome::Done,
        },
        Case {
            name: "make an API key",
            api: (
                Method::POST,
                "/admin/api/tenants/parity/api-keys".into(),
                Body::Json(json!({"operations": ["mint_tokens"]})),
            ),
            cli: args(&[
                "tenants",
                "api-keys",
                "parity",
                "create",
                "--operation",
                "mint_tokens",
            ]),
            expected: Outcome::Done,
        },
        Case {
            name: "remove a tenant that has sub-tenants",
            api: (
                Method::DELETE,
                "/admin/api/tenants/parity".into(),
                Body::None,
            ),
            cli: args(&["tenants", "remove", "parity"]),
            expected: Outcome::InUse,
        },
        Case {
            name: "remove the sub-tenant",
            api: (
                Method::DELETE,
                "/admin/api/tenants/parity-sub".into(),
                Body::None,
            ),
            cli: args(&["tenants", "remove", "parity-sub"]),
            expected: Outcome::Done,
        },
        Case {
            name: "remove the tenant",
            api: (
                Method::DELETE,
                "/admin/api/tenants/parity".into(),
                Body::None,
            ),
            cli: args(&["tenants", "remove", "parity"]),
            expected: Outcome::Done,
        },
        Case {
            name: "remove it again",
            api: (
                Method::DELETE,
                "/admin/api/tenants/parity".into(),
                Body::None,
            ),
            cli: args(&["tenants", "remove", "parity"]),
            expected: Outcome::NotFound,
        },
    ]
}

async fn through_api(admin: &AdminApi, (method, path, body): &(Method, String, Body)) -> Outcome {
    let mut request = admin.request(method.clone(), path);
    request = match body {
        Body::None => request,
        Body::Json(body) => request.json(body),
        Body::Csv(csv) => request.header("content-type", "text/csv").body(*csv),
    };
    let response = request.send().await.unwrap();
    let status = response.status();
    let code = response
        .json::<Value>()
        .await
        .ok()
        .and_then(|b| b["error"].as_str().map(str::to_owned));
    match (status, code.as_deref()) {
        (s, _) if s.is_success() => Outcome::Done,
        (StatusCode::UNPROCESSABLE_ENTITY, _) => Outcome::Invalid,
        (StatusCode::NOT_FOUND, _) => Outcome::NotFound,
        (StatusCode::CONFLICT, Some("managed_by_config")) => Outcome::ManagedByConfig,
        (StatusCode::CONFLICT, Some("conflict"))
            if path.contains("/realms/")
                || (*method == Method::DELETE && path.contains("/tenants/")) =>
        {
            Outcome::InUse
        }
        (StatusCode::CONFLICT, Some("conflict")) => Outcome::Exists,
        other => panic!("unexpected API answer {other:?}"),
    }
}

/// The demo, its realms and clients owned by the file (`managed_by = "file"`),
/// so the cases can meet the refusal.
fn owned_by_file() -> TestConfig {
    TestConfig::demo().managed_by_file()
}

fn through_cli(app: &TestApp, args: &[String]) -> Outcome {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    classify(&app.cli(&args))
}

/// The CLI in remote mode: the same command, sent to `app`'s admin API with an
/// admin token from a file; no configuration file at all.
fn through_remote_cli(app: &TestApp, token_file: &std::path::Path, args: &[String]) -> Outcome {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_authproxy"))
        .env_remove("AUTHPROXY_ACTOR")
        .env_remove("AUTHPROXY_CONFIG")
        .env("AUTHPROXY_LOGINS", "/nonexistent/logins.json")
        .current_dir(token_file.parent().unwrap())
        .args(args)
        .arg("--url")
        .arg(&app.base_url)
        .arg("--token-file")
        .arg(token_file)
        .output()
        .unwrap();
    classify(&output)
}

fn classify(output: &std::process::Output) -> Outcome {
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    if output.status.success() {
        return Outcome::Done;
    }
    if stderr.contains("invalid input")
        || stderr.contains("invalid value")
        || stderr.contains("import refused")
    {
        Outcome::Invalid
    } else if stderr.contains("configuration file") {
        Outcome::ManagedByConfig
    } else if stderr.contains("exists") {
        Outcome::Exists
    } else if stderr.contains(" uses realm ") || stderr.contains("has sub-tenants") {
        Outcome::InUse
    } else if [
        "No client",
        "No realm",
        "No caller",
        "No such rule",
        "No tenant",
        "No key",
    ]
    .iter()
    .any(|m| stderr.contains(m))
    {
        Outcome::NotFound
    } else {
        panic!("unexpected CLI answer: {stderr}")
    }
}

/// The audit actions of the admin changes, in order, without the token creation
/// (API key ids are random: only their shape is compared).
async fn actions(admin: &AdminApi) -> Vec<(String, String)> {
    admin
        .audit()
        .await
        .into_iter()
        .filter(|row| !row["action"].as_str().unwrap().starts_with("admin.token"))
        .map(|row| {
            let subject = row["subject"].as_str().unwrap_or("");
            let subject = if subject.starts_with("ak-") && subject.len() == 19 {
                "ak-<random>"
            } else {
                subject
            };
            (
                row["action"].as_str().unwrap().to_owned(),
                subject.to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_api_and_the_cli_agree_on_every_case_and_audit_alike() {
    let api_app = TestApp::start(owned_by_file()).await;
    let cli_app = TestApp::start(owned_by_file()).await;
    let api_admin = api_app.admin();
    let cli_admin = cli_app.admin();
    let dir = tempfile::tempdir().unwrap();
    for case in cases(dir.path()) {
        let by_api = through_api(&api_admin, &case.api).await;
        let by_cli = through_cli(&cli_app, &case.cli);
        assert_eq!(
            (by_api, by_cli),
            (case.expected, case.expected),
            "{}",
            case.name
        );
    }
    let api_rows = actions(&api_admin).await;
    let cli_rows = actions(&cli_admin).await;
    assert_eq!(api_rows, cli_rows, "the same audit rows");
    assert_eq!(
        api_rows.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>(),
        [
            "client.create",
            "client.update",
            "client.update",
            "realm.put",
            "client.update",
            "client.delete",
            "caller.create",
            "caller.policy",
            "directory.put",
            "directory.delete",
            "directory.import",
            "caller.delete",
            "tenant.put",
            "tenant.put",
            "tenant.key.add",
            "tenant.key.revoke",
            "tenant.api_key.create",
            "tenant.delete",
            "tenant.delete",
        ]
    );
    let cli_actors: Vec<Value> = cli_admin.audit().await;
    assert!(
        cli_actors
            .iter()
            .filter(|r| r["action"] != "admin.token.create")
            .all(|r| r["actor"] == "cli:tests"),
        "{cli_actors:?}"
    );
}

// The CLI blocks a worker while the broker answers on another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_in_remote_mode_agrees_with_the_api_on_every_case_and_audits_as_the_token() {
    let api_app = TestApp::start(owned_by_file()).await;
    let remote_app = TestApp::start(owned_by_file()).await;
    let api_admin = api_app.admin();
    let remote_admin = remote_app.admin();
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("admin.token");
    std::fs::write(&token_file, format!("{}\n", remote_admin.token())).unwrap();
    for case in cases(dir.path()) {
        let by_api = through_api(&api_admin, &case.api).await;
        let by_remote = through_remote_cli(&remote_app, &token_file, &case.cli);
        assert_eq!(
            (by_api, by_remote),
            (case.expected, case.expected),
            "{}",
            case.name
        );
    }
    assert_eq!(
        actions(&api_admin).await,
        actions(&remote_admin).await,
        "the same audit rows"
    );
    let rows: Vec<Value> = remote_admin.audit().await;
    assert!(
        rows.iter()
            .filter(|r| r["action"] != "admin.token.create")
            .all(|r| r["actor"] == "admin:tests"),
        "a remote change is made by the token's holder: {rows:?}"
    );
}

#[tokio::test]
async fn a_cli_change_without_an_actor_is_refused_and_audit_piped_to_head_does_not_panic() {
    let app = TestApp::spawn().await;
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_authproxy"))
        .env_remove("AUTHPROXY_ACTOR")
        .env_remove("USER")
        .args([
            "clients",
            "add",
            "x.example",
            "--origin",
            "https://x.example",
            "--realm",
            "tenant-a",
            "--config",
        ])
        .arg(&app.config_path)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--actor"));

    // More audit rows than a pipe holds, so the writer meets the closed pipe.
    let admin = app.admin();
    for i in 0..600 {
        admin
            .put_realm(&format!("r{i}"), &idp().authority("tenant-b"))
            .await;
    }
    let pipeline = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "{} audit --json --config {} | head -n 1 >/dev/null; echo ${{PIPESTATUS[0]}}",
            env!("CARGO_BIN_EXE_authproxy"),
            app.config_path.display()
        ))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&pipeline.stderr).to_string();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&pipeline.stdout).trim(),
        "0",
        "{stderr}"
    );
}
