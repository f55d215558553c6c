use std::process::Command;

use reqwest::StatusCode;

use crate::support::{CLIENT_ID, CRM_ORIGIN, TestApp, TestConfig, idp, write};
use serde_json::{Value, json};

/// `tenants put` of a new tenant `acme`, with every setting a new one needs.
const NEW_ACME: &[&str] = &[
    "tenants",
    "put",
    "acme",
    "--environment",
    "sandbox",
    "--realm",
    "tenant-a",
    "--client",
    CLIENT_ID,
    "--provisioning",
    "create",
];

fn authproxy() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_authproxy"));
    command.env("AUTHPROXY_ACTOR", "tests");
    command
}

#[tokio::test]
async fn check_config_prints_every_problem_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    write(
        &path,
        "[server]\nlisten = \"nope\"\nbogus = 1\n[[realms]]\nname = \"tenant-a\"\nauthority = \"http://id.example/realms/a\"\nweird = 2\n[[clients]]\nclient_id = \"crm.example.com\"\nrealms = [\"tenant-z\"]\norigins = [\"https://crm.example.com/\"]\n",
    );
    let output = authproxy()
        .args(["check-config", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    // Unknown keys do not hide the other problems.
    for key in [
        "server.bogus",
        "realms.0.weird",
        "server.listen",
        "realms[0].authority",
        "clients[0].realms[0]",
        "clients[0].origins[0]",
    ] {
        assert!(stderr.contains(key), "{key} missing from: {stderr}");
    }
}

#[tokio::test]
async fn directory_import_is_all_or_nothing_and_reports_the_bad_line() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("import.toml");
    write(
        &config,
        &TestConfig::empty()
            .realm("tenant-a", &idp().authority("tenant-a"))
            .realm("tenant-b", &idp().authority("tenant-b"))
            .render("127.0.0.1:0", None, &app.db_path),
    );
    let csv = dir.path().join("rules.csv");
    write(
        &csv,
        "kind,key,realm,idp_hint\nuser,erin@import.test,tenant-b,\nuser,frank@import.test,tenant-q,\n",
    );
    let output = authproxy()
        .args([
            "directory",
            "import",
            csv.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("line 3") && stderr.contains("tenant-q"),
        "{stderr}"
    );
    assert_eq!(
        app.discover("erin@import.test").await.status(),
        StatusCode::NOT_FOUND,
        "nothing half-imported"
    );

    write(
        &csv,
        "kind,key,realm,idp_hint\nuser,erin@import.test,tenant-b,\ndomain,import.test,tenant-a,corp-idp\nnot_migrated,old@import.test,,\n",
    );
    let output = authproxy()
        .args([
            "directory",
            "import",
            csv.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The running broker caches lookups (erin's miss too) and notices a change
    // made by another process within about a second.
    let started = std::time::Instant::now();
    while app.discover("erin@import.test").await.status() == StatusCode::NOT_FOUND {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "the import never reached the running broker"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let erin: serde_json::Value = app.discover("erin@import.test").await.json().await.unwrap();
    assert_eq!(erin[0]["authority"], idp().authority("tenant-b"));
    let other: serde_json::Value = app.discover("zed@import.test").await.json().await.unwrap();
    assert_eq!(other[0]["authorityIdPHint"], "corp-idp");
    let old: serde_json::Value = app.discover("old@import.test").await.json().await.unwrap();
    assert_eq!(old[0]["authority"], serde_json::Value::Null);
}

#[test]
fn every_command_has_working_help() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["check-config", "--help"],
        vec!["directory", "import", "--help"],
        vec!["directory", "export", "--help"],
        vec!["clients", "add", "--help"],
        vec!["clients", "sync", "--help"],
        vec!["callers", "add", "--help"],
        vec!["admin", "create-token", "--help"],
        vec!["audit", "--help"],
    ] {
        let output = authproxy().args(&args).output().unwrap();
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[tokio::test]
async fn commands_print_only_their_output_on_stdout_and_log_to_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("authproxy.toml");
    write(
        &config,
        &format!(
            "[store]\nsqlite_path = \"{}\"\n",
            dir.path().join("authproxy.db").display()
        ),
    );
    // The first command on a new store generates the sealing key and logs that.
    let output = authproxy()
        .args([
            "admin",
            "create-token",
            "--config",
            config.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let token = stdout.strip_suffix('\n').unwrap();
    assert!(
        token.starts_with("apx_admin_") && !token.contains(char::is_whitespace),
        "stdout must hold the token alone, for `> token.txt`: {stdout:?}"
    );
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains("sealing key")
    );
    let output = authproxy()
        .args(["directory", "export", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "kind,key,realm,idp_hint\n"
    );
}

#[test]
fn check_config_names_the_environment_variable_and_checks_the_sealing_key_as_serve_does() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("authproxy.toml");
    write(
        &config,
        "[server]\nlisten = \"127.0.0.1:8080\"\n[store]\nsealing_key = \"bm90LWEta2V5\"\n",
    );
    let output = authproxy()
        .env("AUTHPROXY__SERVER__HANDOFF_WAIT_SECS", "999")
        .args(["check-config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains(
            "AUTHPROXY__SERVER__HANDOFF_WAIT_SECS (environment variable): must be between 1 and 60"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("store.sealing_key"), "{stderr}");
    // What check-config refuses, serve refuses too, with the same words.
    let serve = authproxy()
        .args(["serve", "--config", config.to_str().unwrap()])
        .env("AUTHPROXY__SERVER__HANDOFF_WAIT_SECS", "999")
        .output()
        .unwrap();
    assert_eq!(serve.status.code(), Some(2));
    assert!(
        String::from_utf8(serve.stderr)
            .unwrap()
            .contains("store.sealing_key")
    );
}

#[tokio::test]
async fn secrets_come_from_a_file_or_standard_input_never_from_an_argument() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    let right = dir.path().join("right");
    write(&right, "authproxy-broker-secret\n");
    let wrong = dir.path().join("wrong");
    write(&wrong, "not-the-secret\n");
    let empty = dir.path().join("empty");
    write(&empty, "\n");
    let authority = idp().authority("tenant-b");
    let put = |name: &str, file: &std::path::Path| {
        app.cli(&[
            "realms",
            "put",
            name,
            "--authority",
            &authority,
            "--broker-client-id",
            "authproxy-broker",
            "--broker-client-secret-file",
            file.to_str().unwrap(),
        ])
    };
    assert!(put("filed", &right).status.success());
    assert!(put("misfiled", &wrong).status.success());
    let refused = put("unfiled", &empty);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("the secret is empty"));
    // The old argument is gone: a secret on the command line is a usage error.
    let inline = app.cli(&[
        "realms",
        "put",
        "inline",
        "--authority",
        &authority,
        "--broker-client-secret",
        "authproxy-broker-secret",
    ]);
    assert_eq!(inline.status.code(), Some(2));

    // The secret read from the file is the one the realm takes (its trailing
    // newline dropped): provisioning through it works, through the wrong one not.
    for (realm, works) in [("filed", true), ("misfiled", false)] {
        let client = format!("{realm}.localhost:8081");
        assert!(
            app.cli(&[
                "clients", "add", &client, "--origin", CRM_ORIGIN, "--realm", realm
            ])
            .status
            .success()
        );
        let dry = app.cli(&["clients", "sync", "--realm", realm, "--dry-run"]);
        assert_eq!(
            dry.status.success(),
            works,
            "{realm}: {}",
            String::from_utf8_lossy(&dry.stderr)
        );
    }

    // A client's secret from standard input.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_authproxy"))
        .env("AUTHPROXY_ACTOR", "tests")
        .args([
            "clients",
            "add",
            "confidential.localhost:8081",
            "--origin",
            CRM_ORIGIN,
            "--realm",
            "tenant-a",
            "--secret-file",
            "-",
            "--config",
        ])
        .arg(&app.config_path)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"from-stdin\n").unwrap();
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    // The service picks up a change the CLI made within a second.
    let admin = app.admin();
    let mut confidential = None;
    for _ in 0..50 {
        let clients: Vec<Value> = admin.get_json("/admin/api/clients").await;
        confidential = clients
            .into_iter()
            .find(|c| c["client_id"] == "confidential.localhost:8081");
        if confidential.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(confidential.unwrap()["confidential"], true);
}

#[test]
fn shared_stores_without_a_configured_sealing_key_are_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("authproxy.toml");
    write(
        &config,
        "[server]\nlisten = \"127.0.0.1:0\"\npublic_url = \"http://127.0.0.1:1\"\n[store]\nredis_url = \"redis://127.0.0.1:1\"\n",
    );
    for args in [
        vec!["check-config", config.to_str().unwrap()],
        vec!["serve", "--config", config.to_str().unwrap()],
        vec!["migrate", "--config", config.to_str().unwrap()],
    ] {
        let output = authproxy().args(&args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(
            stderr.contains(
                "store.sealing_keys: is required with store.postgres_url or store.redis_url"
            ) && stderr.contains("authproxy generate-sealing-key"),
            "{args:?}: {stderr}"
        );
    }
    let key = authproxy().arg("generate-sealing-key").output().unwrap();
    assert!(key.status.success());
    let key = String::from_utf8(key.stdout).unwrap();
    assert!(
        authproxy::crypto::Sealer::from_base64(&secrecy::SecretString::from(key.trim().to_owned()))
            .is_ok()
    );
}

#[tokio::test]
async fn migrate_brings_a_fresh_postgres_database_up_to_date_once() {
    let shared = crate::support::services::SharedStores::fresh().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("authproxy.toml");
    write(
        &config,
        &TestConfig::empty().shared_with(&shared).render(
            "127.0.0.1:0",
            Some("http://127.0.0.1:1"),
            &dir.path().join("unused.db"),
        ),
    );
    for _ in 0..2 {
        let output = crate::support::cli(&config, &["migrate"]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            String::from_utf8(output.stdout).unwrap(),
            "PostgreSQL: the schema is up to date\n"
        );
    }
    // A command on a store that is up to date says nothing else: no database
    // notice ("relation ... already exists, skipping") among its lines.
    let listed = authproxy()
        .env_remove("RUST_LOG")
        .args(["tenants", "list", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(listed.status.success());
    assert_eq!(String::from_utf8_lossy(&listed.stderr), "");
    let pool = sqlx::PgPool::connect(&shared.postgres_url).await.unwrap();
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_name IN ('realms', 'clients', 'audit')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(tables, 3);
    assert!(
        !dir.path().join("unused.db").exists(),
        "no SQLite file beside PostgreSQL"
    );
}

#[tokio::test]
async fn tenants_put_changes_only_what_it_names_and_says_what_changed() {
    let app = TestApp::spawn().await;
    let text = |out: &std::process::Output| String::from_utf8_lossy(&out.stdout).into_owned();
    let app_url = format!("{CRM_ORIGIN}/app");
    let made = app.cli(&[NEW_ACME, &["--app-url", &app_url, "--link-path", "/calls"]].concat());
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    assert!(
        text(&made).contains("created tenant acme"),
        "{}",
        text(&made)
    );
    // One setting named: the link paths set earlier stay.
    let changed = app.cli(&["tenants", "put", "acme", "--max-session-secs", "600"]);
    assert!(
        changed.status.success(),
        "{}",
        String::from_utf8_lossy(&changed.stderr)
    );
    assert!(
        text(&changed).contains("tenant acme: changed max_session_secs"),
        "{}",
        text(&changed)
    );
    let listed: Value = app.admin().get_json("/admin/api/tenants").await;
    let acme = &listed.as_array().unwrap()[0];
    assert_eq!(acme["max_session_secs"], 600);
    assert_eq!(acme["embeds"]["link_paths"], json!(["/calls"]));
    let again = app.cli(&["tenants", "put", "acme", "--max-session-secs", "600"]);
    assert!(text(&again).contains("nothing changed"), "{}", text(&again));
    // A switch turns off with =false; a whole replacement is explicit.
    assert!(
        app.cli(&["tenants", "put", "acme", "--allow-hs256"])
            .status
            .success()
    );
    let off = app.cli(&["tenants", "put", "acme", "--allow-hs256=false"]);
    assert!(text(&off).contains("changed allow_hs256"), "{}", text(&off));
    let partial_new = app.cli(&["tenants", "put", "newco", "--realm", "tenant-a"]);
    assert_eq!(partial_new.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&partial_new.stderr).contains("needs --environment"));
    let replaced = app.cli(&[NEW_ACME, &["--replace"]].concat());
    assert!(
        replaced.status.success(),
        "{}",
        String::from_utf8_lossy(&replaced.stderr)
    );
    let listed: Value = app.admin().get_json("/admin/api/tenants").await;
    assert_eq!(listed[0]["embeds"]["link_paths"], json!([]));
}

#[tokio::test]
async fn lists_are_tab_separated_lines_and_the_audit_shows_the_newest_first_with_what_changed() {
    let app = TestApp::spawn().await;
    let stdout = |args: &[&str]| {
        let out = app.cli(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    stdout(NEW_ACME);
    stdout(&["tenants", "keys", "acme", "add", "k1", "--generate"]);
    stdout(&[
        "tenants",
        "api-keys",
        "acme",
        "create",
        "--operation",
        "mint_tokens",
    ]);
    stdout(&["tenants", "put", "acme", "--max-session-secs", "600"]);

    // A line per entry, its fields separated by tabs: no JSON.
    let tenants = stdout(&["tenants", "list"]);
    assert_eq!(
        tenants,
        format!(
            "acme\tsandbox\trealm=tenant-a\tclients={CLIENT_ID}\tprovisioning=create\tparent=-\n"
        )
    );
    let keys = stdout(&["tenants", "keys", "acme", "list"]);
    assert!(
        keys.starts_with("k1\tES256\tcreated=") && keys.contains("\trevoked=-"),
        "{keys}"
    );
    let api_keys = stdout(&["tenants", "api-keys", "acme", "list"]);
    assert!(
        api_keys.starts_with("ak-")
            && api_keys.contains("\toperations=mint_tokens\t")
            && !api_keys.contains('{'),
        "{api_keys}"
    );

    // The newest rows, newest first (as `git log`); --oldest-first reads forward.
    let actions = |text: &str| {
        text.lines()
            .map(|l| l.split('\t').nth(2).unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let newest = stdout(&["audit", "--limit", "2"]);
    assert_eq!(actions(&newest), ["tenant.put", "tenant.api_key.create"]);
    // The change says what it changed, from what to what.
    assert!(
        newest
            .lines()
            .next()
            .unwrap()
            .ends_with("changed\tmax_session_secs: 14400 -> 600"),
        "{newest}"
    );
    let oldest = stdout(&["audit", "--limit", "2", "--oldest-first"]);
    assert_eq!(actions(&oldest), ["tenant.put", "tenant.key.add"]);
    assert!(
        oldest.lines().next().unwrap().ends_with("created"),
        "{oldest}"
    );
    // The admin API orders the same way when asked.
    let rows: Value = app
        .admin()
        .get_json("/admin/api/audit?limit=1&order=newest&action=tenant")
        .await;
    assert_eq!(rows[0]["action"], "tenant.put");
    assert_eq!(rows[0]["reason"], "max_session_secs: 14400 -> 600");
}

#[test]
fn check_config_refuses_a_file_that_sets_nothing_and_lists_the_keys_an_unknown_one_could_be() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.toml");
    write(&empty, "# nothing yet\n\n");
    let output = authproxy()
        .args(["check-config", empty.to_str().unwrap()])
        .env_remove("AUTHPROXY_CONFIG")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("sets nothing"));
    let bad = dir.path().join("bad.toml");
    write(&bad, "[server]\nbogus = 1\n");
    let output = authproxy()
        .args(["check-config", bad.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("server.bogus: unknown key `bogus`; the keys here are listen, public_url,"),
        "{stderr}"
    );
    assert!(!stderr.contains("``"), "{stderr}");
}
