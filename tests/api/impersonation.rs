use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    TestApp, TestConfig, captured_logs, idp, jwt_claims, verify_against_realm_keys,
};

fn tenant_a_policy() -> Value {
    json!({"realms": ["tenant-a"], "all_users_of": ["tenant-a"]})
}

#[tokio::test]
async fn a_caller_gets_an_audited_token_for_alice_and_is_refused_everything_else() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let secret = admin.create_caller("crm-backend", tenant_a_policy()).await;

    let granted = app
        .impersonate(
            "crm-backend",
            &secret,
            json!({"user": "alice@tenant-a.test"}),
        )
        .await;
    assert_eq!(granted.status(), StatusCode::OK);
    assert_eq!(granted.headers()["cache-control"], "no-store");
    let body: Value = granted.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(
        body["issued_token_type"],
        "urn:ietf:params:oauth:token-type:access_token"
    );
    let token = body["access_token"].as_str().unwrap().to_owned();
    verify_against_realm_keys(&token, "tenant-a").await;
    let claims = jwt_claims(&token);
    assert_eq!(claims["preferred_username"], "alice");
    assert_eq!(claims["iss"], idp().authority("tenant-a"));
    assert_eq!(
        claims["azp"], "authproxy-broker",
        "as Keycloak issues it: to the broker's client, acting for alice"
    );
    assert!(
        claims.get("act").is_none(),
        "Keycloak's legacy exchange adds no act"
    );

    let bob = app
        .impersonate("crm-backend", &secret, json!({"user": "bob@tenant-b.test"}))
        .await;
    assert_eq!(bob.status(), StatusCode::FORBIDDEN);
    assert_eq!(bob.json::<Value>().await.unwrap()["error"], "policy_denied");

    let unknown = app
        .impersonate("nobody", "whatever", json!({"user": "alice@tenant-a.test"}))
        .await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert!(
        unknown.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    let wrong = app
        .impersonate(
            "crm-backend",
            "wrong-secret",
            json!({"user": "alice@tenant-a.test"}),
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    let audit = admin.audit().await;
    let rows: Vec<&Value> = audit
        .iter()
        .filter(|r| r["action"] == "impersonate")
        .collect();
    let summary: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["actor"].as_str().unwrap().into(),
                r["subject"].as_str().unwrap_or("-").into(),
                r["outcome"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "caller:crm-backend".into(),
                "alice@tenant-a.test".into(),
                "granted".into()
            ),
            (
                "caller:crm-backend".into(),
                "bob@tenant-b.test".into(),
                "denied".into()
            ),
            ("caller:nobody".into(), "-".into(), "denied".into()),
            ("caller:crm-backend".into(), "-".into(), "denied".into()),
        ]
    );
    assert_eq!(rows[0]["token_jti"], claims["jti"]);
    assert!(rows[0]["request_id"].as_str().is_some() && rows[0]["source"] == "127.0.0.1");
    let everything = serde_json::to_string(&audit).unwrap();
    assert!(!everything.contains(&token), "no audit row holds the token");
    assert!(
        !captured_logs().contains(&token),
        "no log line holds the token"
    );
    assert!(
        !captured_logs().contains(&secret),
        "no log line holds the caller's secret"
    );
}

#[tokio::test]
async fn concurrent_impersonations_in_one_realm_share_one_service_account_token_fetch() {
    let broker = ("authproxy-broker-2", "authproxy-broker-2-secret");
    let app = TestApp::start(TestConfig::demo_with_broker(broker)).await;
    let admin = app.admin();
    let secret = admin
        .create_caller(
            "busy",
            json!({"realms": ["tenant-a"], "all_users_of": ["tenant-a"], "burst": 50}),
        )
        .await;
    let stats_key = "tenant-a:client_credentials:authproxy-broker-2";
    let fetches = || async {
        let stats: Value = reqwest::get(format!("{}/_dev/stats", idp().base_url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        stats[stats_key].as_u64().unwrap_or(0)
    };
    let before = fetches().await;
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let (browser, url, secret) = (
            app.browser.clone(),
            app.url("/api/impersonation"),
            secret.clone(),
        );
        requests.spawn(async move {
            browser
                .post(url)
                .basic_auth("busy", Some(secret))
                .json(&json!({"user": "alice@tenant-a.test"}))
                .send()
                .await
                .unwrap()
                .status()
        });
    }
    while let Some(status) = requests.join_next().await {
        assert_eq!(status.unwrap(), StatusCode::OK);
    }
    assert_eq!(
        fetches().await - before,
        1,
        "one client-credentials fetch for twelve concurrent requests"
    );
}

#[tokio::test]
async fn a_burst_past_the_callers_limit_gets_429_with_retry_after() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let secret = admin.create_caller("bursty", json!({"realms": ["tenant-a"], "all_users_of": ["tenant-a"], "rate_per_minute": 1, "burst": 2}))
        .await;
    for _ in 0..2 {
        assert_eq!(
            app.impersonate("bursty", &secret, json!({"user": "alice@tenant-a.test"}))
                .await
                .status(),
            StatusCode::OK
        );
    }
    let limited = app
        .impersonate("bursty", &secret, json!({"user": "alice@tenant-a.test"}))
        .await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    app.clock.advance(chrono::TimeDelta::seconds(61));
    assert_eq!(
        app.impersonate("bursty", &secret, json!({"user": "alice@tenant-a.test"}))
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn impersonation_answers_stable_codes_for_unknown_users_audiences_and_lifetimes() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let secret = admin.create_caller("strict", json!({"realms": ["tenant-a"], "users": ["alice@tenant-a.test", "ghost@tenant-a.test"], "audiences": ["webphone"], "max_lifetime_secs": 60}))
        .await;
    let code = |r: reqwest::Response| async move {
        (
            r.status(),
            r.json::<Value>().await.unwrap()["error"]
                .as_str()
                .unwrap()
                .to_owned(),
        )
    };
    assert_eq!(
        code(
            app.impersonate("strict", &secret, json!({"user": "nobody@nowhere.test"}))
                .await
        )
        .await,
        (StatusCode::NOT_FOUND, "unknown_user".into())
    );
    assert_eq!(
        code(
            app.impersonate(
                "strict",
                &secret,
                json!({"user": "alice@tenant-a.test", "audience": "other"})
            )
            .await
        )
        .await,
        (StatusCode::FORBIDDEN, "policy_denied".into())
    );
    // The realm issues 300 s tokens; this caller may hold 60 s at most.
    assert_eq!(
        code(
            app.impersonate("strict", &secret, json!({"user": "alice@tenant-a.test"}))
                .await
        )
        .await,
        (StatusCode::FORBIDDEN, "lifetime_exceeds_policy".into())
    );
    assert_eq!(
        code(app.impersonate("strict", &secret, json!({"user": 5})).await).await,
        (StatusCode::BAD_REQUEST, "invalid_request".into())
    );
}

#[tokio::test]
async fn a_wrong_body_is_told_which_key_is_wrong_or_that_it_is_no_json_object() {
    let app = TestApp::spawn().await;
    let secret = app.admin().create_caller("shaped", tenant_a_policy()).await;
    let description = |response: reqwest::Response| async move {
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_request", "{body}");
        body["error_description"].as_str().unwrap().to_owned()
    };
    let named = description(
        app.impersonate(
            "shaped",
            &secret,
            json!({"username": "alice@tenant-a.test"}),
        )
        .await,
    )
    .await;
    assert!(
        named.contains(r#"the key "username" is unknown (the keys are user, audience)"#),
        "{named}"
    );
    let lifetime = description(
        app.impersonate(
            "shaped",
            &secret,
            json!({"user": "alice@tenant-a.test", "lifetime": 60}),
        )
        .await,
    )
    .await;
    assert!(
        lifetime.contains(r#"the key "lifetime" is unknown"#),
        "{lifetime}"
    );
    let form = description(
        app.browser
            .post(app.url("/api/impersonation"))
            .basic_auth("shaped", Some(&secret))
            .form(&[("user", "alice@tenant-a.test")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(form.contains("not a JSON object"), "{form}");
    assert!(!form.contains("alice@"), "no value is echoed: {form}");
}

#[tokio::test]
async fn the_store_holds_no_caller_secret_or_admin_token_in_clear() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let secret = admin.create_caller("careful", tenant_a_policy()).await;
    let mut bytes = std::fs::read(&app.db_path).unwrap();
    if let Ok(wal) = std::fs::read(app.db_path.with_extension("db-wal")) {
        bytes.extend(wal);
    }
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("careful"), "the caller is in the store");
    assert!(
        text.contains("$argon2id$"),
        "its secret as an Argon2id hash"
    );
    assert!(
        !text.contains(&secret),
        "the caller's secret is not in clear"
    );
    assert!(
        !text.contains(admin.token()),
        "the admin token is not in clear"
    );
    assert!(
        !text.contains(admin.token().trim_start_matches("apx_admin_")),
        "nor its random part"
    );
}

#[tokio::test]
async fn a_realm_without_the_legacy_exchange_is_a_clear_409_not_a_retry() {
    // Keycloak without token-exchange:v1 answers requested_subject with 400
    // invalid_request ("not supported for standard token exchange").
    let app = TestApp::start(TestConfig::demo_with_broker((
        "authproxy-standard-exchange",
        "authproxy-standard-exchange-secret",
    )))
    .await;
    let admin = app.admin();
    let secret = admin.create_caller("crm-backend", tenant_a_policy()).await;
    let refused = app
        .impersonate(
            "crm-backend",
            &secret,
            json!({"user": "alice@tenant-a.test"}),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "impersonation_not_supported");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("token-exchange:v1"),
        "{body}"
    );
    let audit = admin.audit().await;
    assert!(
        audit
            .iter()
            .any(|r| r["action"] == "impersonate" && r["outcome"] == "failed"),
        "{audit:?}"
    );
}

#[tokio::test]
async fn the_realm_refusing_the_exchange_is_a_403_with_its_own_code() {
    let app = TestApp::start(TestConfig::demo_with_broker((
        "authproxy-no-impersonation",
        "authproxy-no-impersonation-secret",
    )))
    .await;
    let admin = app.admin();
    let secret = admin.create_caller("crm-backend", tenant_a_policy()).await;
    let refused = app
        .impersonate(
            "crm-backend",
            &secret,
            json!({"user": "alice@tenant-a.test"}),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        refused.json::<Value>().await.unwrap()["error"],
        "impersonation_refused"
    );
    let audit = admin.audit().await;
    let row = audit.iter().find(|r| r["action"] == "impersonate").unwrap();
    assert_eq!(row["outcome"], "failed");
}

#[tokio::test]
async fn a_realm_that_is_down_answers_502_realm_unreachable() {
    let app = TestApp::start(
        TestConfig::demo()
            .realm_with(
                "down",
                "http://127.0.0.1:9/realms/down",
                &[("broker_client_id", "x"), ("broker_client_secret", "y")],
            )
            .domain("down.test", "down"),
    )
    .await;
    let admin = app.admin();
    let secret = admin
        .create_caller(
            "crm-backend",
            json!({"realms": ["down"], "all_users_of": ["down"]}),
        )
        .await;
    let response = app
        .impersonate("crm-backend", &secret, json!({"user": "x@down.test"}))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "realm_unreachable"
    );
}

#[tokio::test]
async fn the_audit_command_reads_the_trail_as_text_or_json() {
    let app = TestApp::spawn().await;
    let admin = app.admin();
    let secret = admin.create_caller("crm-backend", tenant_a_policy()).await;
    app.impersonate(
        "crm-backend",
        &secret,
        json!({"user": "alice@tenant-a.test"}),
    )
    .await;
    app.impersonate("crm-backend", &secret, json!({"user": "bob@tenant-b.test"}))
        .await;
    let output = app.cli(&["audit", "--caller", "crm-backend", "--json"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Newest first, as `git log`.
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["outcome"], "denied");
    assert_eq!(rows[1]["outcome"], "granted");
    let text = String::from_utf8(
        app.cli(&["audit", "--since", "2000-01-01T00:00:00Z"])
            .stdout,
    )
    .unwrap();
    assert!(
        text.contains("caller.create") && text.contains("impersonate"),
        "{text}"
    );
}
