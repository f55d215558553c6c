use reqwest::StatusCode;

use crate::support::TestApp;

#[tokio::test]
async fn sdk_is_served_with_caching_and_the_integrity_hash_the_readme_documents() {
    let app = TestApp::spawn().await;
    let integrity = authproxy::flows::sdk::integrity();
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(
        readme.contains(&integrity),
        "README must document the SDK's current integrity hash {integrity}"
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
fn the_readme_error_table_lists_exactly_the_error_codes_with_their_statuses() {
    use authproxy::http::code::ErrorCode;
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("### Error codes")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("the README has an error-code section");
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
    assert_eq!(documented, expected, "README error table vs ErrorCode");
}
