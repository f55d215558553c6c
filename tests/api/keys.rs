//! The sealing keys and backups, as an operator meets them: a store without
//! its key file, a changed key, a rotation (with the service running), and a
//! restore from `authproxy backup` into an empty folder.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{
    CLIENT_ID, TestApp, TestConfig, admin_token_for, cli, idp, serve_binary, write,
};

struct Folder {
    dir: tempfile::TempDir,
    config: std::path::PathBuf,
}

/// The demo configuration (its realms hold sealed broker secrets) over a
/// SQLite file in a new folder, without any configured sealing key.
fn folder() -> Folder {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("authproxy.toml");
    write(
        &config,
        &TestConfig::demo().render(
            "127.0.0.1:0",
            Some("http://127.0.0.1:1"),
            &dir.path().join("authproxy.db"),
        ),
    );
    Folder { dir, config }
}

impl Folder {
    fn key_file(&self) -> std::path::PathBuf {
        self.dir.path().join("sealing.key")
    }

    fn run(&self, args: &[&str]) -> (bool, String, String) {
        let output = cli(&self.config, args);
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }
}

fn keys_in(file: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_store_without_its_key_file_refuses_to_start_and_no_key_is_made() {
    let folder = folder();
    let (ok, _, stderr) = folder.run(&["realms", "list"]);
    assert!(ok, "{stderr}");
    assert!(
        folder.key_file().exists(),
        "the first start makes the key file"
    );
    let original = std::fs::read_to_string(folder.key_file()).unwrap();

    // The key file is lost (a restore that forgot it).
    std::fs::remove_file(folder.key_file()).unwrap();
    let (ok, _, stderr) = folder.run(&["realms", "list"]);
    assert!(!ok);
    assert!(
        stderr.contains("sealed secret(s) but the sealing key file")
            && stderr.contains(&folder.key_file().display().to_string())
            && stderr.contains("No new key was generated"),
        "{stderr}"
    );
    assert!(!folder.key_file().exists(), "no key was generated");
    let serve = std::process::Command::new(env!("CARGO_BIN_EXE_authproxy"))
        .args(["serve", "--config", folder.config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!serve.status.success());
    assert!(String::from_utf8_lossy(&serve.stderr).contains("No new key was generated"));
    assert!(!folder.key_file().exists());

    // Another key in its place: named as the wrong one, nothing opened.
    let other = authproxy::crypto::Sealer::generate_key().unwrap();
    write(
        &folder.key_file(),
        secrecy::ExposeSecret::expose_secret(&other),
    );
    let (ok, _, stderr) = folder.run(&["realms", "list"]);
    assert!(!ok);
    assert!(
        stderr.contains("do not open with the sealing key(s)")
            && stderr.contains(&authproxy::crypto::Sealer::fingerprint(&other).unwrap()),
        "{stderr}"
    );

    // The right key back: everything opens again.
    write(&folder.key_file(), &original);
    let (ok, stdout, stderr) = folder.run(&["realms", "list"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("tenant-a"), "{stdout}");
}

#[test]
fn a_rotation_seals_every_secret_again_so_the_old_key_can_go() {
    let folder = folder();
    assert!(folder.run(&["realms", "list"]).0);
    let old = keys_in(&folder.key_file());
    assert_eq!(old.len(), 1);

    let (ok, stdout, stderr) = folder.run(&["keys", "rotate"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("sealed 2 secret(s) again"), "{stdout}");
    let keys = keys_in(&folder.key_file());
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(
        keys[1].starts_with(&old[0]) && keys[1].contains(" retired="),
        "{keys:?}"
    );
    let (ok, stdout, _) = folder.run(&["keys", "list"]);
    assert!(ok);
    assert!(
        stdout.contains("2 sealed secret(s), 2 under the newest key"),
        "{stdout}"
    );

    // Nothing stored needs the old key: without it everything still opens.
    write(&folder.key_file(), &format!("{}\n", keys[0]));
    let (ok, stdout, stderr) = folder.run(&["realms", "list"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("tenant-b"), "{stdout}");
}

#[tokio::test]
async fn a_running_broker_seals_with_the_rotated_key() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let key_file = app.db_path.with_file_name("sealing.key");
    let rotate = cli(&app.config_path, &["keys", "rotate"]);
    assert!(
        rotate.status.success(),
        "{}",
        String::from_utf8_lossy(&rotate.stderr)
    );
    // The broker reads the key file again within seconds.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let put = admin
        .send_json(
            Method::PUT,
            "/admin/api/realms/extra",
            &json!({
                "name": "extra",
                "authority": idp().authority("tenant-b"),
                "broker_client_id": "authproxy-broker",
                "broker_client_secret": "authproxy-broker-secret",
            }),
        )
        .await;
    eprintln!(
        "LOGS {}",
        crate::support::captured_logs()
            .lines()
            .filter(|l| l.contains("fail") || l.contains("store"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(
        put.status(),
        StatusCode::OK,
        "{}",
        put.text().await.unwrap()
    );
    // Only the new key left: the secret the broker sealed after the rotation opens.
    let newest = keys_in(&key_file).remove(0);
    write(&key_file, &format!("{newest}\n"));
    let listed = cli(&app.config_path, &["realms", "list"]);
    assert!(
        listed.status.success(),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    assert!(String::from_utf8_lossy(&listed.stdout).contains("extra"));
}

/// A new folder (as [`folder`] makes) holding `files` of the backup at `from`.
fn restore(from: &std::path::Path, files: &[&str]) -> Folder {
    let restored = folder();
    for file in files {
        std::fs::copy(from.join(file), restored.dir.path().join(file)).unwrap();
    }
    restored
}

#[tokio::test]
async fn a_backup_restored_into_an_empty_folder_serves_the_same_clients_and_directory() {
    let source = folder();
    let admin_token = admin_token_for(&source.config);
    let secret = source.dir.path().join("secret");
    write(&secret, "a-client-secret\n");
    for args in [
        vec![
            "clients",
            "add",
            "crm2.example.com",
            "--origin",
            "https://crm2.example.com",
            "--realm",
            "tenant-a",
            "--secret-file",
            secret.to_str().unwrap(),
        ],
        vec![
            "directory",
            "put",
            "user",
            "dora@tenant-b.test",
            "--realm",
            "tenant-b",
        ],
    ] {
        let (ok, _, stderr) = source.run(&args);
        assert!(ok, "{args:?}: {stderr}");
    }
    // The broker serves while the copy is taken.
    let (mut child, base) = serve_binary(&source.config);
    let backup = tempfile::tempdir().unwrap();
    let into = backup.path().join("copy");
    let (ok, stdout, stderr) = source.run(&["backup", "--to", into.to_str().unwrap()]);
    child.kill().unwrap();
    let _ = child.wait();
    assert!(ok, "{stderr}");
    assert!(stdout.contains("sealing key(s)"), "{stdout}");
    drop(base);

    // Restore: an empty folder, the two files, a configuration naming it.
    let restored = restore(&into, &["authproxy.db", "sealing.key"]);
    let (mut child, base) = serve_binary(&restored.config);
    let http = reqwest::Client::new();
    let clients: Value = http
        .get(format!("{base}/admin/api/clients"))
        .bearer_auth(&admin_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = clients
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"crm2.example.com") && ids.contains(&CLIENT_ID),
        "{clients}"
    );
    let crm2 = clients
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client_id"] == "crm2.example.com")
        .unwrap();
    assert_eq!(crm2["confidential"], true, "its sealed secret came along");
    let dora: Value = http
        .get(format!("{base}/api/user/?user=dora@tenant-b.test"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        dora[0]["authority"]
            .as_str()
            .is_some_and(|a| a.ends_with("/realms/tenant-b")),
        "{dora}"
    );
    child.kill().unwrap();
    let _ = child.wait();

    // The same backup without its key file does not start, and says why.
    let (ok, _, stderr) = restore(&into, &["authproxy.db"]).run(&["realms", "list"]);
    assert!(!ok);
    assert!(
        stderr.contains("Restore that file from the backup"),
        "{stderr}"
    );
}
