use reqwest::StatusCode;

use crate::support::TestApp;

#[tokio::test]
async fn sdk_is_served_with_caching_and_the_integrity_hash_the_book_documents() {
    let app = TestApp::spawn().await;
    let integrity = authproxy::flows::sdk::integrity();
    let page = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/src/integrate/embed-the-login.md"
    ))
    .unwrap();
    assert!(
        page.contains(&integrity),
        "docs/src/integrate/embed-the-login.md must document the SDK's current integrity hash {integrity}"
    );

    let alias = app
        .browser
        .get(app.url("/sdk/authproxy.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(alias.status(), StatusCode::OK);
    assert!(
        alias.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert_eq!(alias.headers()["cache-control"], "public, max-age=3600");
    assert_eq!(alias.headers()["x-content-sha384"], integrity.as_str());
    assert_eq!(alias.text().await.unwrap(), authproxy::flows::sdk::SOURCE);

    let version = authproxy::flows::sdk::VERSION;
    let pinned = app
        .browser
        .get(app.url(&format!("/sdk/authproxy-{version}.js")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        pinned.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let types = app
        .browser
        .get(app.url(&format!("/sdk/authproxy-{version}.d.ts")))
        .send()
        .await
        .unwrap();
    assert!(
        types
            .text()
            .await
            .unwrap()
            .contains("export declare class AuthProxy")
    );
    let other = app
        .browser
        .get(app.url("/sdk/authproxy-0.0.0.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
}

#[test]
fn the_sdk_version_is_the_crate_version() {
    let declared = format!("export const VERSION = '{}';", env!("CARGO_PKG_VERSION"));
    assert!(
        authproxy::flows::sdk::SOURCE.contains(&declared),
        "browser-sdk/authproxy.js must declare {declared}"
    );
}

#[test]
fn the_books_error_table_lists_exactly_the_error_codes_with_their_statuses() {
    use authproxy::http::code::ErrorCode;
    let section = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/src/reference/error-codes.md"
    ))
    .unwrap();
    let documented: Vec<(String, String)> = section
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let code = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            Some((code.to_owned(), (*cells.get(2)?).to_owned()))
        })
        .collect();
    let expected: Vec<(String, String)> = ErrorCode::ALL
        .iter()
        .map(|c| (c.as_str().to_owned(), c.status().as_u16().to_string()))
        .collect();
    assert_eq!(documented, expected, "the book's error table vs ErrorCode");
}

/// The npm package is the file the broker serves, with its declarations, at the
/// broker's version: what `npm pack` would publish.
#[tokio::test]
async fn the_npm_package_holds_the_served_sdk_and_its_types_at_the_brokers_version() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/browser-sdk");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/package.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(manifest["type"], "module");
    assert_eq!(manifest["exports"]["."]["default"], "./authproxy.js");
    assert_eq!(manifest["exports"]["."]["types"], "./authproxy.d.ts");
    let packed = std::process::Command::new("npm")
        .args(["pack", "--dry-run", "--json", "--ignore-scripts"])
        .current_dir(dir)
        .output()
        .expect("npm must be installed (scripts/setup-node)");
    assert!(
        packed.status.success(),
        "{}",
        String::from_utf8_lossy(&packed.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&packed.stdout).unwrap();
    let mut files: Vec<&str> = report[0]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    files.sort_unstable();
    assert_eq!(
        files,
        [
            "README.md",
            "authproxy.d.ts",
            "authproxy.js",
            "package.json"
        ]
    );
    assert_eq!(report[0]["version"], env!("CARGO_PKG_VERSION"));

    let app = TestApp::spawn().await;
    let served = app
        .browser
        .get(app.url(&format!("/sdk/authproxy-{}.js", env!("CARGO_PKG_VERSION"))))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        served,
        std::fs::read_to_string(format!("{dir}/authproxy.js")).unwrap(),
        "the package's file is the one the broker serves"
    );
}
