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
